import type pg from 'pg'
import { NexflowError } from '../../errors.js'
import { runOfRow } from './sqlite-store.js'
import type { IdempotencyBegin, IdempotencyTimes, RunEnd, RunRecord, RunStore } from './run-store.js'

/** Connections of one instance's store: each statement is short; under load (bench/durability.ts) 4 queued requests behind each other. */
const POOL_SIZE = 10

/**
 * The shared store: nexflow's own tables in `schema` of a PostgreSQL database, created if missing.
 * Every instance behind the load balancer reads and writes the same rows, so a run accepted by one
 * is polled on another and an Idempotency-Key replays anywhere. `schema` was checked to be a plain
 * identifier (durability-options.ts); every value is a bound parameter.
 */
export class PostgresRunStore implements RunStore {
  readonly kind = 'postgres'
  readonly #url: string
  readonly #schema: string
  #pool: pg.Pool | undefined

  constructor(url: string, schema: string) {
    this.#url = url
    this.#schema = schema
  }

  async open(): Promise<void> {
    if (this.#pool !== undefined) return
    const { default: pgModule } = await import('pg')
    const pool = new pgModule.Pool({ connectionString: this.#url, max: POOL_SIZE })
    // An idle client losing its connection emits 'error' on the pool; unhandled it would crash the process.
    pool.on('error', () => undefined)
    const s = this.#schema
    const client = await pool.connect().catch((error: unknown) => {
      void pool.end()
      throw new NexflowError('DURABILITY_UNAVAILABLE', `The durability database cannot be reached: ${(error as Error).message}`, { cause: error })
    })
    try {
      await client.query('BEGIN')
      // Instances starting together would race on CREATE ... IF NOT EXISTS: one creates, the others wait.
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`nexflow-durability:${s}`])
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`)
      await client.query(`CREATE TABLE IF NOT EXISTS ${s}.runs (
        id uuid PRIMARY KEY,
        workflow text NOT NULL,
        status text NOT NULL,
        inputs text NOT NULL,
        outputs text,
        error text,
        created_at bigint NOT NULL,
        started_at bigint,
        finished_at bigint
      )`)
      await client.query(`CREATE INDEX IF NOT EXISTS runs_status ON ${s}.runs (status, finished_at)`)
      await client.query(`CREATE INDEX IF NOT EXISTS runs_created ON ${s}.runs (created_at)`)
      await client.query(`CREATE TABLE IF NOT EXISTS ${s}.idempotency (
        key text PRIMARY KEY,
        body_hash text NOT NULL,
        state text NOT NULL,
        status integer,
        body text,
        expires_at bigint NOT NULL,
        locked_until bigint NOT NULL
      )`)
      await client.query('COMMIT')
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined)
      client.release()
      await pool.end()
      throw new NexflowError('DURABILITY_UNAVAILABLE', `The durability tables cannot be created in schema "${s}": ${(error as Error).message}`, { cause: error })
    }
    client.release()
    this.#pool = pool
  }

  get #db(): pg.Pool {
    if (this.#pool === undefined) throw new NexflowError('DURABILITY_UNAVAILABLE', 'The run store is not open (the server is starting or has closed)')
    return this.#pool
  }

  async createRun(run: { id: string; workflow: string; inputs: string; now: number }): Promise<void> {
    await this.#db.query(`INSERT INTO ${this.#schema}.runs (id, workflow, status, inputs, created_at) VALUES ($1, $2, 'pending', $3, $4)`, [run.id, run.workflow, run.inputs, run.now])
  }

  async markRunning(id: string, now: number, retry = false): Promise<boolean> {
    const from = retry ? "('pending', 'running')" : "('pending')"
    const result = await this.#db.query(`UPDATE ${this.#schema}.runs SET status = 'running', started_at = $1 WHERE id = $2 AND status IN ${from}`, [now, id])
    return result.rowCount === 1
  }

  async finishRun(id: string, end: RunEnd, now: number): Promise<boolean> {
    const result = await this.#db.query(`UPDATE ${this.#schema}.runs SET status = $1, outputs = $2, error = $3, finished_at = $4 WHERE id = $5 AND status IN ('pending', 'running')`, [
      end.status,
      end.outputs ?? null,
      end.error === undefined ? null : JSON.stringify(end.error),
      now,
      id,
    ])
    return result.rowCount === 1
  }

  async getRun(id: string): Promise<RunRecord | undefined> {
    const { rows } = await this.#db.query<Parameters<typeof runOfRow>[0]>(`SELECT * FROM ${this.#schema}.runs WHERE id = $1`, [id])
    return rows[0] === undefined ? undefined : runOfRow(rows[0])
  }

  async listRuns(limit: number): Promise<RunRecord[]> {
    const { rows } = await this.#db.query<Parameters<typeof runOfRow>[0]>(`SELECT * FROM ${this.#schema}.runs ORDER BY created_at DESC LIMIT $1`, [limit])
    return rows.map(runOfRow)
  }

  async cancelRun(id: string, now: number): Promise<RunRecord | undefined> {
    await this.#db.query(`UPDATE ${this.#schema}.runs SET status = 'cancelled', finished_at = $1 WHERE id = $2 AND status IN ('pending', 'running')`, [now, id])
    return this.getRun(id)
  }

  /**
   * Nothing to do: other instances may be running these runs. A run whose instance died is the
   * queue's to resolve (its job expires, then is retried or dead-lettered and marked interrupted).
   */
  recover(): Promise<{ interrupted: string[]; pending: RunRecord[] }> {
    return Promise.resolve({ interrupted: [], pending: [] })
  }

  async prune(now: number, keepRunsMs: number): Promise<void> {
    await this.#db.query(`DELETE FROM ${this.#schema}.runs WHERE status NOT IN ('pending', 'running') AND finished_at < $1`, [now - keepRunsMs])
    await this.#db.query(`DELETE FROM ${this.#schema}.idempotency WHERE expires_at <= $1`, [now])
  }

  async beginIdempotent(key: string, bodyHash: string, times: IdempotencyTimes): Promise<IdempotencyBegin> {
    const s = this.#schema
    const expires = times.now + times.ttlMs
    const locked = times.now + times.lockMs
    // A replay (the common retry) is one read; only a key to take costs a write.
    const existing = await this.#db.query<{ body_hash: string; state: string; status: number | null; body: string | null; expires_at: string; locked_until: string }>(
      `SELECT body_hash, state, status, body, expires_at, locked_until FROM ${s}.idempotency WHERE key = $1`,
      [key],
    )
    const found = existing.rows[0]
    if (found !== undefined && Number(found.expires_at) > times.now) {
      if (found.body_hash !== bodyHash) return { kind: 'mismatch' }
      if (found.state === 'done' && found.status !== null && found.body !== null) return { kind: 'replay', status: found.status, body: found.body }
      if (Number(found.locked_until) > times.now) return { kind: 'conflict' }
    }
    // Taken when new, expired, or held by a request whose instance died; one statement, so two
    // instances racing on the same key cannot both take it.
    const taken = await this.#db.query(
      `INSERT INTO ${s}.idempotency AS i (key, body_hash, state, expires_at, locked_until) VALUES ($1, $2, 'running', $3, $4)
       ON CONFLICT (key) DO UPDATE SET body_hash = EXCLUDED.body_hash, state = 'running', status = NULL, body = NULL, expires_at = EXCLUDED.expires_at, locked_until = EXCLUDED.locked_until
       WHERE i.expires_at <= $5 OR (i.state = 'running' AND i.locked_until <= $5 AND i.body_hash = EXCLUDED.body_hash)
       RETURNING key`,
      [key, bodyHash, expires, locked, times.now],
    )
    if (taken.rowCount === 1) return { kind: 'new' }
    const { rows } = await this.#db.query(`SELECT body_hash, state, status, body FROM ${s}.idempotency WHERE key = $1`, [key])
    const row = rows[0] as { body_hash: string; state: string; status: number | null; body: string | null } | undefined
    // Released between the two statements: a retry will find it free.
    if (row === undefined) return { kind: 'conflict' }
    if (row.body_hash !== bodyHash) return { kind: 'mismatch' }
    if (row.state === 'done' && row.status !== null && row.body !== null) return { kind: 'replay', status: row.status, body: row.body }
    return { kind: 'conflict' }
  }

  async completeIdempotent(key: string, status: number, body: string): Promise<void> {
    await this.#db.query(`UPDATE ${this.#schema}.idempotency SET state = 'done', status = $1, body = $2 WHERE key = $3`, [status, body, key])
  }

  async releaseIdempotent(key: string): Promise<void> {
    await this.#db.query(`DELETE FROM ${this.#schema}.idempotency WHERE key = $1 AND state = 'running'`, [key])
  }

  async close(): Promise<void> {
    const pool = this.#pool
    this.#pool = undefined
    await pool?.end()
  }
}
