import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { discover, resolveDiscoveryOptions, type DiscoveryOptions } from '../../src/discovery/index.js'
import type { IsolateFactory } from '../../src/discovery/pool/isolate.js'
import { isolateFactory } from '../../src/discovery/pool/pool.js'
import { IsolateStandby } from '../../src/discovery/pool/standby.js'
import { byPath, liveWorkerProcesses, REPO, tempProject } from './helpers.js'

const BUILDER = join(REPO, 'src', 'workflow', 'builder.ts')
const workflowFile = (name: string) => `import { WorkflowBuilder } from ${JSON.stringify(BUILDER)}
export const workflow = new WorkflowBuilder().addNode('Function', 'n', { code: '() => ({})' }).build({ name: ${JSON.stringify(name)} })
`

/** The default factory, counting the workers it starts. */
function counting(isolation: 'thread' | 'process'): { factory: IsolateFactory; started: () => number } {
  let started = 0
  const spawn = isolateFactory(isolation)
  return {
    factory: (spec, events) => {
      started++
      return spawn(spec, events)
    },
    started: () => started,
  }
}

describe('a standby discovery worker (booted ahead for the next development reload)', () => {
  const project = tempProject({ 'package.json': '{ "type": "module" }', 'tsconfig.json': '{ "compilerOptions": { "strict": true } }', 'workflows/a.ts': workflowFile('a1') })
  afterAll(() => project.remove())

  it.each(['thread', 'process'] as const)('imports the run\'s first file in its place (%s), as saved after it booted', async (isolation) => {
    const options: DiscoveryOptions = { root: project.root, cache: false, isolation, concurrency: 1, timeoutMs: 20_000 }
    const standby = new IsolateStandby(resolveDiscoveryOptions(options))
    // Saved after the standby booted: it has imported nothing of the project before it is handed a file.
    project.write('workflows/a.ts', workflowFile(`a-${isolation}`))
    const fallback = counting(isolation)
    const report = await discover(options, { isolateFactory: standby.factory(fallback.factory) }).report
    expect(byPath(report)['workflows/a.ts']).toMatchObject({ status: 'ok', workflows: [`a-${isolation}`] })
    expect(standby.taken).toBe(true)
    expect(fallback.started()).toBe(0)
  })

  it('is stopped, and the run boots its own worker, when tsconfig.json changed since it booted', async () => {
    const options: DiscoveryOptions = { root: project.root, cache: false, concurrency: 1, timeoutMs: 20_000 }
    const standby = new IsolateStandby(resolveDiscoveryOptions(options))
    project.write('tsconfig.json', '{ "compilerOptions": { "strict": true, "target": "es2022" } }')
    const fallback = counting('thread')
    const report = await discover(options, { isolateFactory: standby.factory(fallback.factory) }).report
    expect(byPath(report)['workflows/a.ts']?.status).toBe('ok')
    expect(fallback.started()).toBe(1)
  })

  it('is not handed over once closed, nor to a run with other limits', async () => {
    const options: DiscoveryOptions = { root: project.root, cache: false, isolation: 'process', concurrency: 1, timeoutMs: 20_000 }
    const closed = new IsolateStandby(resolveDiscoveryOptions(options))
    closed.close()
    const first = counting('process')
    expect(byPath(await discover(options, { isolateFactory: closed.factory(first.factory) }).report)['workflows/a.ts']?.status).toBe('ok')
    expect(first.started()).toBe(1)

    const other = new IsolateStandby(resolveDiscoveryOptions(options))
    const second = counting('process')
    const report = await discover({ ...options, maxMemoryMb: 300 }, { isolateFactory: other.factory(second.factory) }).report
    expect(byPath(report)['workflows/a.ts']?.status).toBe('ok')
    expect(second.started()).toBe(1)
    expect(other.taken).toBe(true)
    await expect.poll(() => liveWorkerProcesses(), { timeout: 20_000 }).toEqual([])
  })
})
