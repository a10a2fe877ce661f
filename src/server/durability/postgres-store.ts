import type pg from 'pg'
import { NexflowError } from '../../errors.js'
import { judgeKey, runOfRow, type IdempotencyAnswer, type IdempotencyBegin, type IdempotencyClaim, type IdempotencyTimes, type NewRun, type RunEnd, type RunRecord, type RunRow, type RunStore, type StoredKey } from './run-store.js'

/**
 * Connections of one instance, shared by the store and pg-boss (see executeSql). Two pools of 10
 * held 19 under load; one of 10 cost async acceptance a fifth of its rate in bench/durability.ts
 * (pg-boss's 8 workers fetch and complete jobs on it too); 14 measured the same as two pools.
 */
const POOL_SIZE = 14
/** A database that does not answer (a host that drops packets) fails requests after this, rather than holding them until TCP gives up. */
const CONNECT_TIMEOUT_MS = 5000
/** How long an instance waits for another one to finish starting pg-boss (see exclusively). */
const EXCLUSIVE_WAIT_S = 60

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
    // Named, so an operator can tell nexflow's connections apart in pg_stat_activity.
    const pool = new pgModule.Pool({ connectionString: this.#url, max: POOL_SIZE, application_name: 'nexflow', connectionTimeoutMillis: CONNECT_TIMEOUT_MS })
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
        request_id text,
        outputs text,
        error text,
        created_at bigint NOT NULL,
        started_at bigint,
        finished_at bigint
      )`)
      // A schema written before runs kept their request id.
      await client.query(`ALTER TABLE ${s}.runs ADD COLUMN IF NOT EXISTS request_id text`)
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
      // Rate-limit counts the instances share (hit-counter.ts): one row per client and window.
      await client.query(`CREATE TABLE IF NOT EXISTS ${s}.rate_limits (
        key text PRIMARY KEY,
        hits integer NOT NULL,
        reset_at bigint NOT NULL
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

  /**
   * Runs `fn` while holding a lock that every instance on this database and schema takes for
   * `name`, in a transaction on a connection of its own: instances starting together take turns.
   * An instance that dies holding it lets it go with its connection; one that waits longer than
   * `EXCLUSIVE_WAIT_S` for it fails (`lock timeout`) rather than waiting for good.
   */
  async exclusively<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const client = await this.#db.connect()
    let broken: Error | undefined
    try {
      await client.query('BEGIN')
      try {
        await client.query(`SET LOCAL lock_timeout = '${EXCLUSIVE_WAIT_S}s'`)
        await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`nexflow:${this.#schema}:${name}`])
        return await fn()
      } finally {
        // Ending the transaction is what lets the lock go; a connection that cannot end it is closed.
        await client.query('ROLLBACK').catch((error: unknown) => {
          broken = error as Error
        })
      }
    } finally {
      client.release(broken)
    }
  }

  /**
   * Runs one statement on this store's pool, in the shape pg-boss takes as its `db`: the queue
   * shares the store's connections, so an instance holds one pool on the database, not two.
   */
  executeSql(text: string, values?: unknown[], timeoutMs?: number): Promise<{ rows: unknown[] }> {
    // query_timeout: the client gives up waiting, also on a connection whose host went silent.
    return timeoutMs === undefined ? this.#db.query(text, values) : this.#db.query({ text, values, query_timeout: timeoutMs } as pg.QueryConfig)
  }

  get #db(): pg.Pool {
    if (this.#pool === undefined) throw new NexflowError('DURABILITY_UNAVAILABLE', 'The run store is not open (the server is starting or has closed)')
    return this.#pool
  }

  async createRuns(runs: readonly NewRun[]): Promise<void> {
    if (runs.length === 0) return
    await this.#db.query(
      `INSERT INTO ${this.#schema}.runs (id, workflow, status, inputs, request_id, created_at)
       SELECT u.id, u.workflow, 'pending', u.inputs, u.request_id, u.created_at FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::bigint[]) AS u(id, workflow, inputs, request_id, created_at)`,
      [runs.map((run) => run.id), runs.map((run) => run.workflow), runs.map((run) => run.inputs), runs.map((run) => run.requestId ?? null), runs.map((run) => run.now)],
    )
  }

  async markRunning(id: string, now: number, retry = false): Promise<boolean> {
    const from = retry ? "('pending', 'running')" : "('pending')"
    const result = await this.#db.query(`UPDATE ${this.#schema}.runs SET status = 'running', started_at = $1 WHERE id = $2 AND status IN ${from}`, [now, id])
    return result.rowCount === 1
  }

  async returnToPending(id: string): Promise<boolean> {
    const result = await this.#db.query(`UPDATE ${this.#schema}.runs SET status = 'pending', started_at = NULL WHERE id = $1 AND status = 'running'`, [id])
    return result.rowCount === 1
  }

  async finishRuns(ends: readonly { id: string; end: RunEnd; now: number }[]): Promise<boolean[]> {
    if (ends.length === 0) return []
    if (new Set(ends.map((entry) => entry.id)).size < ends.length) {
      // One statement updates a row once: a run ended twice in one batch is ended one call at a time.
      const answers: boolean[] = []
      for (const entry of ends) answers.push(...(await this.finishRuns([entry])))
      return answers
    }
    // Sorted by id, so two instances ending overlapping runs lock their rows in the same order.
    const sorted = [...ends].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    const { rows } = await this.#db.query<{ id: string }>(
      `UPDATE ${this.#schema}.runs AS r SET status = u.status, outputs = u.outputs, error = u.error, finished_at = u.finished_at
       FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::bigint[]) AS u(id, status, outputs, error, finished_at)
       WHERE r.id = u.id AND r.status IN ('pending', 'running')
       RETURNING r.id`,
      [
        sorted.map((entry) => entry.id),
        sorted.map((entry) => entry.end.status),
        sorted.map((entry) => entry.end.outputs ?? null),
        sorted.map((entry) => (entry.end.error === undefined ? null : JSON.stringify(entry.end.error))),
        sorted.map((entry) => entry.now),
      ],
    )
    const ended = new Set(rows.map((row) => row.id))
    return ends.map((entry) => ended.has(entry.id))
  }

  async getRun(id: string): Promise<RunRecord | undefined> {
    const { rows } = await this.#db.query<RunRow>(`SELECT * FROM ${this.#schema}.runs WHERE id = $1`, [id])
    return rows[0] === undefined ? undefined : runOfRow(rows[0])
  }

  async listRuns(limit: number): Promise<RunRecord[]> {
    const { rows } = await this.#db.query<RunRow>(`SELECT * FROM ${this.#schema}.runs ORDER BY created_at DESC LIMIT $1`, [limit])
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
    await this.#db.query(`DELETE FROM ${this.#schema}.rate_limits WHERE reset_at <= $1`, [now])
  }

  async beginIdempotent(claims: readonly IdempotencyClaim[], times: IdempotencyTimes): Promise<IdempotencyBegin[]> {
    // A key claimed twice in one batch: the later claims wait for the first one's answer (one
    // statement cannot take a row twice), then are judged as if they came after it.
    const seen = new Set<string>()
    const first: number[] = []
    const later: number[] = []
    for (const [i, claim] of claims.entries()) {
      if (seen.has(claim.key)) later.push(i)
      else {
        seen.add(claim.key)
        first.push(i)
      }
    }
    const answers: IdempotencyBegin[] = new Array<IdempotencyBegin>(claims.length)
    const firstClaims = first.map((i) => claims[i] as IdempotencyClaim)
    for (const [n, answer] of (await this.#beginDistinct(firstClaims, times)).entries()) answers[first[n] as number] = answer
    if (later.length > 0) {
      const laterAnswers = await this.beginIdempotent(
        later.map((i) => claims[i] as IdempotencyClaim),
        times,
      )
      for (const [n, answer] of laterAnswers.entries()) answers[later[n] as number] = answer
    }
    return answers
  }

  /** Claims on distinct keys: a read, then (for the keys free to take) one upsert. */
  async #beginDistinct(claims: readonly IdempotencyClaim[], times: IdempotencyTimes): Promise<IdempotencyBegin[]> {
    const s = this.#schema
    // A replay (the common retry) is one read; only keys to take cost a write and its WAL flush.
    const rows = await this.#keyRows(claims.map((claim) => claim.key))
    const answers: (IdempotencyBegin | undefined)[] = claims.map((claim) => {
      const judged = judgeKey(rows.get(claim.key), claim.bodyHash, times.now)
      return judged === 'take' ? undefined : judged
    })
    // Sorted, so two instances taking overlapping keys lock their rows in the same order.
    const toTake = claims.filter((_, i) => answers[i] === undefined).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    if (toTake.length === 0) return answers as IdempotencyBegin[]
    // Taken when new, expired, or held by a request whose instance died; one statement, so two
    // instances racing on a key cannot both take it.
    const taken = await this.#db.query<{ key: string }>(
      `INSERT INTO ${s}.idempotency AS i (key, body_hash, state, expires_at, locked_until)
       SELECT u.key, u.body_hash, 'running', $3, $4 FROM unnest($1::text[], $2::text[]) AS u(key, body_hash)
       ON CONFLICT (key) DO UPDATE SET body_hash = EXCLUDED.body_hash, state = 'running', status = NULL, body = NULL, expires_at = EXCLUDED.expires_at, locked_until = EXCLUDED.locked_until
       WHERE i.expires_at <= $5 OR (i.state = 'running' AND i.locked_until <= $5 AND i.body_hash = EXCLUDED.body_hash)
       RETURNING key`,
      [toTake.map((claim) => claim.key), toTake.map((claim) => claim.bodyHash), times.now + times.ttlMs, times.now + times.lockMs, times.now],
    )
    const takenKeys = new Set(taken.rows.map((row) => row.key))
    const lost = toTake.filter((claim) => !takenKeys.has(claim.key))
    // Another instance changed these keys between the read and the upsert: read them again.
    const now = lost.length > 0 ? await this.#keyRows(lost.map((claim) => claim.key)) : new Map<string, StoredKey>()
    return claims.map((claim, i) => {
      const answer = answers[i]
      if (answer !== undefined) return answer
      if (takenKeys.has(claim.key)) return { kind: 'new' }
      const judged = judgeKey(now.get(claim.key), claim.bodyHash, times.now)
      // Free again (released, or expired meanwhile): the holder just let go; a retry will take it.
      return judged === 'take' ? { kind: 'conflict' } : judged
    })
  }

  async #keyRows(keys: string[]): Promise<Map<string, StoredKey>> {
    const { rows } = await this.#db.query<StoredKey & { key: string }>(`SELECT key, body_hash, state, status, body, expires_at, locked_until FROM ${this.#schema}.idempotency WHERE key = ANY($1::text[])`, [keys])
    return new Map(rows.map((row) => [row.key, row]))
  }

  async completeIdempotent(answers: readonly IdempotencyAnswer[]): Promise<void> {
    if (answers.length === 0) return
    const sorted = [...answers].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    await this.#db.query(
      `UPDATE ${this.#schema}.idempotency AS i SET state = 'done', status = u.status, body = u.body
       FROM unnest($1::text[], $2::int[], $3::text[]) AS u(key, status, body) WHERE i.key = u.key`,
      [sorted.map((answer) => answer.key), sorted.map((answer) => answer.status), sorted.map((answer) => answer.body)],
    )
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
