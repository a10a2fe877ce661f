import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { discover, type DiscoveryReport, type DiscoveryRun, type FileResult } from '../../src/discovery/index.js'
import type { FileStatus } from '../../src/protocol/discovery.js'
import { blockers, byPath, FIXTURES, killDescendants, liveWorkerProcesses } from './helpers.js'

const ROOT = join(FIXTURES, 'hostile')

/**
 * Why two runs with two deadlines: a status must not depend on how fast the machine is. A file
 * that ends by itself (a throw, an exit, running out of memory, a manifest too large) gets a
 * deadline it cannot reach however loaded the machine is: under a short one, a slow memory hog
 * would be a `timeout`. A file that hangs is ended by its deadline, which must still come well
 * after it reached its hang (and after healthy.ts imported nexflow), or a hang in native code
 * would be killed before it began and be a `timeout` instead of `stuck`.
 */
const HANG_TIMEOUT_MS = 6000
const SETTLE_TIMEOUT_MS = 45_000
/**
 * A thread stuck in native code never stops, so a long grace only delays its verdict; a thread
 * that does stop after terminate() must stop within it even on a loaded machine, or it would be
 * `stuck` instead of `timeout`.
 */
const GRACE_MS = 2000
const OPTIONS = { root: ROOT, cache: false, stuckGraceMs: GRACE_MS, concurrency: 4, maxMemoryMb: 256 }

interface Expected {
  thread: FileStatus
  process: FileStatus
  /** `deadline`: it hangs until killed. `itself`: it settles on its own. */
  ends: 'deadline' | 'itself'
}

/** What each hostile module must be reported as, per isolation (see fixtures/hostile/README.md). */
const EXPECTED: Record<string, Expected> = {
  'infinite-loop.ts': { thread: 'timeout', process: 'timeout', ends: 'deadline' },
  'never-settles.ts': { thread: 'timeout', process: 'timeout', ends: 'deadline' },
  'throw-string.ts': { thread: 'error', process: 'error', ends: 'itself' },
  'throw-null.ts': { thread: 'error', process: 'error', ends: 'itself' },
  'process-exit.ts': { thread: 'exited', process: 'exited', ends: 'itself' },
  'memory-hog.ts': { thread: 'oom', process: 'oom', ends: 'itself' },
  'exec-sync.ts': { thread: 'stuck', process: 'timeout', ends: 'deadline' },
  'fifo-read.ts': { thread: 'stuck', process: 'timeout', ends: 'deadline' },
  'sqlite-busy.ts': { thread: 'stuck', process: 'timeout', ends: 'deadline' },
  'endless-timer.ts': { thread: 'ok', process: 'ok', ends: 'itself' },
  'transitive-hang.ts': { thread: 'timeout', process: 'timeout', ends: 'deadline' },
  'timer-sabotage.ts': { thread: 'timeout', process: 'timeout', ends: 'deadline' },
  'huge-manifest.ts': { thread: 'invalid', process: 'invalid', ends: 'itself' },
  'malformed-manifest.ts': { thread: 'invalid', process: 'invalid', ends: 'itself' },
  'deep-message.ts': { thread: 'invalid', process: 'invalid', ends: 'itself' },
  'async-crash.ts': { thread: 'crashed', process: 'crashed', ends: 'itself' },
}

/** The hostile files that end the given way, with the healthy file beside them, as one pattern. */
function patternFor(ends: Expected['ends']): string {
  const names = Object.keys(EXPECTED).filter((name) => EXPECTED[name]?.ends === ends)
  return `workflows/{healthy,${names.map((name) => name.replace(/\.ts$/, '')).join(',')}}.ts`
}

async function collect(run: DiscoveryRun): Promise<{ report: DiscoveryReport; streamed: FileResult[] }> {
  const streamed: FileResult[] = []
  for await (const result of run) streamed.push(result)
  return { report: await run.report, streamed }
}

for (const isolation of ['thread', 'process'] as const) {
  describe(`hostile modules in ${isolation} isolation`, () => {
    /** The run of the files that hang, then the run of the files that settle by themselves. */
    let hanging: { report: DiscoveryReport; streamed: FileResult[] }
    let settling: { report: DiscoveryReport; streamed: FileResult[] }
    let files: Record<string, FileResult>
    let setup: ReturnType<typeof blockers>

    beforeAll(async () => {
      setup = blockers()
      const hangRun = discover({ ...OPTIONS, isolation, patterns: [patternFor('deadline')], timeoutMs: HANG_TIMEOUT_MS })
      hanging = await collect(hangRun)
      setup.release()
      // Every worker, even one abandoned while stuck, has exited once its native call returned.
      await hangRun.drained
      settling = await collect(discover({ ...OPTIONS, isolation, patterns: [patternFor('itself')], timeoutMs: SETTLE_TIMEOUT_MS }))
      files = { ...byPath(hanging.report), ...byPath(settling.report) }
    }, 120_000)

    afterAll(() => setup?.remove())

    const file = (name: string) => files[`workflows/${name}`] as FileResult

    it.each(Object.keys(EXPECTED))(`%s is reported with its status, and the healthy file beside it is discovered`, (name) => {
      expect(file(name)).toMatchObject({ status: EXPECTED[name]?.[isolation], cached: false })
      const beside = EXPECTED[name]?.ends === 'deadline' ? hanging : settling
      expect(byPath(beside.report)['workflows/healthy.ts']).toMatchObject({ status: 'ok', workflows: ['healthy'] })
    })

    it('reports every candidate once in the stream and fails the report', () => {
      for (const { report, streamed } of [hanging, settling]) {
        expect(streamed.map((result) => result.relativePath).sort()).toEqual(report.files.map((result) => result.relativePath))
        expect(report.ok).toBe(false)
      }
      // Every hostile file, and healthy.ts in each run.
      expect(hanging.report.files.length + settling.report.files.length).toBe(Object.keys(EXPECTED).length + 2)
      expect(hanging.report.workflows).toEqual(['healthy'])
      expect(settling.report.workflows).toEqual(['endless-timer', 'healthy'])
    })

    it('reports a timeout with the elapsed time, killed soon after the deadline', () => {
      for (const name of ['infinite-loop.ts', 'never-settles.ts', 'timer-sabotage.ts']) {
        const result = file(name)
        // Node's timers run on the event loop's cached clock: they can fire a fraction of a ms early.
        expect(result.durationMs).toBeGreaterThanOrEqual(HANG_TIMEOUT_MS - 2)
        expect(result.durationMs).toBeLessThan(HANG_TIMEOUT_MS + GRACE_MS)
        expect(result.error).toMatchObject({ code: 'DISCOVERY_TIMEOUT', message: expect.stringContaining(`within ${HANG_TIMEOUT_MS} ms`) })
        expect(result.loadingModule).toBe(join(ROOT, 'workflows', name))
      }
    })

    it('kills each hanging file within a small margin of its deadline', () => {
      // The kill's own time (not the exit's, which a loaded machine delays), as the pool records it.
      const lateness = Object.keys(EXPECTED)
        .filter((name) => EXPECTED[name]?.ends === 'deadline')
        .map((name) => ({ name, lateMs: (file(name).error?.details?.killedAfterMs as number) - HANG_TIMEOUT_MS }))
      for (const { name, lateMs } of lateness) expect(lateMs, name).toBeGreaterThanOrEqual(-2)
      const worst = Math.max(...lateness.map(({ lateMs }) => lateMs))
      // A generous bound: a timer can only be as late as the longest stretch the main thread is
      // busy (spawning a worker, validating a manifest); on an idle machine it is a few ms.
      if (isolation === 'thread') expect(worst, JSON.stringify(lateness)).toBeLessThan(250)
      else expect(worst, JSON.stringify(lateness)).toBeLessThan(1000)
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
      expect(file('deep-message.ts').error).toMatchObject({ code: 'DISCOVERY_MANIFEST_INVALID', message: expect.stringContaining('malformed message') })
    })

    it('reports a module that leaves a timer running, and warns about it', () => {
      expect(file('endless-timer.ts').manifest?.warnings.join('\n')).toMatch(/left 1 Timeout running/)
    })

    if (isolation === 'thread') {
      it('abandons threads stuck in native code after the grace period, and says so', () => {
        for (const name of ['exec-sync.ts', 'fifo-read.ts', 'sqlite-busy.ts']) {
          const result = file(name)
          expect(result.error).toMatchObject({ code: 'DISCOVERY_STUCK', message: expect.stringContaining('blocked in native code') })
          // It was waiting in the call it hangs in, not still loading: the deadline came after it got there.
          expect(result.loadingModule).toBe(join(ROOT, 'workflows', name))
          expect(result.durationMs).toBeGreaterThanOrEqual(HANG_TIMEOUT_MS + GRACE_MS - 2)
          expect(result.durationMs).toBeLessThan(HANG_TIMEOUT_MS + GRACE_MS + 3000)
        }
        expect(hanging.report.warnings.join('\n')).toContain('3 worker thread(s) stuck in native code were abandoned')
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
