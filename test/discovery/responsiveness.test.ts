import { join } from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { afterAll, describe, expect, it } from 'vitest'
import { discover } from '../../src/discovery/index.js'
import { blockers, byPath, FIXTURES, tempProject } from './helpers.js'

describe('hanging files run side by side', () => {
  const HANGING = 6
  const TIMEOUT_MS = 4000
  const project = tempProject({
    'package.json': '{ "type": "module" }',
    ...Object.fromEntries(Array.from({ length: 4 }, (_, i) => [`workflows/a-fine-${i}.ts`, 'export const fine = true\n'])),
    ...Object.fromEntries(Array.from({ length: HANGING }, (_, i) => [`workflows/hang-${i}.ts`, 'await new Promise(() => {})\n'])),
  })
  afterAll(() => project.remove())

  it(`costs about one deadline for ${HANGING} hanging files with concurrency 2, not ${HANGING / 2}`, async () => {
    const report = await discover({ root: project.root, cache: false, concurrency: 2, timeoutMs: TIMEOUT_MS }).report
    const files = Object.values(byPath(report))
    expect(files.filter((file) => file.status === 'timeout')).toHaveLength(HANGING)
    expect(files.filter((file) => file.status === 'empty')).toHaveLength(4)
    // Two at a time, one deadline after another, would take at least 3 deadlines. Side by side
    // they cost one, plus the boots of the workers that take over (up to ~1 s each on a loaded
    // two-core machine).
    expect(report.durationMs).toBeLessThan(2 * TIMEOUT_MS)
  })
})

describe('the main thread while hostile files run', () => {
  it('keeps a small event-loop delay, with threads spinning and stuck in native code', async () => {
    const setup = blockers()
    const histogram = monitorEventLoopDelay({ resolution: 10 })
    try {
      histogram.enable()
      const run = discover({
        root: join(FIXTURES, 'hostile'),
        patterns: ['workflows/{healthy,infinite-loop,never-settles,exec-sync,fifo-read,sqlite-busy,timer-sabotage}.ts'],
        cache: false,
        concurrency: 2,
        timeoutMs: 1500,
        stuckGraceMs: 500,
      })
      const report = await run.report
      histogram.disable()
      expect(byPath(report)['workflows/exec-sync.ts']?.status).toBe('stuck')
      expect(byPath(report)['workflows/healthy.ts']?.status).toBe('ok')
      setup.release()
      await run.drained
      // A main thread blocked by any of these would show delays of seconds.
      const ms = (ns: number) => ns / 1e6
      expect(ms(histogram.percentile(99))).toBeLessThan(150)
      expect(ms(histogram.max)).toBeLessThan(400)
    } finally {
      histogram.disable()
      setup.release()
      setup.remove()
    }
  })
})
