import type { Pool, PoolConnection, ResultSetHeader } from 'mysql2/promise'
import { NexflowError } from '../../../errors.js'
import type { Driver, Executor, RawRow, RunResult } from '../dialect.js'
import { retryUntil } from '../retry.js'
import { mysqlDialect } from './mysql-dialect.js'
import { OpenOnce } from '../open-once.js'

/** From the parsed URL and `connectionPoolSize`. */
export interface MysqlDriverOptions {
  uri: string
  database: string
  poolSize: number
}

class LockBusy extends Error {}

type Queryable = Pool | PoolConnection

/** ER_UNSUPPORTED_PS: this statement cannot be prepared. */
const UNSUPPORTED_PS = 1295

/**
 * Statements go through `execute`: server-side prepared statements, so values are bound by the
 * server, never interpolated, and rows come back in the binary protocol (exact doubles) whether a
 * statement has parameters or not. The few statements MySQL cannot prepare (and have no values)
 * fall back to `query`.
 */
async function send(target: Queryable, sql: string, params: readonly unknown[]): Promise<unknown> {
  try {
    const [result] = await target.execute(sql, params as never[])
    return result
  } catch (error) {
    if (params.length > 0 || (error as { errno?: unknown }).errno !== UNSUPPORTED_PS) throw error
    const [result] = await target.query(sql)
    return result
  }
}

function executor(target: Queryable): Executor {
  return {
    all: async (sql, params = []) => (await send(target, sql, params)) as RawRow[],
    run: async (sql, params = []): Promise<RunResult> => {
      const result = await send(target, sql, params)
      if (Array.isArray(result)) return { changes: result.length }
      const header = result as ResultSetHeader
      return { changes: header.affectedRows, insertId: header.insertId }
    },
  }
}

/** A `mysql2` pool of `connectionPoolSize` connections, created on first use. */
export class MysqlDriver implements Driver {
  readonly sql = mysqlDialect
  #supportsReturning = false
  readonly #options: MysqlDriverOptions
  #pool: Pool | undefined
  readonly #opening = new OpenOnce(() => this.#open())
  #executor: Executor | undefined

  constructor(options: MysqlDriverOptions) {
    this.#options = options
  }

  get supportsReturning(): boolean {
    return this.#supportsReturning
  }

  open(): Promise<void> {
    return this.#opening.open()
  }

  async #open(): Promise<void> {
    const { default: mysql } = await import('mysql2/promise')
    const pool = mysql.createPool({
      uri: this.#options.uri,
      connectionLimit: this.#options.poolSize,
      timezone: 'Z',
      dateStrings: false,
      supportBigNumbers: true,
      bigNumberStrings: true,
      // JSON arrives as text, so the dialect parses it once, one way, on MySQL and MariaDB alike.
      // (A typeCast on the JSON type is not enough: MariaDB's JSON is LONGTEXT, marked JSON only in
      // its extended metadata, and mysql2 would parse it before the dialect parsed it again.)
      jsonStrings: true,
      charset: 'utf8mb4',
      // affectedRows then counts rows really changed: 1 per insert, 2 per upsert-update, 0 per no-op.
      flags: ['-FOUND_ROWS'],
      // Prepared statements are per connection and the server caps them globally (16382 by default).
      maxPreparedStatements: 256,
    })
    try {
      const rows = (await send(pool, 'SELECT VERSION() AS version', [])) as { version: string }[]
      const version = String(rows[0]?.version ?? '')
      const mariadb = /mariadb/i.exec(version) !== null
      const [major = 0, minor = 0] = version.split(/[.-]/).map(Number)
      // MariaDB has INSERT ... RETURNING since 10.5; MySQL has none.
      this.#supportsReturning = mariadb && (major > 10 || (major === 10 && minor >= 5))
    } catch (error) {
      await pool.end().catch(() => undefined)
      throw error
    }
    this.#pool = pool
    this.#executor = executor(pool)
  }

  #ready(): Executor {
    if (this.#executor === undefined) throw new NexflowError('DATABASE_ERROR', 'MySQL pool used before open() or after close()')
    return this.#executor
  }

  all(sql: string, params?: readonly unknown[]): Promise<RawRow[]> {
    return this.#ready().all(sql, params)
  }

  run(sql: string, params?: readonly unknown[]): Promise<RunResult> {
    return this.#ready().run(sql, params)
  }

  async #withConnection<T>(fn: (connection: PoolConnection) => Promise<T>): Promise<T> {
    this.#ready()
    const connection = await (this.#pool as Pool).getConnection()
    let broken = false
    try {
      return await fn(connection)
    } catch (error) {
      broken = (error as { fatal?: boolean }).fatal === true
      throw error
    } finally {
      if (broken) connection.destroy()
      else connection.release()
    }
  }

  transaction<T>(fn: (tx: Executor) => Promise<T>): Promise<T> {
    return this.#transaction(['START TRANSACTION'], fn)
  }

  snapshot<T>(fn: (tx: Executor) => Promise<T>): Promise<T> {
    // InnoDB keeps one snapshot per transaction under REPEATABLE READ (its default, which a
    // server may change; SET TRANSACTION applies to the next transaction only), taken at once
    // WITH CONSISTENT SNAPSHOT rather than at the first read.
    return this.#transaction(['SET TRANSACTION ISOLATION LEVEL REPEATABLE READ', 'START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY'], fn)
  }

  #transaction<T>(begin: readonly string[], fn: (tx: Executor) => Promise<T>): Promise<T> {
    return this.#withConnection(async (connection) => {
      for (const statement of begin) await connection.query(statement)
      try {
        const result = await fn(executor(connection))
        await connection.query('COMMIT')
        return result
      } catch (error) {
        await connection.query('ROLLBACK').catch(() => undefined)
        throw error
      }
    })
  }

  withMigrationLock<T>(timeoutMs: number, fn: (tx: Executor) => Promise<T>): Promise<T> {
    // GET_LOCK names are at most 64 characters.
    const name = `nexflow.dataflow.migrations:${this.#options.database}`.slice(0, 64)
    return this.#withConnection(async (connection) => {
      const tx = executor(connection)
      // Tried with a zero timeout and retried here, so the wait honours migrationLockTimeoutMs to
      // the millisecond and never parks a connection inside the server.
      await retryUntil(
        async () => {
          const rows = await tx.all('SELECT GET_LOCK(?, 0) AS locked', [name])
          if (Number(rows[0]?.locked) !== 1) throw new LockBusy()
        },
        (error) => error instanceof LockBusy,
        timeoutMs,
        () => new NexflowError('MIGRATION_LOCK_TIMEOUT', `Another migrator held the MySQL lock "${name}" for more than ${timeoutMs} ms (migrationLockTimeoutMs)`, { details: { timeoutMs } }),
      )
      try {
        // MySQL commits DDL implicitly, so there is no enclosing transaction; the plan is made
        // under the lock from the live schema, so a half-applied migration is finished next time.
        return await fn(tx)
      } finally {
        await tx.all('SELECT RELEASE_LOCK(?) AS released', [name]).catch(() => undefined)
      }
    })
  }

  async close(): Promise<void> {
    await this.#opening.settle()
    const pool = this.#pool
    this.#pool = undefined
    this.#executor = undefined
    await pool?.end()
  }
}
