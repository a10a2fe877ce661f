import type { SerializedError } from '../../errors.js'
import type { NewRun, RunEnd, RunRecord } from './run-store.js'

/**
 * Messages between the embedded run store (the server's thread) and its writer thread
 * (workers/store/writer.ts). Both sides are nexflow's own code, in one process: the types are the
 * contract, and nothing user-controlled crosses unchecked (ids and answers reach SQL as bound
 * parameters in the writer).
 */

/** An answer row to store, with what the server's thread held for its key. */
export interface StoredAnswer {
  key: string
  bodyHash: string
  status: number
  body: string
  expiresAt: number
}

/** One write. Writes are applied in the order they are posted. */
export type StoreWrite =
  | { op: 'open'; path: string }
  | { op: 'createRuns'; runs: readonly NewRun[] }
  | { op: 'markRunning'; id: string; now: number; retry: boolean }
  | { op: 'returnToPending'; id: string }
  | { op: 'finishRuns'; ends: readonly { id: string; end: RunEnd; now: number }[] }
  | { op: 'cancelRun'; id: string; now: number }
  | { op: 'recover'; now: number }
  | { op: 'prune'; now: number; keepRunsMs: number }
  | { op: 'storeAnswers'; answers: readonly StoredAnswer[] }
  | { op: 'close' }

/** What each write answers. */
export interface StoreWriteResults {
  open: undefined
  createRuns: undefined
  markRunning: boolean
  returnToPending: boolean
  finishRuns: boolean[]
  cancelRun: undefined
  recover: { interrupted: string[]; pending: RunRecord[] }
  prune: undefined
  storeAnswers: undefined
  close: undefined
}

/** A write as posted: `seq` pairs it with its reply. */
export interface StoreWriteRequest {
  seq: number
  write: StoreWrite
}

export type StoreWriteReply = { seq: number; ok: true; value: unknown } | { seq: number; ok: false; error: SerializedError }
