import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { discover, type StartedFile } from '../../src/discovery/index.js'
import { byPath, FIXTURES, tempProject } from './helpers.js'

const HOSTILE = join(FIXTURES, 'hostile')

describe('discovery timings (what the dashboard waterfall draws)', () => {
  it('gives each imported file a start and an end from the start of the run, and tells when each file begins', async () => {
    const run = discover({ root: HOSTILE, patterns: ['workflows/healthy.ts', 'workflows/infinite-loop.ts'], cache: false, timeoutMs: 1000 })
    const started: StartedFile[] = []
    run.onFileStarted((file) => started.push(file))
    const report = await run.report
    const files = byPath(report)
    const healthy = files['workflows/healthy.ts']
    const loop = files['workflows/infinite-loop.ts']
    expect(loop?.status).toBe('timeout')
    for (const file of [healthy, loop]) {
      expect(file?.startMs).toBeGreaterThanOrEqual(0)
      expect(file?.endMs).toBeGreaterThanOrEqual(file?.startMs ?? Infinity)
      expect(file?.endMs).toBeLessThanOrEqual(report.durationMs + 1)
    }
    // The hanging file's bar ends at its deadline (killed then, give or take the kill's latency).
    const bar = (loop?.endMs ?? 0) - (loop?.startMs ?? 0)
    expect(bar).toBeGreaterThanOrEqual(1000)
    expect(bar).toBeLessThan(1000 + 2000)
    // Each begun file was told once, with the same start its result carries.
    expect(started.map((file) => file.relativePath).sort()).toEqual(['workflows/healthy.ts', 'workflows/infinite-loop.ts'])
    for (const file of started) expect(file.startMs).toBe(files[file.relativePath]?.startMs)
  })

  it('gives a file answered from the cache a zero-length bar, and tells no start for it', async () => {
    const project = tempProject({ 'workflows/one.ts': "export const models = 'none'\n" })
    try {
      const cacheDir = join(project.root, '.cache')
      await discover({ root: project.root, cacheDir }).report
      const run = discover({ root: project.root, cacheDir })
      const started: StartedFile[] = []
      run.onFileStarted((file) => started.push(file))
      const file = (await run.report).files[0]
      expect(file?.cached).toBe(true)
      expect(file?.startMs).toBeGreaterThanOrEqual(0)
      expect(file?.endMs).toBe(file?.startMs)
      expect(started).toEqual([])
    } finally {
      project.remove()
    }
  })
})
