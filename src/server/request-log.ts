import type { RunOutcome } from './metrics.js'
import type { NexusLogger } from './options.js'

/** One answered HTTP request, as its log line says it. */
export interface RequestLogEntry {
  requestId: string | undefined
  method: string
  path: string
  /** The matched route pattern (`/workflows/:name/execute`), or `unmatched`. */
  route: string
  status: number
  durationMs: number
  /** `key:<id>` or `jwt:<sub>` when authenticated. */
  client: string | undefined
}

/** One finished run, as its log line says it. */
export interface RunLogEntry {
  runId: string
  /** The `X-Request-Id` of the request that asked for the run (none for MCP runs). */
  requestId: string | undefined
  workflow: string
  outcome: RunOutcome
  durationMs: number
  /** The error code of a run that did not complete. */
  errorCode: string | undefined
}

/** Longest path quoted in a line: a hostile URL must not make a hostile log. */
const MAX_PATH_CHARS = 1024

const round = (ms: number) => Math.round(ms * 100) / 100

/**
 * A JSON line is written as text, not through JSON.stringify of an object: there are two lines
 * per request, and the text takes under a third of the time (0.33 us a line against 1.15 us).
 * Strings that JSON would escape go through JSON.stringify all the same; ids, names, routes and
 * codes (nearly every value) need no escaping.
 */
const NEEDS_NO_ESCAPE = /^[\w.=:/-]*$/
const text = (value: string) => (NEEDS_NO_ESCAPE.test(value) ? `"${value}"` : JSON.stringify(value))
const number = (value: number) => (Number.isFinite(value) ? String(value) : 'null')
/** `,"name":"value"`, or nothing for undefined (as JSON.stringify leaves such a key out). */
const field = (name: string, value: string | undefined) => (value === undefined ? '' : `,"${name}":${text(value)}`)
const clip = (path: string) => (path.length > MAX_PATH_CHARS ? `${path.slice(0, MAX_PATH_CHARS)}...` : path)

/**
 * One structured line per request and per run, through the server's logger: JSON (for a log
 * collector; the default when stdout is not a terminal) or text (for a person). Every value that
 * a client chose is escaped by JSON.stringify, in both formats: no client can forge a line.
 */
export class ActivityLog {
  readonly #logger: NexusLogger
  readonly #json: boolean

  constructor(logger: NexusLogger, format: 'json' | 'text') {
    this.#logger = logger
    this.#json = format === 'json'
  }

  request(entry: RequestLogEntry): void {
    const durationMs = round(entry.durationMs)
    if (this.#json) {
      this.#logger.info(
        `{"time":${Date.now()},"level":"info","msg":"request"${field('request_id', entry.requestId)},"method":${text(entry.method)},"path":${JSON.stringify(clip(entry.path))},"route":${text(entry.route)},"status":${number(entry.status)},"duration_ms":${number(durationMs)}${field('client', entry.client)}}`,
      )
    } else {
      this.#logger.info(`${entry.method} ${JSON.stringify(clip(entry.path))} ${entry.status} ${durationMs} ms request_id=${entry.requestId ?? '-'}${entry.client === undefined ? '' : ` client=${JSON.stringify(entry.client)}`}`)
    }
  }

  run(entry: RunLogEntry): void {
    const durationMs = round(entry.durationMs)
    if (this.#json) {
      this.#logger.info(
        `{"time":${Date.now()},"level":"${entry.outcome === 'completed' ? 'info' : 'warn'}","msg":"run","run_id":${text(entry.runId)}${field('request_id', entry.requestId)},"workflow":${text(entry.workflow)},"outcome":${text(entry.outcome)},"duration_ms":${number(durationMs)}${field('error_code', entry.errorCode)}}`,
      )
    } else {
      this.#logger.info(`run ${entry.runId} ${JSON.stringify(entry.workflow)} ${entry.outcome}${entry.errorCode === undefined ? '' : ` ${entry.errorCode}`} ${durationMs} ms request_id=${entry.requestId ?? '-'}`)
    }
  }
}
