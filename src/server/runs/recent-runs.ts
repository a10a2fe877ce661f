import type { RunRecord } from '../../protocol/run-record.js'

export type { RunRecord } from '../../protocol/run-record.js'

/**
 * Where `GET /runs` reads recent runs from. Narrow on purpose: a durable run store (async runs)
 * plugs in behind it; without one, {@link RecentRuns} keeps the last runs in memory.
 */
export interface RunSource {
  /** The most recent runs, newest first, at most `limit`. */
  list(limit: number): RunRecord[] | Promise<RunRecord[]>
}

/** Runs kept in memory by default: enough for a dashboard, bounded so a busy server does not grow. */
export const RECENT_RUNS_CAPACITY = 200
/** Inputs and outputs larger than this (as JSON) are kept as a note of their size, not their content. */
export const RUN_PAYLOAD_MAX_BYTES = 16 * 1024

/** `value` if its JSON is within `maxBytes`, else a note saying how large it was. */
export function boundedPayload(value: unknown, maxBytes: number = RUN_PAYLOAD_MAX_BYTES): unknown {
  let json: string | undefined
  try {
    json = JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))
  } catch {
    return { unserializable: true }
  }
  if (json === undefined) return null
  const bytes = Buffer.byteLength(json, 'utf8')
  return bytes <= maxBytes ? (JSON.parse(json) as unknown) : { truncated: true, bytes }
}

/** JSON text as `GET /runs` shows it: parsed, or a note of its size when over `maxBytes`. */
export function jsonPayload(text: string, maxBytes: number = RUN_PAYLOAD_MAX_BYTES): unknown {
  const bytes = Buffer.byteLength(text, 'utf8')
  if (bytes > maxBytes) return { truncated: true, bytes }
  try {
    return JSON.parse(text) as unknown
  } catch {
    return { unparsable: true }
  }
}

/** A getter of JSON text's payload, parsed on first read; text over the bound is not even kept. */
function lazyPayload(text: string): () => unknown {
  if (text.length > RUN_PAYLOAD_MAX_BYTES) {
    const note = { truncated: true, bytes: Buffer.byteLength(text, 'utf8') }
    return () => note
  }
  let parsed: { value: unknown } | undefined
  return () => (parsed ??= { value: jsonPayload(text) }).value
}

/**
 * A run whose inputs and outputs are JSON text (as the request sent them, as the worker answered
 * them): they are parsed when `GET /runs` reads them, so recording a run costs the request path
 * no parse and no second serialization. The record is plain data to `JSON.stringify`.
 */
export function runFromJson(run: Omit<RunRecord, 'inputs' | 'outputs'>, inputs: string, outputs?: string): RunRecord {
  const record = { ...run } as RunRecord
  Object.defineProperty(record, 'inputs', { enumerable: true, get: lazyPayload(inputs) })
  if (outputs !== undefined) Object.defineProperty(record, 'outputs', { enumerable: true, get: lazyPayload(outputs) })
  return record
}

/**
 * A finished run as {@link RecentRuns} keeps it: one small object with the times as numbers and
 * the payloads as JSON text. A server records one per request and `GET /runs` reads a few now
 * and then, so the record's shape (ISO times, parsed payloads) is built when read.
 */
export interface FinishedRun {
  runId: string
  workflow: string
  mode: RunRecord['mode']
  status: string
  /** `Date.now()` when the run started. */
  startedAt: number
  durationMs: number
  /** The caller's inputs as JSON text. */
  inputs: string
  /** The outputs as JSON text (as the worker sent them), when the run completed. */
  outputs?: string | undefined
  error?: RunRecord['error']
}

/** A finished run as `GET /runs` lists it. */
export function recordOfRun(run: FinishedRun): RunRecord {
  const fields = {
    run_id: run.runId,
    workflow: run.workflow,
    mode: run.mode,
    status: run.status,
    started_at: new Date(run.startedAt).toISOString(),
    duration_ms: Math.round(run.durationMs * 100) / 100,
    ...(run.error === undefined ? {} : { error: run.error }),
  }
  return runFromJson(fields, run.inputs, run.outputs)
}

/** The last `capacity` runs in a ring buffer: O(1) to record, O(limit) to list. */
export class RecentRuns implements RunSource {
  readonly #ring: (FinishedRun | undefined)[]
  #next = 0
  #size = 0

  constructor(readonly capacity: number = RECENT_RUNS_CAPACITY) {
    this.#ring = new Array<FinishedRun | undefined>(capacity)
  }

  record(run: FinishedRun): void {
    this.#ring[this.#next] = run
    this.#next = (this.#next + 1) % this.capacity
    this.#size = Math.min(this.#size + 1, this.capacity)
  }

  list(limit: number = this.capacity): RunRecord[] {
    return this.#newestFirst(limit).map(recordOfRun)
  }

  /** Runs that finished in the last `ms` (for runs per minute). */
  countSince(ms: number, now: number = Date.now()): number {
    let count = 0
    for (const run of this.#newestFirst(this.capacity)) {
      if (now - (run.startedAt + run.durationMs) > ms) break
      count++
    }
    return count
  }

  #newestFirst(limit: number): FinishedRun[] {
    const out: FinishedRun[] = []
    for (let i = 1; i <= Math.min(limit, this.#size); i++) out.push(this.#ring[(this.#next - i + this.capacity) % this.capacity] as FinishedRun)
    return out
  }
}
