import { join } from 'node:path'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { afterAll, describe, expect, it } from 'vitest'
import { Nexus, type NexusLogger, type ServerEvent } from '../../src/index.js'
import { REPO, tempProject } from '../discovery/helpers.js'

const BUILDER = JSON.stringify(join(REPO, 'src', 'workflow', 'builder.ts'))
const RELOADS = 15
/**
 * The bounds this test holds the server to, after forced garbage collection: between the 5th and
 * the 15th reload, the main thread's heap grows by less than 8 MB and the process's RSS by less
 * than 120 MB. A leak of one generation per reload (a pool of worker threads, a discovery run, its
 * results) would break the RSS bound within those ten reloads: each leaked thread keeps tens of MB.
 */
const HEAP_GROWTH_MB = 8
const RSS_GROWTH_MB = 120

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

const file = (v: number) => `import { WorkflowBuilder } from ${BUILDER}
export const workflow = new WorkflowBuilder().addNode('Function', 'f', { code: '() => ({ v: ${v} })' }).build({ name: 'counter' })
`

function settledMemory(): { heapMb: number; rssMb: number } {
  for (let i = 0; i < 3; i++) gc()
  const { heapUsed, rss } = process.memoryUsage()
  return { heapMb: heapUsed / 1048576, rssMb: rss / 1048576 }
}

describe('nexflow dev: reloads do not grow memory without bound', () => {
  const project = tempProject({ 'package.json': '{ "type": "module" }', 'workflows/counter.ts': file(0) })
  const quiet: NexusLogger = { info: () => {}, warn: () => {} }
  const app = new Nexus({ apiPort: 0, root: project.root, dev: true, workers: 1, logger: quiet })
  afterAll(async () => {
    await app.close()
    project.remove()
  })

  it(`keeps the heap and RSS within a bound over ${RELOADS} reloads`, { timeout: 300_000 }, async () => {
    await app.start()
    await app.ready()
    const reload = (v: number) =>
      new Promise<void>((resolve) => {
        const off = app.onEvent((event: ServerEvent) => {
          if (event.type !== 'reload-finished') return
          off()
          resolve()
        })
        project.write('workflows/counter.ts', file(v))
      })
    let baseline = settledMemory()
    for (let v = 1; v <= RELOADS; v++) {
      await reload(v)
      if (v === 5) baseline = settledMemory()
    }
    // Old generations close once drained; wait for that rather than for time.
    await expect.poll(async () => ((await (await fetch(`${app.url}/health`)).json()) as { pool: { generations: number } }).pool.generations, { timeout: 20_000 }).toBe(1)
    const response = await fetch(`${app.url}/workflows/counter/execute`, { method: 'POST' })
    expect(((await response.json()) as { outputs: { f: { v: number } } }).outputs.f.v).toBe(RELOADS)
    const after = settledMemory()
    console.log(`heap ${baseline.heapMb.toFixed(1)} -> ${after.heapMb.toFixed(1)} MB, rss ${baseline.rssMb.toFixed(0)} -> ${after.rssMb.toFixed(0)} MB over ${RELOADS - 5} reloads`)
    expect(after.heapMb - baseline.heapMb).toBeLessThan(HEAP_GROWTH_MB)
    expect(after.rssMb - baseline.rssMb).toBeLessThan(RSS_GROWTH_MB)
  })
})
