import type { SerializedErrorData } from '../../protocol/discovery.js'

/** Where an async run is in its life. `pending` and `running` are the only states that change. */
export const RUN_STATUSES = ['pending', 'running', 'completed', 'failed', 'timeout', 'interrupted', 'cancelled'] as const
export type RunStatus = (typeof RUN_STATUSES)[number]
/** The states a run ends in. */
export type FinalStatus = Exclude<RunStatus, 'pending' | 'running'>

export function isFinished(status: RunStatus): status is FinalStatus {
  return status !== 'pending' && status !== 'running'
}

/** One async run as stored. Times are milliseconds since the epoch. */
export interface RunRecord {
  id: string
  workflow: string
  status: RunStatus
  /** The inputs as JSON text: a pending run found after a restart is dispatched again with them. */
  inputs: string
  /** The X-Request-Id of the request that submitted the run: its run log line carries it, on whichever instance runs it. */
  requestId?: string | undefined
  /** The outputs as JSON text, once completed. */
  outputs?: string | undefined
  error?: SerializedErrorData | undefined
  createdAt: number
  startedAt?: number | undefined
  finishedAt?: number | undefined
}

/** A run as a row of either store (PostgreSQL's bigint columns may arrive as strings). */
export interface RunRow {
  id: string
  workflow: string
  status: string
  inputs: string
  request_id?: string | null
  outputs: string | null
  error: string | null
  created_at: number | string
  started_at: number | string | null
  finished_at: number | string | null
}

export function runOfRow(row: RunRow): RunRecord {
  return {
    id: row.id,
    workflow: row.workflow,
    status: row.status as RunStatus,
    inputs: row.inputs,
    ...(row.request_id === null || row.request_id === undefined ? {} : { requestId: row.request_id }),
    ...(row.outputs === null ? {} : { outputs: row.outputs }),
    ...(row.error === null ? {} : { error: JSON.parse(row.error) as RunRecord['error'] }),
    createdAt: Number(row.created_at),
    ...(row.started_at === null ? {} : { startedAt: Number(row.started_at) }),
    ...(row.finished_at === null ? {} : { finishedAt: Number(row.finished_at) }),
  }
}

/** A run to store as accepted (`pending`). */
export interface NewRun {
  id: string
  workflow: string
  inputs: string
  requestId?: string | undefined
  now: number
}

/** How a run ended, to store. */
export interface RunEnd {
  status: FinalStatus
  outputs?: string | undefined
  error?: SerializedErrorData | undefined
}

/** What the first step of an idempotent request decides. */
export type IdempotencyBegin =
  /** The key is new (or expired, or its holder died): this request runs, then completes or releases it. */
  | { kind: 'new' }
  /** A finished request had the same key and body: answer with what it answered. */
  | { kind: 'replay'; status: number; body: string }
  /** The first request with the key is still running: 409. */
  | { kind: 'conflict' }
  /** The key was used with another body (or workflow): 422. */
  | { kind: 'mismatch' }

/** One request's claim on an Idempotency-Key. */
export interface IdempotencyClaim {
  key: string
  bodyHash: string
}

/** The answer to store for the key its request holds. */
export interface IdempotencyAnswer {
  key: string
  status: number
  body: string
}

/** An Idempotency-Key row as a store reads it (numbers may arrive as strings from PostgreSQL's bigint). */
export interface StoredKey {
  body_hash: string
  state: string
  status: number | null
  body: string | null
  expires_at: number | string
  locked_until: number | string
}

/**
 * What a begin decides from the key's row: `take` when the request may hold the key (new,
 * expired, or held by a request whose instance died); one rule for every store.
 */
export function judgeKey(row: StoredKey | undefined, bodyHash: string, now: number): IdempotencyBegin | 'take' {
  if (row === undefined || Number(row.expires_at) <= now) return 'take'
  if (row.body_hash !== bodyHash) return { kind: 'mismatch' }
  if (row.state === 'done' && row.status !== null && row.body !== null) return { kind: 'replay', status: row.status, body: row.body }
  return Number(row.locked_until) <= now ? 'take' : { kind: 'conflict' }
}

export interface IdempotencyTimes {
  /** Now, in ms since the epoch (a parameter, so tests can move the clock). */
  now: number
  /** The key is forgotten this long after its first request. */
  ttlMs: number
  /**
   * A key still `running` after this long belongs to a request whose instance died: the next
   * request with it takes it over rather than getting 409 until the key expires.
   */
  lockMs: number
}

/**
 * Where async runs and Idempotency-Key records live: the embedded SQLite file (one instance) or
 * PostgreSQL (shared by every instance). Every implementation passes the same contract suite
 * (test/server/run-store.test.ts). Ids reach SQL only as bound parameters.
 */
export interface RunStore {
  readonly kind: 'sqlite' | 'postgres'
  /** Creates the tables if missing. */
  open(): Promise<void>
  /** Stores accepted runs, in one transaction (the server groups the async requests of one turn of the event loop). */
  createRuns(runs: readonly NewRun[]): Promise<void>
  /**
   * `pending` to `running`; false when the run is not pending any more (cancelled, or taken by
   * another instance). With `retry`, a run left `running` by a dead instance is taken again too.
   */
  markRunning(id: string, now: number, retry?: boolean): Promise<boolean>
  /**
   * `running` back to `pending`, for a run marked running that never started: the instance began
   * to close first, and hands the run on. False when it was not running (a cancel came first).
   */
  returnToPending(id: string): Promise<boolean>
  /**
   * Ends pending or running runs, in one transaction; for each, false when it had already ended
   * (a cancel came first).
   */
  finishRuns(ends: readonly { id: string; end: RunEnd; now: number }[]): Promise<boolean[]>
  getRun(id: string): Promise<RunRecord | undefined>
  /** The most recently created runs, newest first, at most `limit` (for `GET /runs`). */
  listRuns(limit: number): Promise<RunRecord[]>
  /** Cancels a pending or running run; the record after the attempt (undefined when there is none). */
  cancelRun(id: string, now: number): Promise<RunRecord | undefined>
  /**
   * After a restart of the embedded store's one instance: runs left `running` by the dead
   * process become `interrupted` (their ids), and the `pending` ones are returned to dispatch again.
   */
  recover(now: number): Promise<{ interrupted: string[]; pending: RunRecord[] }>
  /** Forgets finished runs older than `keepRunsMs` and expired idempotency keys. */
  prune(now: number, keepRunsMs: number): Promise<void>
  /**
   * Begins several requests at once (the server groups the requests of one turn of the event
   * loop, so they share a transaction), answering as if they came one after another in the order
   * given: of two claims on one new key, the first is `new` and the second `conflict`.
   */
  beginIdempotent(claims: readonly IdempotencyClaim[], times: IdempotencyTimes): Promise<IdempotencyBegin[]>
  /** Stores the answers of requests that hold their keys, in one transaction. */
  completeIdempotent(answers: readonly IdempotencyAnswer[]): Promise<void>
  /** Forgets the key: its request failed (5xx) and a retry must run again. */
  releaseIdempotent(key: string): Promise<void>
  close(): Promise<void>
}
