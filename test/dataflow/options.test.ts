import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { DataFlow, NexflowError, NodeRegistry, parseDatabaseUrl, redactDatabaseUrl } from '../../src/index.js'
import { resolveDataFlowOptions } from '../../src/dataflow/options.js'

function errorOf(fn: () => unknown): NexflowError {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(NexflowError)
    return error as NexflowError
  }
  throw new Error('expected an error')
}

describe('DataFlow options', () => {
  it('applies defaults once: autoMigrate and model persistence on, the rest off', () => {
    const o = resolveDataFlowOptions({ databaseUrl: 'sqlite::memory:' })
    expect(o).toMatchObject({
      autoMigrate: true,
      skipMigration: false,
      skipRegistry: false,
      enableModelPersistence: true,
      connectionPoolSize: 10,
      enableMetrics: false,
      enableCaching: false,
      slowQueryMs: 1000,
      migrationLockTimeoutMs: 30_000,
    })
  })

  it('names an unknown option, and suggests the camelCase of a source-system spelling', () => {
    const unknown = errorOf(() => new DataFlow({ databaseUrl: 'sqlite::memory:', poolSize: 5 } as never))
    expect(unknown.code).toBe('CONFIG_INVALID')
    expect(unknown.message).toContain('unknown option "poolSize"')
    expect(unknown.message).toContain('connectionPoolSize')
    const snake = errorOf(() => new DataFlow({ auto_migrate: true } as never))
    expect(snake.message).toContain('unknown option "auto_migrate" (did you mean "autoMigrate"?)')
  })

  it('names the option whose value is wrong', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ autoMigrate: 'yes' }, 'option "autoMigrate"'],
      [{ connectionPoolSize: 0 }, 'option "connectionPoolSize"'],
      [{ connectionPoolSize: 2.5 }, 'option "connectionPoolSize"'],
      [{ cacheTtlMs: -1 }, 'option "cacheTtlMs"'],
      [{ migrationLockTimeoutMs: 'soon' }, 'option "migrationLockTimeoutMs"'],
      [{ registry: {} }, 'option "registry"'],
      [{ logger: console.log }, 'option "logger"'],
    ]
    for (const [options, message] of cases) {
      const error = errorOf(() => resolveDataFlowOptions({ databaseUrl: 'sqlite::memory:', ...options }))
      expect(error.code).toBe('CONFIG_INVALID')
      expect(error.message).toContain(message)
    }
  })

  it('refuses explicit contradictions, and lets a default yield to an explicit opposite', () => {
    expect(errorOf(() => resolveDataFlowOptions({ autoMigrate: true, skipMigration: true })).message).toContain('"autoMigrate" and "skipMigration"')
    expect(errorOf(() => resolveDataFlowOptions({ enableModelPersistence: true, skipRegistry: true })).message).toContain('"enableModelPersistence" and "skipRegistry"')
    expect(resolveDataFlowOptions({ databaseUrl: 'sqlite::memory:', skipMigration: true }).autoMigrate).toBe(false)
    expect(resolveDataFlowOptions({ databaseUrl: 'sqlite::memory:', skipRegistry: true }).enableModelPersistence).toBe(false)
  })

  it('uses DATABASE_URL, else an embedded SQLite file under <cwd>/.nexflow', () => {
    expect(resolveDataFlowOptions({}, { DATABASE_URL: 'postgres://u:secret@db:5432/app' }, '/srv/app').target).toMatchObject({ dialect: 'postgres' })
    expect(resolveDataFlowOptions({}, {}, '/srv/app').target).toEqual({ dialect: 'sqlite', path: join('/srv/app', '.nexflow', 'dataflow.db'), url: join('/srv/app', '.nexflow', 'dataflow.db') })
    expect(resolveDataFlowOptions({}, { DATABASE_URL: '  ' }, '/srv/app').target.dialect).toBe('sqlite')
    expect(resolveDataFlowOptions({ databaseUrl: 'sqlite::memory:' }, { DATABASE_URL: 'postgres://db/x' }).target.dialect).toBe('sqlite')
    expect(resolveDataFlowOptions({}, {}, '/srv/my-app').applicationId).toBe('my-app')
  })

  it('reports an unreachable server at first use as DATABASE_ERROR, with the password redacted', async () => {
    for (const url of ['postgresql://user:secret@127.0.0.1:1/none', 'mysql://user:secret@127.0.0.1:1/none']) {
      const db = new DataFlow({ databaseUrl: url, registry: new NodeRegistry() })
      const Thing = db.model('Thing', { a: z.string() })
      const error = await Thing.count().then(
        () => undefined,
        (e: unknown) => e as NexflowError,
      )
      expect(error?.code, url).toBe('DATABASE_ERROR')
      expect(error?.message).toContain('user:***@127.0.0.1:1')
      expect(error?.message).not.toContain('secret')
      await db.close()
    }
  })

  it('does no I/O: a DataFlow on an unreachable server is created, described and closed without connecting', async () => {
    const db = new DataFlow({ databaseUrl: 'postgresql://user:secret@127.0.0.1:1/none', registry: new NodeRegistry() })
    expect(db.toManifest()).toMatchObject({ dialect: 'postgres', databaseUrl: 'postgresql://user:***@127.0.0.1:1/none', models: [] })
    await db.close()
  })
})

describe('database URLs', () => {
  const cwd = '/srv/app'

  it('accepts every documented form', () => {
    expect(parseDatabaseUrl('sqlite::memory:', cwd)).toMatchObject({ dialect: 'sqlite', path: ':memory:' })
    expect(parseDatabaseUrl(':memory:', cwd)).toMatchObject({ dialect: 'sqlite', path: ':memory:' })
    expect(parseDatabaseUrl('sqlite:./data/app.db', cwd)).toMatchObject({ dialect: 'sqlite', path: '/srv/app/data/app.db' })
    expect(parseDatabaseUrl('sqlite:///var/lib/app.db', cwd)).toMatchObject({ dialect: 'sqlite', path: '/var/lib/app.db' })
    expect(parseDatabaseUrl('sqlite://rel/app.sqlite', cwd)).toMatchObject({ dialect: 'sqlite', path: '/srv/app/rel/app.sqlite' })
    expect(parseDatabaseUrl('sqlite+aiosqlite:///var/lib/app.db', cwd)).toMatchObject({ dialect: 'sqlite', path: '/var/lib/app.db' })
    expect(parseDatabaseUrl('app.db', cwd)).toMatchObject({ dialect: 'sqlite', path: '/srv/app/app.db' })
    expect(parseDatabaseUrl('/abs/app.sqlite3', cwd)).toMatchObject({ dialect: 'sqlite', path: '/abs/app.sqlite3' })
    expect(parseDatabaseUrl('postgres://u:p@db:5432/app', cwd)).toMatchObject({ dialect: 'postgres', schema: undefined })
    expect(parseDatabaseUrl('postgresql://u@db/app?schema=tenant_1&sslmode=disable', cwd)).toMatchObject({
      dialect: 'postgres',
      schema: 'tenant_1',
      connectionString: 'postgresql://u@db/app?sslmode=disable',
    })
    expect(parseDatabaseUrl('postgresql+asyncpg://u@db/app', cwd)).toMatchObject({ dialect: 'postgres' })
    expect(parseDatabaseUrl('mysql://root@db:3306/app', cwd)).toMatchObject({ dialect: 'mysql', database: 'app' })
    expect(parseDatabaseUrl('mariadb://root@db/app', cwd)).toMatchObject({ dialect: 'mysql', database: 'app' })
    expect(parseDatabaseUrl('mysql+pymysql://root@db/app', cwd)).toMatchObject({ dialect: 'mysql', database: 'app' })
  })

  it('rejects unknown schemes and malformed URLs, listing the accepted forms', () => {
    const cases: [string, string][] = [
      ['mongodb://db/app', 'unknown scheme "mongodb:"'],
      ['oracle://db/app', 'unknown scheme'],
      ['', 'is empty'],
      ['just-a-name', 'has no scheme'],
      ['postgres://', 'names no host'],
      ['postgres://u:p@db:99999/app', 'not a well-formed URL'],
      ['postgres:///app', 'names no host'],
      ['postgres://db/app?schema=a;drop', 'not a plain identifier'],
      ['mysql://root@db:3306', 'names no database'],
      ['mysql://:3306/app', 'not a well-formed URL'],
      ['sqlite:', 'names no SQLite file'],
      ['sqlite:///', 'names no SQLite file'],
      ['sqlite:%E0%A4%A', 'malformed %-escape'],
      // Regression: a MySQL database name with a bad %-escape threw a bare URIError.
      ['mysql://root@db:3306/%E0%A4%A', 'malformed %-escape'],
    ]
    for (const [url, problem] of cases) {
      const error = errorOf(() => parseDatabaseUrl(url, cwd))
      expect(error.code, url).toBe('DATABASE_URL_INVALID')
      expect(error.message, url).toContain(problem)
      expect(error.message, url).toContain('Accepted forms: sqlite::memory:')
    }
  })

  it('never shows a password', () => {
    expect(redactDatabaseUrl('postgresql://admin:s3cr3t@db:5432/app')).toBe('postgresql://admin:***@db:5432/app')
    expect(redactDatabaseUrl('mysql://root:p%40ss@db/app')).toBe('mysql://root:***@db/app')
    expect(redactDatabaseUrl('postgres://db/app?user=u&password=hunter2')).toBe('postgres://db/app?user=u&password=***')
    expect(redactDatabaseUrl('postgres://u@db/app')).toBe('postgres://u@db/app')
    const error = errorOf(() => parseDatabaseUrl('mongodb://admin:s3cr3t@db/app', cwd))
    expect(error.message).not.toContain('s3cr3t')
    const db = new DataFlow({ databaseUrl: 'mysql://root:s3cr3t@127.0.0.1:1/app', registry: new NodeRegistry() })
    expect(JSON.stringify(db.toManifest())).not.toContain('s3cr3t')
    expect(db.databaseUrl).toBe('mysql://root:***@127.0.0.1:1/app')
    void db.close()
  })

  it('redacts passwords holding unescaped @, #, / or ?, in URLs and in errors', () => {
    // Regression: the redaction stopped at the first "@" and at any "/", "?" or "#", so such a
    // password was shown in part ("user:***@ss@host") or whole (in the "not a well-formed URL" error).
    const cases: [string, string][] = [
      ['postgres://user:se@cret@db:5432/app', 'postgres://user:***@db:5432/app'],
      ['postgresql://user:se#cret@db/app', 'postgresql://user:***@db/app'],
      ['mysql://user:se/cret@db/app', 'mysql://user:***@db/app'],
      ['mysql://user:se?cret@db/app', 'mysql://user:***@db/app'],
      ['postgres://user:1234/cret@db/app', 'postgres://user:***@db/app'],
      ['postgres://user:secret@db/app?application_name=a@b', 'postgres://user:***@db/app?application_name=a@b'],
      ['postgres://user@db/app?application_name=a@b', 'postgres://user@db/app?application_name=a@b'],
    ]
    for (const [url, redacted] of cases) {
      expect(redactDatabaseUrl(url), url).toBe(redacted)
      let message = ''
      try {
        new DataFlow({ databaseUrl: url, registry: new NodeRegistry() }).toManifest()
      } catch (error) {
        message = (error as Error).message
      }
      expect(message, url).not.toMatch(/cret/)
    }
  })
})
