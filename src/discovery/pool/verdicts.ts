import type { ErrorCode, SerializedError } from '../../errors.js'
import type { FailureStatus, SerializedErrorData } from '../../protocol/discovery.js'
import type { Isolation } from '../options.js'
import type { IsolateExit } from './isolate.js'

/** What the pool knows about a file when its worker fails it. Paths are relative to the root. */
export interface VerdictFacts {
  file: string
  isolation: Isolation
  timeoutMs: number
  stuckGraceMs: number
  maxMemoryMb: number
  elapsedMs: number
  /** When the deadline killed its worker, in ms since the import began (the deadline plus how late the kill was). */
  killedAfterMs?: number | undefined
  /** The local module that was evaluating, if one was. */
  loading: string | undefined
}

export interface Verdict {
  status: Exclude<FailureStatus, 'error'>
  error: SerializedErrorData
  exitCode?: number
}

export function failure(code: ErrorCode, message: string, details?: Record<string, unknown>): SerializedError {
  return { name: 'NexflowError', code, message, ...(details === undefined ? {} : { details }) }
}

// Naming the module only says something when it is another one than the file itself.
const loadingText = (facts: VerdictFacts) => (facts.loading === undefined || facts.loading === facts.file ? '' : `; it was loading ${facts.loading}`)

export function exitText(exit: IsolateExit): string {
  return exit.signal !== null ? `signal ${exit.signal}` : `exit code ${exit.code ?? 'unknown'}`
}

export function outputText(output: string): string {
  return output.trim() === '' ? '' : `; it printed: ${output.trim().slice(-500)}`
}

export function malformed(facts: VerdictFacts, why: string): Verdict {
  return { status: 'invalid', error: failure('DISCOVERY_MANIFEST_INVALID', `the worker importing ${facts.file} sent a malformed message (${why}); nothing it reported is trusted`) }
}

const killedAfter = (facts: VerdictFacts) => (facts.killedAfterMs === undefined ? {} : { killedAfterMs: Math.round(facts.killedAfterMs * 10) / 10 })

/** What to do about a file that hangs at import, most often on a database it reaches at its top level. */
const TIMEOUT_FIX = "move database work out of the module's top level, or guard it with `process.env.NEXFLOW_DISCOVERY`"

/** The worker was killed at the deadline and did stop. */
export function timedOut(facts: VerdictFacts): Verdict {
  const { file, isolation, timeoutMs, elapsedMs } = facts
  const elapsed = Math.round(elapsedMs)
  return {
    status: 'timeout',
    error: failure('DISCOVERY_TIMEOUT', `${file} did not finish importing within ${timeoutMs} ms; its ${isolation} was killed after ${elapsed} ms${loadingText(facts)}; ${TIMEOUT_FIX}`, { timeoutMs, elapsedMs: elapsed, ...killedAfter(facts) }),
  }
}

/** The worker was killed at the deadline and did not stop within the grace period. */
export function stuck(facts: VerdictFacts): Verdict {
  const { file, isolation, timeoutMs, stuckGraceMs, elapsedMs } = facts
  const hint = isolation === 'thread' ? "; isolation: 'process' contains such files" : ''
  return {
    status: 'stuck',
    error: failure(
      'DISCOVERY_STUCK',
      `${file} did not finish importing within ${timeoutMs} ms, and its ${isolation} did not stop within ${stuckGraceMs} ms of being killed: it is blocked in native code (a synchronous child process, a blocking read, a database busy wait)${loadingText(facts)}. The ${isolation} was abandoned${hint}`,
      { timeoutMs, elapsedMs: Math.round(elapsedMs), ...killedAfter(facts) },
    ),
  }
}

/** The worker ended on its own while importing: out of memory, a crash, or `process.exit()`. */
export function endedWhileImporting(facts: VerdictFacts, exit: IsolateExit, lastWords: SerializedErrorData | undefined): Verdict {
  const { file, isolation, maxMemoryMb } = facts
  if (exit.oom) {
    return { status: 'oom', error: failure('DISCOVERY_OUT_OF_MEMORY', `${file} ran out of memory while importing (heap limit ${maxMemoryMb} MB per worker, maxMemoryMb)${loadingText(facts)}`, { maxMemoryMb }) }
  }
  const thrown = exit.error ?? lastWords
  if (thrown !== undefined) return { status: 'crashed', error: { ...thrown, message: `the ${isolation} importing ${file} crashed: ${thrown.message}` } }
  if (exit.signal !== null || exit.code === null) {
    return { status: 'crashed', error: failure('DISCOVERY_CRASHED', `the ${isolation} importing ${file} died (${exitText(exit)})${loadingText(facts)}`, { signal: exit.signal }) }
  }
  return {
    status: 'exited',
    error: failure('DISCOVERY_EXITED', `${file} ended its ${isolation} while importing: process.exit(${exit.code})${loadingText(facts)}`, { exitCode: exit.code }),
    exitCode: exit.code,
  }
}
