import { isAbsolute, join, resolve } from 'node:path'
import { NexflowError } from '../errors.js'
import { IDENTIFIER } from './naming.js'

/** Where a DataFlow's data lives, parsed once from its `databaseUrl`. */
export type DatabaseTarget =
  | {
      dialect: 'sqlite'
      /** An absolute file path, or `:memory:` (one private database per connection, so per thread). */
      path: string
      /** The URL as given (SQLite URLs hold no credentials). */
      url: string
    }
  | {
      dialect: 'postgres'
      /** What `pg` connects with: the URL without our own `schema` parameter. */
      connectionString: string
      /** `?schema=name`: tables live in this schema (it becomes the `search_path`; migrations create it). */
      schema: string | undefined
      url: string
    }
  | {
      dialect: 'mysql'
      uri: string
      database: string
      url: string
    }

/** Every form {@link parseDatabaseUrl} accepts, quoted in its errors. */
export const ACCEPTED_DATABASE_URLS = [
  'sqlite::memory:',
  'sqlite:./relative/file.db',
  'sqlite:///absolute/file.db',
  'a bare path ending in .db, .sqlite or .sqlite3',
  'postgres://user:password@host:5432/database (or postgresql://, optional ?schema=name)',
  'mysql://user:password@host:3306/database (or mariadb://)',
].join('; ')

function invalid(url: string, problem: string): NexflowError {
  return new NexflowError('DATABASE_URL_INVALID', `databaseUrl ${JSON.stringify(redactDatabaseUrl(url))} ${problem}. Accepted forms: ${ACCEPTED_DATABASE_URLS}`, {
    details: { databaseUrl: redactDatabaseUrl(url) },
  })
}

/**
 * The embedded database used when neither `databaseUrl` nor `DATABASE_URL` is set:
 * `<cwd>/.nexflow/dataflow.db`. "The app's directory" is the working directory the app was started
 * in, not the directory of some module: discovery imports user files from worker threads and
 * tools such as tsx rewrite `process.argv[1]`, while every thread of one app shares its cwd.
 * `.nexflow/` is already git-ignored.
 */
export function defaultSqlitePath(cwd: string): string {
  return join(cwd, '.nexflow', 'dataflow.db')
}

/**
 * Parses a database URL. Relative SQLite paths resolve against `cwd`. Source-system URLs with a
 * driver suffix (`postgresql+asyncpg://`, `mysql+pymysql://`, `sqlite+aiosqlite:///`) are accepted
 * and the suffix ignored, so ported configuration keeps working.
 */
export function parseDatabaseUrl(input: string, cwd: string = process.cwd()): DatabaseTarget {
  const url = input.trim()
  if (url === '') throw invalid(input, 'is empty')
  const scheme = /^([a-zA-Z][a-zA-Z0-9]*)(\+[a-zA-Z0-9_]+)?:/.exec(url)
  // A bare file path (possibly a Windows drive letter, which also looks like a scheme).
  if (scheme === null || /^[a-zA-Z]:[\\/]/.test(url)) {
    if (/\.(db|sqlite3?)$/i.test(url)) return { dialect: 'sqlite', path: resolve(cwd, url), url }
    if (url === ':memory:') return { dialect: 'sqlite', path: ':memory:', url }
    throw invalid(input, 'has no scheme and is not a path ending in .db, .sqlite or .sqlite3')
  }
  const name = (scheme[1] as string).toLowerCase()
  const rest = url.slice(scheme[0].length)
  switch (name) {
    case 'sqlite':
      return parseSqlite(input, rest, cwd)
    case 'postgres':
    case 'postgresql':
      return parsePostgres(input, `postgresql:${rest}`)
    case 'mysql':
    case 'mariadb':
      return parseMysql(input, `mysql:${rest}`)
    default:
      throw invalid(input, `uses the unknown scheme "${name}:"`)
  }
}

function parseSqlite(input: string, rest: string, cwd: string): DatabaseTarget {
  if (rest === ':memory:' || rest === '//:memory:' || rest === '///:memory:') return { dialect: 'sqlite', path: ':memory:', url: input }
  // sqlite:///abs/file.db -> /abs/file.db; sqlite://rel/file.db and sqlite:rel/file.db -> relative.
  let path = rest.startsWith('//') ? rest.slice(2) : rest
  const query = path.indexOf('?')
  if (query !== -1) path = path.slice(0, query)
  if (path === '' || path === '/') throw invalid(input, 'names no SQLite file')
  path = decodePath(input, path)
  return { dialect: 'sqlite', path: isAbsolute(path) ? path : resolve(cwd, path), url: input }
}

function decodePath(input: string, path: string): string {
  try {
    return decodeURIComponent(path)
  } catch {
    throw invalid(input, 'has a malformed %-escape in its path')
  }
}

function parseUrl(input: string, normalized: string): URL {
  try {
    return new URL(normalized)
  } catch {
    throw invalid(input, 'is not a well-formed URL')
  }
}

function parsePostgres(input: string, normalized: string): DatabaseTarget {
  const parsed = parseUrl(input, normalized)
  if (parsed.hostname === '' && !parsed.searchParams.has('host')) throw invalid(input, 'names no host')
  const schema = parsed.searchParams.get('schema') ?? undefined
  if (schema !== undefined && !IDENTIFIER.test(schema)) throw invalid(input, `has schema "${schema}", which is not a plain identifier`)
  parsed.searchParams.delete('schema')
  return { dialect: 'postgres', connectionString: parsed.toString(), schema, url: input }
}

function parseMysql(input: string, normalized: string): DatabaseTarget {
  const parsed = parseUrl(input, normalized)
  if (parsed.hostname === '') throw invalid(input, 'names no host')
  const database = decodePath(input, parsed.pathname.replace(/^\//, ''))
  if (database === '') throw invalid(input, 'names no database (mysql://user@host:3306/database)')
  return { dialect: 'mysql', uri: parsed.toString(), database, url: input }
}

/** `scheme://user:password@`, the password ending at the authority's last `@` (as URL parsers read it). */
const USERINFO = /^([a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?#:@]*):[^/?#]*@/
/** The same, for a password holding an unescaped `/`, `?` or `#`: everything up to the last `@`. */
const MALFORMED_USERINFO = /^([a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?#:@]*):.*@/

/**
 * The URL with any password replaced by `***`: what manifests, logs and errors show. Works for URLs
 * that `new URL` rejects too: a password with an unescaped `@`, `/`, `?` or `#` is what makes a
 * URL malformed, and its error must not show it. When in doubt it hides more: `host:port/...@...`
 * without credentials loses its host.
 */
export function redactDatabaseUrl(url: string): string {
  const redacted = USERINFO.test(url) ? url.replace(USERINFO, '$1:***@') : url.replace(MALFORMED_USERINFO, '$1:***@')
  return redacted.replace(/([?&](?:password|pass|pwd)=)[^&#]*/gi, '$1***')
}
