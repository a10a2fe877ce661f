// Databases the DataFlow contract suite runs against. SQLite always; PostgreSQL and MySQL when their
// URL variables are set. Every test gets its own database (a temp file, a PostgreSQL schema, a
// MySQL database) and drops it afterwards, so parallel files and reruns never collide.
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Client } from 'pg'
import type { Connection } from 'mysql2/promise'

export interface TargetKind {
  dialect: 'sqlite' | 'postgres' | 'mysql'
  /** Base URL from the environment; `undefined` means the suite is skipped. */
  base: string | undefined
  /** The variable to set, named in the skip message. */
  env: string | undefined
}

export const TARGETS: TargetKind[] = [
  { dialect: 'sqlite', base: 'sqlite', env: undefined },
  { dialect: 'postgres', base: process.env.NEXFLOW_TEST_POSTGRES_URL || undefined, env: 'NEXFLOW_TEST_POSTGRES_URL' },
  { dialect: 'mysql', base: process.env.NEXFLOW_TEST_MYSQL_URL || undefined, env: 'NEXFLOW_TEST_MYSQL_URL' },
]

/** `DataFlow contract: postgres` or `... (skipped: set NEXFLOW_TEST_POSTGRES_URL)`; logs the skip once. */
export function suiteTitle(kind: TargetKind, what: string): string {
  if (kind.base !== undefined) return `${what}: ${kind.dialect}`
  console.info(`[dataflow tests] ${what} on ${kind.dialect} skipped: set ${kind.env} to run it`)
  return `${what}: ${kind.dialect} (skipped: set ${kind.env})`
}

export interface Provisioned {
  url: string
  /** A second, raw connection for checks and lock holding (closed by cleanup). */
  cleanup(): Promise<void>
}

const unique = () => `nf_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`

/** A fresh, empty database of `kind`. */
export async function provision(kind: TargetKind): Promise<Provisioned> {
  switch (kind.dialect) {
    case 'sqlite': {
      const dir = await mkdtemp(join(tmpdir(), 'nexflow-dataflow-'))
      return { url: `sqlite:${join(dir, 'test.db')}`, cleanup: () => rm(dir, { recursive: true, force: true }) }
    }
    case 'postgres': {
      const schema = unique()
      const base = kind.base as string
      return {
        url: `${base}${base.includes('?') ? '&' : '?'}schema=${schema}`,
        cleanup: async () => {
          await withPostgres(base, (client) => client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`))
        },
      }
    }
    case 'mysql': {
      const database = unique()
      const base = new URL(kind.base as string)
      await withMysql(base.toString(), (c) => c.query(`CREATE DATABASE \`${database}\``))
      const url = new URL(base)
      url.pathname = `/${database}`
      return {
        url: url.toString(),
        cleanup: async () => {
          await withMysql(base.toString(), (c) => c.query(`DROP DATABASE IF EXISTS \`${database}\``))
        },
      }
    }
  }
}

export async function withPostgres<T>(url: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const { default: pg } = await import('pg')
  const parsed = new URL(url)
  const schema = parsed.searchParams.get('schema')
  parsed.searchParams.delete('schema')
  const client = new pg.Client({ connectionString: parsed.toString(), ...(schema ? { options: `-c search_path=${schema}` } : {}) })
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.end()
  }
}

export async function withMysql<T>(url: string, fn: (connection: Connection) => Promise<T>): Promise<T> {
  const { default: mysql } = await import('mysql2/promise')
  const connection = await mysql.createConnection(url)
  try {
    return await fn(connection)
  } finally {
    await connection.end()
  }
}

/** Runs a raw query on the target (to look under DataFlow's feet). */
export async function rawQuery(kind: TargetKind, url: string, sql: string): Promise<Record<string, unknown>[]> {
  switch (kind.dialect) {
    case 'sqlite': {
      const { default: Database } = await import('better-sqlite3')
      const db = new Database(url.replace(/^sqlite:/, ''))
      try {
        const statement = db.prepare(sql)
        if (statement.reader) return statement.all() as Record<string, unknown>[]
        statement.run()
        return []
      } finally {
        db.close()
      }
    }
    case 'postgres':
      return withPostgres(url, async (client) => (await client.query(sql)).rows as Record<string, unknown>[])
    case 'mysql':
      return withMysql(url, async (c) => (await c.query(sql))[0] as Record<string, unknown>[])
  }
}

/**
 * Holds the migration lock DataFlow uses on the target, from outside, until the returned function
 * is called: SQLite's write lock, PostgreSQL's advisory lock, MySQL's named lock.
 */
export async function holdMigrationLock(kind: TargetKind, url: string): Promise<() => Promise<void>> {
  switch (kind.dialect) {
    case 'sqlite': {
      const { default: Database } = await import('better-sqlite3')
      const db = new Database(url.replace(/^sqlite:/, ''))
      db.pragma('journal_mode = WAL')
      db.exec('BEGIN IMMEDIATE')
      return () => {
        db.exec('ROLLBACK')
        db.close()
        return Promise.resolve()
      }
    }
    case 'postgres': {
      const { default: pg } = await import('pg')
      const parsed = new URL(url)
      const schema = parsed.searchParams.get('schema') ?? 'public'
      parsed.searchParams.delete('schema')
      const client = new pg.Client({ connectionString: parsed.toString() })
      await client.connect()
      await client.query('SELECT pg_advisory_lock(hashtext($1))', [`nexflow.dataflow.migrations:${schema}`])
      return async () => {
        await client.end()
      }
    }
    case 'mysql': {
      const { default: mysql } = await import('mysql2/promise')
      const connection = await mysql.createConnection(url)
      const database = new URL(url).pathname.slice(1)
      await connection.query('SELECT GET_LOCK(?, 0)', [`nexflow.dataflow.migrations:${database}`.slice(0, 64)])
      return async () => {
        await connection.end()
      }
    }
  }
}
