import type { RunRecord as StoredRun } from '../durability/run-store.js'
import { jsonPayload, type RecentRuns, type RunRecord, type RunSource } from './recent-runs.js'

/** An async run from the durable store, in the shape `GET /runs` lists (pending and running ones too). */
export function asyncRunRecord(run: StoredRun, now: number = Date.now()): RunRecord {
  const started = run.startedAt ?? run.createdAt
  return {
    run_id: run.id,
    workflow: run.workflow,
    mode: 'async',
    status: run.status,
    started_at: new Date(started).toISOString(),
    duration_ms: run.startedAt === undefined ? 0 : (run.finishedAt ?? now) - run.startedAt,
    inputs: jsonPayload(run.inputs),
    ...(run.outputs === undefined ? {} : { outputs: jsonPayload(run.outputs) }),
    ...(run.error === undefined ? {} : { error: { ...(run.error.code === undefined ? {} : { code: run.error.code }), message: run.error.message } }),
  }
}

/**
 * What `GET /runs` lists by default: this server's sync and streamed runs from memory, and async
 * runs from the durable store, which holds every instance's (and those still pending or running,
 * and those from before a restart). Merged newest first.
 */
export class RunsWithAsync implements RunSource {
  constructor(
    readonly memory: RecentRuns,
    readonly durable: (limit: number) => Promise<StoredRun[]>,
  ) {}

  async list(limit: number): Promise<RunRecord[]> {
    const stored = await this.durable(limit).catch(() => [])
    const now = Date.now()
    const local = this.memory.list().filter((run) => run.mode !== 'async')
    return [...local, ...stored.map((run) => asyncRunRecord(run, now))].sort((a, b) => Date.parse(b.started_at) - Date.parse(a.started_at)).slice(0, limit)
  }
}
