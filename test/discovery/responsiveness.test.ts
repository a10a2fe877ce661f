import { join } from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { afterAll, describe, expect, it } from 'vitest'
import { discover } from '../../src/discovery/index.js'
import { blockers, byPath, FIXTURES, tempProject } from './helpers.js'

describe('hanging files run side by side', () => {
  const HANGING = 6
  // Long against a worker's boot: the workers that take over boot while the first deadlines run,
  // and on a loaded two-core machine a boot can take a couple of seconds.
  const TIMEOUT_MS = 10_000
  const project = tempProject({
    'package.json': '{ "type": "module" }',
    ...Object.fromEntries(Array.from({ length: 4 }, (_, i) => [`workflows/a-fine-${i}.ts`, 'export const fine = true\n'])),
    ...Object.fromEntries(Array.from({ length: HANGING }, (_, i) => [`workflows/hang-${i}.ts`, 'await new Promise(() => {})\n'])),
  })
  afterAll(() => project.remove())

  it(`costs about one deadline for ${HANGING} hanging files with concurrency 2, not ${HANGING / 2}`, async () => {
    const run = discover({ root: project.root, cache: false, concurrency: 2, timeoutMs: TIMEOUT_MS })
    /** When each hanging file began importing: the moment it was settled minus how long it ran. */
    const began: number[] = []
    for await (const result of run) if (result.status === 'timeout') began.push(performance.now() - result.durationMs)
    const report = await run.report
    const files = Object.values(byPath(report))
    expect(files.filter((file) => file.status === 'timeout')).toHaveLength(HANGING)
    expect(files.filter((file) => file.status === 'empty')).toHaveLength(4)
    // Side by side: the last hanging file began before the first one's deadline, so all six
    // deadlines ran at the same time. Two at a time, the third pair would begin only once the
    // first two deadlines had passed, and the run would take three deadlines.
    expect(Math.max(...began) - Math.min(...began)).toBeLessThan(TIMEOUT_MS)
    expect(report.durationMs).toBeLessThan(3 * TIMEOUT_MS)
  })
})

describe('the main thread while hostile files run', () => {
  it('keeps a small event-loop delay, with threads spinning and stuck in native code', async () => {
    // healthy.ts imports all of nexflow, which takes a loaded machine about a second: well within this.
    const TIMEOUT_MS = 4000
    const setup = blockers()
    const histogram = monitorEventLoopDelay({ resolution: 10 })
    try {
      histogram.enable()
      const run = discover({
        root: join(FIXTURES, 'hostile'),
        patterns: ['workflows/{healthy,infinite-loop,never-settles,exec-sync,fifo-read,sqlite-busy,timer-sabotage}.ts'],
        cache: false,
        concurrency: 2,
        timeoutMs: TIMEOUT_MS,
        stuckGraceMs: 500,
      })
      const report = await run.report
      histogram.disable()
      expect(byPath(report)['workflows/exec-sync.ts']?.status).toBe('stuck')
      expect(byPath(report)['workflows/healthy.ts']?.status).toBe('ok')
      setup.release()
      await run.drained
      // A main thread held by any of these files, even only until its deadline, would show a
      // delay of at least that deadline (4 s; for an infinite loop, forever). A main thread that
      // is never held still waits for a core now and then on a loaded two-core machine: p99
      // 15 ms and max 36 ms seen alone, up to 150 ms with busy loops and the whole suite
      // running. The bounds leave that room several times over and still sit far below 4 s.
      const ms = (ns: number) => ns / 1e6
      const seen = `event-loop delay p99 ${ms(histogram.percentile(99)).toFixed(1)} ms, max ${ms(histogram.max).toFixed(1)} ms`
      expect(ms(histogram.percentile(99)), seen).toBeLessThan(500)
      expect(ms(histogram.max), seen).toBeLessThan(2000)
    } finally {
      histogram.disable()
      setup.release()
      setup.remove()
    }
  })
})
