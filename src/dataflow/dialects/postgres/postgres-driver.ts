import type pg from 'pg'
import { NexflowError } from '../../../errors.js'
import { redactDatabaseUrl } from '../../database-url.js'
import type { Driver, Executor, RawRow, RunResult } from '../dialect.js'
import { retryUntil } from '../retry.js'
import { postgresDialect } from './postgres-dialect.js'
import { OpenOnce } from '../open-once.js'

/** From the parsed URL and `connectionPoolSize`. */
export interface PostgresDriverOptions {
  connectionString: string
  schema: string | undefined
  poolSize: number
}

class LockBusy extends Error {}

function executor(client: pg.Pool | pg.PoolClient): Executor {
  return {
    all: async (sql, params = []) => (await client.query(sql, params as unknown[])).rows as RawRow[],
    run: async (sql, params = []): Promise<RunResult> => ({ changes: (await client.query(sql, params as unknown[])).rowCount ?? 0 }),
  }
}

/** A `pg` pool of `connectionPoolSize` connections, created on first use. */
export class PostgresDriver implements Driver {
  readonly sql = postgresDialect
  readonly supportsReturning = true
  readonly #options: PostgresDriverOptions
  #pool: pg.Pool | undefined
  readonly #opening = new OpenOnce(() => this.#open())
  #executor: Executor | undefined

  constructor(options: PostgresDriverOptions) {
    this.#options = options
  }

  open(): Promise<void> {
    return this.#opening.open()
  }

  async #open(): Promise<void> {
    const { default: pgModule } = await import('pg')
    const { schema } = this.#options
    const pool = new pgModule.Pool({
      connectionString: this.#options.connectionString,
      max: this.#options.poolSize,
      // The schema name was checked to be a plain identifier when the URL was parsed.
      ...(schema === undefined ? {} : { options: `-c search_path=${schema}` }),
    })
    // An idle client that loses its connection emits 'error' on the pool; unhandled, it would
    // crash the process. The next query simply gets a fresh connection.
    pool.on('error', () => undefined)
    this.#pool = pool
    this.#executor = executor(pool)
  }

  #ready(): Executor {
    if (this.#executor === undefined) throw new NexflowError('DATABASE_ERROR', 'PostgreSQL pool used before open() or after close()')
    return this.#executor
  }

  all(sql: string, params?: readonly unknown[]): Promise<RawRow[]> {
    return this.#ready().all(sql, params)
  }

  run(sql: string, params?: readonly unknown[]): Promise<RunResult> {
    return this.#ready().run(sql, params)
  }

  transaction<T>(fn: (tx: Executor) => Promise<T>): Promise<T> {
    return this.#transaction('BEGIN', fn)
  }

  snapshot<T>(fn: (tx: Executor) => Promise<T>): Promise<T> {
    // READ COMMITTED (the default) takes a new snapshot per statement; REPEATABLE READ keeps the
    // first one for the whole transaction, and a read-only one never fails to serialize.
    return this.#transaction('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY', fn)
  }

  async #transaction<T>(begin: string, fn: (tx: Executor) => Promise<T>, onBegin?: (tx: Executor) => Promise<void>): Promise<T> {
    this.#ready()
    const client = await (this.#pool as pg.Pool).connect()
    let broken: unknown
    try {
      await client.query(begin)
      const tx = executor(client)
      try {
        if (onBegin !== undefined) await onBegin(tx)
        const result = await fn(tx)
        await client.query('COMMIT')
        return result
      } catch (error) {
        await client.query('ROLLBACK').catch((rollbackError: unknown) => {
          broken = rollbackError
        })
        throw error
      }
    } finally {
      // A connection whose rollback failed is in an unknown state: destroy it rather than reuse it.
      client.release(broken === undefined ? undefined : (broken as Error))
    }
  }

  withMigrationLock<T>(timeoutMs: number, fn: (tx: Executor) => Promise<T>): Promise<T> {
    const key = `nexflow.dataflow.migrations:${this.#options.schema ?? 'public'}`
    // A transaction-level advisory lock, tried (never waited for inside the server) so the wait
    // stays in JavaScript with our timeout; COMMIT or ROLLBACK releases it. PostgreSQL DDL is
    // transactional, so a failed migration leaves nothing behind.
    const acquire = (tx: Executor) =>
      retryUntil(
        async () => {
          const rows = await tx.all('SELECT pg_try_advisory_xact_lock(hashtext($1)) AS locked', [key])
          if (rows[0]?.locked !== true) throw new LockBusy()
        },
        (error) => error instanceof LockBusy,
        timeoutMs,
        () => new NexflowError('MIGRATION_LOCK_TIMEOUT', `Another migrator held the PostgreSQL advisory lock "${key}" for more than ${timeoutMs} ms (migrationLockTimeoutMs)`, { details: { timeoutMs } }),
      )
    return this.#transaction(
      'BEGIN',
      async (tx) => {
        if (this.#options.schema !== undefined) await tx.run(`CREATE SCHEMA IF NOT EXISTS "${this.#options.schema}"`)
        return fn(tx)
      },
      acquire,
    )
  }

  async close(): Promise<void> {
    await this.#opening.settle()
    const pool = this.#pool
    this.#pool = undefined
    this.#executor = undefined
    await pool?.end()
  }

  toString(): string {
    return `PostgresDriver(${redactDatabaseUrl(this.#options.connectionString)})`
  }
}
