// The shape of `GET /runs`: plain data, with no Node.js types, so the dashboard's browser code
// reads it from here too.

/** One finished run, as `GET /runs` lists it. Plain data: a durable store returns the same shape. */
export interface RunRecord {
  run_id: string
  workflow: string
  /** `sync`: answered on the request that asked for it; `stream`: the same, as server-sent events; `async`: queued and polled. */
  mode: 'sync' | 'stream' | 'async'
  /** `completed`, `failed`, `timeout`, `cancelled`, `crashed` or `error` (see RunOutcome); an async run may also be `pending`, `running` or `interrupted`. */
  status: string
  /** ISO 8601. */
  started_at: string
  duration_ms: number
  /** The caller's inputs, or a `{ truncated: true, bytes }` note when larger than the bound. */
  inputs: unknown
  outputs?: unknown
  error?: { code?: string; message: string; node?: string }
}
