import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import type Database from 'better-sqlite3'
import { redactDatabaseUrl } from '../dataflow/database-url.js'
import { VERSION } from '../version.js'
import { sha256 } from '../sha256.js'
import type { FileHasher } from './hash.js'
import type { ResolvedDiscoveryOptions } from './options.js'
import { FILE_STATUS_KINDS } from '../protocol/discovery.js'
import { settledOutcomeSchema, type SettledOutcome } from './outcome.js'

/**
 * Rows are written in batches, one transaction each: at most this long after the first, or at
 * once when this many wait. (A commit per file cost the main thread 0.1 ms a file; a crash loses
 * at most the last batch, which the next run imports again.)
 */
const FLUSH_DELAY_MS = 100
const FLUSH_ROWS = 500

/** Bumped when the stored form changes; older databases are emptied. */
// 2: discovery validates each workflow against its node types (an `ok` stored before may be `invalid`).
const SCHEMA_VERSION = '2'
export const CACHE_FILE = 'discovery-cache.db'

/**
 * What an entry is keyed by besides its path, content hash and imports' hashes.
 * - `base`: nexflow's version, Node's version, the root, the manifest size limit, the
 *   tsconfig.json tsx compiles user files with (its path and content: `paths`, `jsx` or decorator
 *   settings change what a module does), the package.json nearest the root (its `type` decides
 *   whether a .ts or .js file under it is an ES module), the lockfiles nearest the root (see
 *   {@link LOCKFILES}: installing or upgrading a dependency changes what an import of it does;
 *   a package.json deeper in the tree and node_modules itself are not watched), and
 *   DATABASE_URL with its credentials masked, as a DataFlow created without a URL describes it.
 *   Any change invalidates every entry.
 * - `limits`: deadline, memory limit, isolation and stuck grace. Only failures they can cause
 *   (timeout, stuck, oom, exited, crashed) are bound to them: a file that timed out under 1 s is
 *   tried again under 10 s. A file imported fine is reused while its import time is within the
 *   deadline.
 */
export interface CacheKeys {
  base: string
  limits: string
}

/** Lockfiles of the package managers, by the name each writes at a project's root. */
export const LOCKFILES: readonly string[] = ['package-lock.json', 'npm-shrinkwrap.json', 'pnpm-lock.yaml', 'yarn.lock', 'bun.lock', 'bun.lockb']

/** The files besides the user's own modules that an entry depends on; absolute paths, found by the caller. */
export interface ProjectFiles {
  tsconfig?: string | undefined
  packageJson?: string | undefined
  /** Every lockfile in the folder nearest the root that holds one. */
  lockfiles?: readonly string[] | undefined
}

export function cacheKeys(options: ResolvedDiscoveryOptions, project: ProjectFiles): CacheKeys {
  const { root, maxManifestBytes, timeoutMs, maxMemoryMb, isolation, stuckGraceMs } = options
  const fileKey = (file: string | undefined) => (file === undefined ? null : { path: file, hash: hashOrNull(file) })
  // Masked: the manifest holds it masked too, and a hash of a password is not to be stored.
  const databaseUrl = process.env.DATABASE_URL
  const environment = { DATABASE_URL: databaseUrl === undefined ? null : redactDatabaseUrl(databaseUrl) }
  return {
    base: sha256(JSON.stringify({ schema: SCHEMA_VERSION, nexflow: VERSION, node: process.version, root, maxManifestBytes, compiler: fileKey(project.tsconfig), packageJson: fileKey(project.packageJson), lockfiles: (project.lockfiles ?? []).map(fileKey), environment })),
    limits: sha256(JSON.stringify({ timeoutMs, maxMemoryMb, isolation, stuckGraceMs })),
  }
}

function hashOrNull(file: string): string | null {
  try {
    return sha256(readFileSync(file))
  } catch {
    return null
  }
}

/** SQLite's word that the database itself is damaged or not a database (extended codes included), not that it is out of reach. */
function isCorrupt(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' && (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT' || code.startsWith('SQLITE_CORRUPT_'))
}

interface Row {
  path: string
  hash: string
  limits_key: string
  imports: string
  outcome: string
}

interface ImportHash {
  path: string
  hash: string
}

/**
 * The manifest cache: one SQLite database under `.nexflow/`, written by the main thread (our
 * code, never user code). An unchanged project re-imports nothing; a file that failed stays
 * quarantined, reported from here with `cached: true`, until it or one of its imports changes.
 */
export class ManifestCache {
  readonly #db: Database.Database
  readonly #keys: CacheKeys
  readonly #rows: Map<string, Row>
  readonly #upsert: Database.Statement
  #pending: Row[] = []
  #flushTimer: NodeJS.Timeout | undefined
  /** Problems met while writing; the run reports them as warnings. */
  readonly warnings: string[] = []

  private constructor(db: Database.Database, keys: CacheKeys) {
    this.#db = db
    this.#keys = keys
    const rows = db.prepare('SELECT path, hash, limits_key, imports, outcome FROM files WHERE base_key = ?').all(keys.base) as Row[]
    this.#rows = new Map(rows.map((row) => [row.path, row]))
    this.#upsert = db.prepare(
      `INSERT INTO files (path, base_key, limits_key, hash, imports, outcome, stored_at) VALUES (@path, @base_key, @limits_key, @hash, @imports, @outcome, @stored_at)
       ON CONFLICT(path) DO UPDATE SET base_key = excluded.base_key, limits_key = excluded.limits_key, hash = excluded.hash, imports = excluded.imports, outcome = excluded.outcome, stored_at = excluded.stored_at`,
    )
  }

  /**
   * Opens (or creates) the cache in `dir`. A corrupt database, or a file that is not one, is
   * replaced once. Any other failure (busy, locked, no permission, a folder where the file
   * belongs) is thrown and the database left alone: it may be another run's, in use or fine.
   */
  static async open(dir: string, keys: CacheKeys): Promise<ManifestCache> {
    // Loaded on first use: every module that imports nexflow to define a workflow (every
    // discovery worker among them) would otherwise load this native addon for nothing.
    const { default: Sqlite } = await import('better-sqlite3')
    mkdirSync(dir, { recursive: true })
    const file = join(dir, CACHE_FILE)
    try {
      return new ManifestCache(ManifestCache.#connect(Sqlite, file), keys)
    } catch (error) {
      if (!isCorrupt(error)) throw error
      for (const suffix of ['', '-wal', '-shm']) rmSync(file + suffix, { force: true })
      return new ManifestCache(ManifestCache.#connect(Sqlite, file), keys)
    }
  }

  static #connect(Sqlite: typeof Database, file: string): Database.Database {
    const db = new Sqlite(file)
    try {
      // Short busy timeout: this runs on the main thread, and the cache is only an optimisation.
      db.pragma('busy_timeout = 250')
      db.pragma('journal_mode = WAL')
      db.pragma('synchronous = NORMAL')
      db.exec(`CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, base_key TEXT NOT NULL, limits_key TEXT NOT NULL, hash TEXT NOT NULL, imports TEXT NOT NULL, outcome TEXT NOT NULL, stored_at INTEGER NOT NULL);`)
      const stored = db.prepare("SELECT value FROM meta WHERE key = 'schema'").get() as { value: string } | undefined
      if (stored?.value !== SCHEMA_VERSION) {
        db.exec('DELETE FROM files')
        db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema', ?)").run(SCHEMA_VERSION)
      }
      return db
    } catch (error) {
      db.close()
      throw error
    }
  }

  /** True if an outcome for `path` is stored (whether it still holds is for {@link lookup}). */
  has(path: string): boolean {
    return this.#rows.has(path)
  }

  /**
   * The stored outcome of `path`, if it still holds: same content hash, every import unchanged,
   * and (see {@link CacheKeys}) the same limits for a limit-bound failure, or an import time
   * within `timeoutMs` for a file that imported.
   */
  async lookup(path: string, hash: string, hasher: FileHasher, timeoutMs: number): Promise<SettledOutcome | undefined> {
    const row = this.#rows.get(path)
    if (row === undefined || row.hash !== hash) return undefined
    let outcome: SettledOutcome
    let imports: ImportHash[]
    try {
      imports = JSON.parse(row.imports) as ImportHash[]
      const parsed = settledOutcomeSchema.safeParse(JSON.parse(row.outcome))
      if (!parsed.success) return undefined
      outcome = parsed.data
    } catch {
      return undefined
    }
    if (outcome.kind === 'imported' && outcome.durationMs > timeoutMs) return undefined
    // A status that depends on the run's limits (deadline, memory, isolation, grace) is reused only under the same limits.
    if (outcome.kind === 'failed' && FILE_STATUS_KINDS[outcome.status] === 'limit' && row.limits_key !== this.#keys.limits) return undefined
    const current = await Promise.all(imports.map((entry) => hasher.hash(entry.path)))
    return imports.every((entry, index) => current[index] === entry.hash) ? outcome : undefined
  }

  /** Records a file's outcome; written in a batch shortly after (or on close). */
  store(path: string, hash: string, imports: ImportHash[], outcome: SettledOutcome): void {
    const row: Row = { path, hash, limits_key: this.#keys.limits, imports: JSON.stringify(imports), outcome: JSON.stringify(outcome) }
    this.#rows.set(path, row)
    this.#pending.push(row)
    if (this.#pending.length >= FLUSH_ROWS) return this.flush()
    if (this.#flushTimer !== undefined) return
    this.#flushTimer = setTimeout(() => this.flush(), FLUSH_DELAY_MS)
    this.#flushTimer.unref()
  }

  flush(): void {
    clearTimeout(this.#flushTimer)
    this.#flushTimer = undefined
    if (this.#pending.length === 0 || !this.#db.open) return
    const rows = this.#pending
    this.#pending = []
    try {
      const stored_at = Date.now()
      const base_key = this.#keys.base
      this.#db.transaction(() => {
        for (const { path, hash, limits_key, imports, outcome } of rows) this.#upsert.run({ path, base_key, limits_key, hash, imports, outcome, stored_at })
      })()
    } catch (error) {
      this.warnings.push(`the discovery cache could not be written (${(error as Error).message}); the next run imports those files again`)
    }
  }

  /**
   * Forgets files that no longer exist, whatever run stored them: deleted and renamed files
   * would otherwise stay in the database for good. `candidates` (this run's, which exist) are
   * not checked again. A file this run's patterns left out but still there is kept: another run
   * may want it.
   */
  prune(candidates: ReadonlySet<string>): void {
    if (!this.#db.open) return
    try {
      const paths = this.#db.prepare('SELECT path FROM files').pluck().all() as string[]
      const gone = paths.filter((path) => !candidates.has(path) && !existsSync(path))
      if (gone.length === 0) return
      const remove = this.#db.prepare('DELETE FROM files WHERE path = ?')
      this.#db.transaction(() => {
        for (const path of gone) remove.run(path)
      })()
      for (const path of gone) this.#rows.delete(path)
    } catch (error) {
      this.warnings.push(`the discovery cache could not be pruned (${(error as Error).message})`)
    }
  }

  close(): void {
    if (!this.#db.open) return
    this.flush()
    this.#db.close()
  }
}
