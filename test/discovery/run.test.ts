import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ConflictTracker } from '../../src/discovery/conflicts.js'
import { discover, type FileResult } from '../../src/discovery/index.js'
import { ReplayStream } from '../../src/discovery/stream.js'
import { buildCheckReport } from '../../src/discovery/report.js'
import { byPath, FIXTURES, liveWorkerProcesses, tempProject } from './helpers.js'

const HOSTILE = join(FIXTURES, 'hostile')

describe('a discovery run', () => {
  it.each(['thread', 'process'] as const)('stops when aborted (%s): the report rejects, iteration ends, workers are killed', async (isolation) => {
    const controller = new AbortController()
    const run = discover({ root: HOSTILE, patterns: ['workflows/healthy.ts', 'workflows/never-settles.ts'], cache: false, timeoutMs: 60_000, isolation, signal: controller.signal })
    const seen: FileResult[] = []
    const iteration = (async () => {
      for await (const result of run) {
        seen.push(result)
        // The healthy file is in; the other one hangs for a minute. Stop now.
        controller.abort()
      }
    })()
    await expect(iteration).rejects.toMatchObject({ code: 'DISCOVERY_ABORTED' })
    await expect(run.report).rejects.toMatchObject({ code: 'DISCOVERY_ABORTED', message: 'discovery was aborted' })
    expect(seen.map((result) => result.relativePath)).toEqual(['workflows/healthy.ts'])
    await run.close()
    await run.drained
    expect(liveWorkerProcesses()).toEqual([])
  })

  it('stops when closed before it finishes', async () => {
    const run = discover({ root: HOSTILE, patterns: ['workflows/never-settles.ts'], cache: false, timeoutMs: 60_000 })
    await run.close()
    await expect(run.report).rejects.toMatchObject({ code: 'DISCOVERY_ABORTED', message: 'discovery was closed before it finished' })
  })

  it('replays every result to an iterator that starts late, and close() after the end is harmless', async () => {
    const run = discover({ root: join(FIXTURES, 'discovery', 'basic'), cache: false })
    const report = await run.report
    const late: string[] = []
    for await (const result of run) late.push(result.relativePath)
    expect(late.sort()).toEqual(report.files.map((file) => file.relativePath))
    await run.close()
    await expect(run.report).resolves.toBe(report)
  })
})

describe('a file that throws', () => {
  it('is reported with the error\'s own code and its cause chain, and the check names the line that threw', async () => {
    const project = tempProject({
      'package.json': '{ "type": "module" }',
      'workflows/missing.ts': "import 'a-package-nobody-installed'\nexport const x = 1\n",
      'workflows/wrapped.ts': "const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })\nthrow new Error('could not reach the database', { cause: refused })\n",
    })
    try {
      const report = await discover({ root: project.root, cache: false }).report
      const files = byPath(report)
      expect(files['workflows/missing.ts']?.error).toMatchObject({ code: 'ERR_MODULE_NOT_FOUND' })
      expect(files['workflows/wrapped.ts']?.error).toMatchObject({ message: 'could not reach the database', cause: { code: 'ECONNREFUSED', message: expect.stringContaining('ECONNREFUSED') } })
      const checked = buildCheckReport({ ...report, root: project.root }).files.find((file) => file.path === 'workflows/wrapped.ts')
      expect(checked?.error?.at).toBe('workflows/wrapped.ts:2')
    } finally {
      project.remove()
    }
  })
})

describe('ConflictTracker', () => {
  const result = (relativePath: string, workflows: string[]): FileResult => ({
    path: `/r/${relativePath}`,
    relativePath,
    status: 'ok',
    cached: false,
    durationMs: 1,
    workflows,
    models: [],
    manifest: { file: `/r/${relativePath}`, hash: '', imports: [], importMs: 1, workflows: [], dataflows: [], nodeTypes: [], warnings: [] },
  })

  it('re-reports earlier files when a later one collides, and lists every file in the messages', () => {
    const tracker = new ConflictTracker()
    expect(tracker.add(result('a.ts', ['x', 'y'])).map((r) => [r.relativePath, r.status])).toEqual([['a.ts', 'ok']])
    expect(tracker.add(result('b.ts', ['z'])).map((r) => [r.relativePath, r.status])).toEqual([['b.ts', 'ok']])
    expect(tracker.add(result('c.ts', ['x'])).map((r) => [r.relativePath, r.status])).toEqual([
      ['a.ts', 'conflict'],
      ['c.ts', 'conflict'],
    ])
    const third = tracker.add(result('d.ts', ['x', 'z']))
    expect(third.map((r) => r.relativePath)).toEqual(['a.ts', 'b.ts', 'c.ts', 'd.ts'])
    expect(third.find((r) => r.relativePath === 'd.ts')?.error?.message).toBe(
      'd.ts: workflow "x" is also produced by a.ts, c.ts; workflow "z" is also produced by b.ts; rename one so each workflow name is unique',
    )
    expect(tracker.results().map((r) => [r.relativePath, r.status])).toEqual([
      ['a.ts', 'conflict'],
      ['b.ts', 'conflict'],
      ['c.ts', 'conflict'],
      ['d.ts', 'conflict'],
    ])
  })
})

describe('ReplayStream', () => {
  it('gives every iterator every item, then the error it failed with', async () => {
    const stream = new ReplayStream<number>()
    const early = (async () => {
      const items: number[] = []
      try {
        for await (const item of stream) items.push(item)
      } catch (error) {
        items.push(-1)
        expect(error).toBe('boom')
      }
      return items
    })()
    stream.push(1)
    stream.push(2)
    stream.fail('boom')
    const late: number[] = []
    await expect(
      (async () => {
        for await (const item of stream) late.push(item)
      })(),
    ).rejects.toBe('boom')
    expect(await early).toEqual([1, 2, -1])
    expect(late).toEqual([1, 2])
  })
})
