import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { discover, type DiscoveryReport, type FileResult, type Isolation } from '../../src/discovery/index.js'
import type { FileStatus } from '../../src/protocol/discovery.js'
import { blockers, byPath, FIXTURES, killDescendants, liveWorkerProcesses } from './helpers.js'

const ROOT = join(FIXTURES, 'hostile')
const TIMEOUT_MS = 2000
const GRACE_MS = 500
const OPTIONS = { root: ROOT, cache: false, timeoutMs: TIMEOUT_MS, stuckGraceMs: GRACE_MS, concurrency: 4, maxMemoryMb: 256 }

/** What each hostile module must be reported as, per isolation (see fixtures/hostile/README.md). */
const EXPECTED: Record<string, Record<Isolation, FileStatus>> = {
  'infinite-loop.ts': { thread: 'timeout', process: 'timeout' },
  'never-settles.ts': { thread: 'timeout', process: 'timeout' },
  'throw-string.ts': { thread: 'error', process: 'error' },
  'throw-null.ts': { thread: 'error', process: 'error' },
  'process-exit.ts': { thread: 'exited', process: 'exited' },
  'memory-hog.ts': { thread: 'oom', process: 'oom' },
  'exec-sync.ts': { thread: 'stuck', process: 'timeout' },
  'fifo-read.ts': { thread: 'stuck', process: 'timeout' },
  'sqlite-busy.ts': { thread: 'stuck', process: 'timeout' },
  'endless-timer.ts': { thread: 'ok', process: 'ok' },
  'transitive-hang.ts': { thread: 'timeout', process: 'timeout' },
  'timer-sabotage.ts': { thread: 'timeout', process: 'timeout' },
  'huge-manifest.ts': { thread: 'invalid', process: 'invalid' },
  'malformed-manifest.ts': { thread: 'invalid', process: 'invalid' },
  'async-crash.ts': { thread: 'crashed', process: 'crashed' },
}

for (const isolation of ['thread', 'process'] as const) {
  describe(`hostile modules in ${isolation} isolation`, () => {
    let report: DiscoveryReport
    let files: Record<string, FileResult>
    const streamed: FileResult[] = []
    let setup: ReturnType<typeof blockers>

    beforeAll(async () => {
      setup = blockers()
      const run = discover({ ...OPTIONS, isolation })
      for await (const result of run) streamed.push(result)
      report = await run.report
      files = byPath(report)
      setup.release()
      // Every worker, even one abandoned while stuck, has exited once its native call returned.
      await run.drained
    }, 90_000)

    afterAll(() => setup?.remove())

    const file = (name: string) => files[`workflows/${name}`] as FileResult

    it.each(Object.keys(EXPECTED))(`%s is reported with its status, and the healthy file beside it is discovered`, (name) => {
      expect(file(name)).toMatchObject({ status: EXPECTED[name]?.[isolation], cached: false })
      expect(file('healthy.ts')).toMatchObject({ status: 'ok', workflows: ['healthy'] })
    })

    it('reports every candidate once in the stream and fails the report', () => {
      expect(streamed.map((result) => result.relativePath).sort()).toEqual(report.files.map((result) => result.relativePath))
      expect(report.files).toHaveLength(Object.keys(EXPECTED).length + 1)
      expect(report.ok).toBe(false)
      expect(report.workflows).toEqual(['endless-timer', 'healthy'])
    })

    it('reports a timeout with the elapsed time, killed soon after the deadline', () => {
      for (const name of ['infinite-loop.ts', 'never-settles.ts', 'timer-sabotage.ts']) {
        const result = file(name)
        // Node's timers run on the event loop's cached clock: they can fire a fraction of a ms early.
        expect(result.durationMs).toBeGreaterThanOrEqual(TIMEOUT_MS - 2)
        expect(result.durationMs).toBeLessThan(TIMEOUT_MS + 3000)
        expect(result.error).toMatchObject({ code: 'DISCOVERY_TIMEOUT', message: expect.stringContaining(`within ${TIMEOUT_MS} ms`) })
        expect(result.loadingModule).toBe(join(ROOT, 'workflows', name))
      }
    })

    it('blames a hang in an imported module on that module', () => {
      expect(file('transitive-hang.ts').loadingModule).toBe(join(ROOT, 'lib', 'hang-forever.ts'))
      expect(file('transitive-hang.ts').error?.message).toContain('it was loading lib/hang-forever.ts')
    })

    it('reports what was thrown, whatever it was', () => {
      expect(file('throw-string.ts').error).toMatchObject({ message: 'a plain string was thrown' })
      expect(file('throw-null.ts').error).toMatchObject({ message: 'null was thrown' })
      // A thrown primitive has no stack: the module that threw it is named instead.
      expect(file('throw-null.ts').loadingModule).toBe(join(ROOT, 'workflows', 'throw-null.ts'))
      expect(file('async-crash.ts').error?.message).toContain('thrown from a timer during the import')
      expect(file('async-crash.ts').error?.stack).toContain('async-crash.ts')
    })

    it('reports process.exit() with its code', () => {
      expect(file('process-exit.ts')).toMatchObject({ exitCode: 3, error: { code: 'DISCOVERY_EXITED' } })
    })

    it('reports the memory limit', () => {
      expect(file('memory-hog.ts').error).toMatchObject({ code: 'DISCOVERY_OUT_OF_MEMORY', message: expect.stringContaining('256 MB') })
    })

    it('contains a huge manifest and a forged message as invalid', () => {
      expect(file('huge-manifest.ts').error?.message).toMatch(/20\.0 MB, over the 16\.0 MB limit/)
      expect(file('malformed-manifest.ts').error).toMatchObject({ code: 'DISCOVERY_MANIFEST_INVALID', message: expect.stringContaining('malformed message') })
    })

    it('reports a module that leaves a timer running, and warns about it', () => {
      expect(file('endless-timer.ts').manifest?.warnings.join('\n')).toMatch(/left 1 Timeout running/)
    })

    if (isolation === 'thread') {
      it('abandons threads stuck in native code after the grace period, and says so', () => {
        for (const name of ['exec-sync.ts', 'fifo-read.ts', 'sqlite-busy.ts']) {
          const result = file(name)
          expect(result.error).toMatchObject({ code: 'DISCOVERY_STUCK', message: expect.stringContaining('blocked in native code') })
          expect(result.durationMs).toBeGreaterThanOrEqual(TIMEOUT_MS + GRACE_MS - 2)
          expect(result.durationMs).toBeLessThan(TIMEOUT_MS + GRACE_MS + 3000)
        }
        expect(report.warnings.join('\n')).toContain('3 worker thread(s) stuck in native code were abandoned')
      })
    } else {
      it('kills native hangs with their process group, leaving no process behind', () => {
        for (const name of ['exec-sync.ts', 'fifo-read.ts', 'sqlite-busy.ts']) expect(file(name).error).toMatchObject({ code: 'DISCOVERY_TIMEOUT' })
        expect(liveWorkerProcesses()).toEqual([])
        expect(killDescendants('sleep 30')).toBe(0)
      })
    }
  })
}
