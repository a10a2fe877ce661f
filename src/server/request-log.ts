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
        JSON.stringify({ time: Date.now(), level: 'info', msg: 'request', request_id: entry.requestId, method: entry.method, path: clip(entry.path), route: entry.route, status: entry.status, duration_ms: durationMs, client: entry.client }),
      )
    } else {
      this.#logger.info(`${entry.method} ${JSON.stringify(clip(entry.path))} ${entry.status} ${durationMs} ms request_id=${entry.requestId ?? '-'}${entry.client === undefined ? '' : ` client=${JSON.stringify(entry.client)}`}`)
    }
  }

  run(entry: RunLogEntry): void {
    const durationMs = round(entry.durationMs)
    if (this.#json) {
      this.#logger.info(
        JSON.stringify({ time: Date.now(), level: entry.outcome === 'completed' ? 'info' : 'warn', msg: 'run', run_id: entry.runId, request_id: entry.requestId, workflow: entry.workflow, outcome: entry.outcome, duration_ms: durationMs, error_code: entry.errorCode }),
      )
    } else {
      this.#logger.info(`run ${entry.runId} ${JSON.stringify(entry.workflow)} ${entry.outcome}${entry.errorCode === undefined ? '' : ` ${entry.errorCode}`} ${durationMs} ms request_id=${entry.requestId ?? '-'}`)
    }
  }
}
