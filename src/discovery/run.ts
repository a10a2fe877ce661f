import { performance } from 'node:perf_hooks'
import { NexflowError, toNexflowError } from '../errors.js'
import { cacheKeys, LOCKFILES, ManifestCache } from './cache.js'
import { listCandidates, relativeToRoot } from './candidates.js'
import { ConflictTracker } from './conflicts.js'
import { DEFAULT_PATTERNS } from './defaults.js'
import { FileHasher } from './hash.js'
import { findNearest, findNearestOf, projectTsconfig } from './project-files.js'
import { resolveDiscoveryOptions, type DiscoveryOptions, type ResolvedDiscoveryOptions } from './options.js'
import { isRememberable, type SettledOutcome } from './outcome.js'
import type { IsolateFactory } from './pool/isolate.js'
import { DiscoveryPool, type PoolOptions } from './pool/pool.js'
import { resultFromOutcome, type FileResult } from './results.js'
import { ReplayStream } from './stream.js'

export interface DiscoveryReport {
  /** The real, absolute root. */
  root: string
  /** True only if every file is `ok` or `empty`. */
  ok: boolean
  durationMs: number
  /** The final result of every candidate, sorted by relative path. */
  files: FileResult[]
  /**
   * The workflows a server would serve, sorted: every name produced by exactly one export. A name
   * two exports produce (their files are `conflict`) is served by neither, so it is not listed.
   */
  workflows: string[]
  /**
   * No candidate file was found under the root (a wrong root or pattern, most often); a warning
   * says so. `ok` stays true: whether an empty project is a failure is the caller's call (the
   * CLI's `check` fails it unless `--allow-empty`).
   */
  noFiles: boolean
  /** Problems with discovery itself (no candidate files, an unwritable cache, abandoned threads); not with the files. */
  warnings: string[]
}

/**
 * A discovery in progress. Iterate it for each file's result as soon as it is known (a path is
 * reported again if a later file conflicts with it; the last report wins); await `report` for
 * the whole picture. Iterating is optional and may start at any time: every iterator replays
 * from the first result.
 */
export interface DiscoveryRun extends AsyncIterable<FileResult> {
  /** Resolves when every file is settled and every worker is stopped. Rejects with `DISCOVERY_ABORTED` if stopped first. */
  readonly report: Promise<DiscoveryReport>
  /**
   * Resolves once every worker the run started has really exited, after `report` settles. In
   * thread isolation a thread abandoned while stuck in native code exits only when its call
   * returns, which may be never: race this against a deadline.
   */
  readonly drained: Promise<void>
  /** Stops discovery if it is still running (killing its workers) and closes the cache. */
  close(): Promise<void>
}

/**
 * Discovers the workflows, DataFlow models and node types under a root without ever importing a
 * user module on the calling thread: each candidate file is imported in an isolated worker
 * (thread or child process) that reports a manifest. Throws `CONFIG_INVALID` at once for bad
 * options; everything else is reported per file.
 */
export function discover(options: DiscoveryOptions = {}, hooks: DiscoveryHooks = {}): DiscoveryRun {
  return new Discovery(resolveDiscoveryOptions(options), hooks)
}

/** How the server's development reloads reach into a run (not user options). */
export interface DiscoveryHooks {
  /** Starts the workers instead of the default: a {@link IsolateStandby}'s factory hands over its pre-booted worker. */
  isolateFactory?: IsolateFactory
}

/** What every discovery worker of a run is started with, given the run's tsconfig.json. */
export function poolInit(options: ResolvedDiscoveryOptions, tsconfig: string | undefined): PoolOptions['init'] {
  return { root: options.root, maxManifestBytes: options.maxManifestBytes, ...(tsconfig === undefined ? {} : { tsconfig }) }
}

/** Workflow names produced by exactly one export across every file, sorted. */
function uniqueWorkflowNames(files: readonly FileResult[]): string[] {
  const counts = new Map<string, number>()
  for (const file of files) for (const { name } of file.manifest?.workflows ?? []) counts.set(name, (counts.get(name) ?? 0) + 1)
  return [...counts].filter(([, count]) => count === 1).map(([name]) => name).sort()
}

/** Why a run found nothing to import, naming the root and the patterns. */
function noFilesWarning({ root, patterns }: ResolvedDiscoveryOptions): string {
  const matched = patterns.length === DEFAULT_PATTERNS.length && patterns.every((pattern, index) => pattern === DEFAULT_PATTERNS[index])
    ? 'the default patterns (workflows/**/*, src/workflows/**/*, app/workflows/**/*, **/*.workflow.*, ...)'
    : `the patterns ${patterns.map((pattern) => JSON.stringify(pattern)).join(', ')}`
  return `no candidate files under ${root}: no file matches ${matched} outside the ignores; check the root and the patterns`
}

class Discovery implements DiscoveryRun {
  readonly report: Promise<DiscoveryReport>
  readonly drained: Promise<void>
  readonly #options: ResolvedDiscoveryOptions
  readonly #hooks: DiscoveryHooks
  readonly #stream = new ReplayStream<FileResult>()
  readonly #stop = new AbortController()
  readonly #hasher = new FileHasher()
  readonly #conflicts = new ConflictTracker()
  /** Local imports hashed again after an import evaluated them (see #remember). */
  readonly #rehashed = new Set<string>()
  #pool: DiscoveryPool | undefined
  #cache: ManifestCache | undefined
  /** The tsconfig.json tsx compiles user files with; found once per run. */
  #tsconfig: string | undefined
  #settled = false

  constructor(options: ResolvedDiscoveryOptions, hooks: DiscoveryHooks) {
    this.#options = options
    this.#hooks = hooks
    const { signal } = options
    const onAbort = () => this.#abort('discovery was aborted')
    if (signal?.aborted === true) onAbort()
    else signal?.addEventListener('abort', onAbort, { once: true })
    this.report = this.#run().finally(() => {
      this.#settled = true
      signal?.removeEventListener('abort', onAbort)
    })
    // Whoever awaits `report` sees a rejection; nobody awaiting it must not crash the process.
    this.drained = this.report.then(
      () => this.#pool?.drained(),
      () => this.#pool?.drained(),
    )
  }

  [Symbol.asyncIterator](): AsyncIterator<FileResult> {
    return this.#stream[Symbol.asyncIterator]()
  }

  async close(): Promise<void> {
    this.#abort('discovery was closed before it finished')
    await this.report.catch(() => {})
  }

  #abort(message: string): void {
    if (this.#settled || this.#stop.signal.aborted) return
    this.#stop.abort(new NexflowError('DISCOVERY_ABORTED', message, { details: { root: this.#options.root } }))
    void this.#pool?.close()
  }

  #throwIfAborted(): void {
    if (this.#stop.signal.aborted) throw this.#stop.signal.reason
  }

  async #run(): Promise<DiscoveryReport> {
    const started = performance.now()
    const options = this.#options
    const warnings: string[] = []
    try {
      const candidates = await listCandidates(options)
      this.#throwIfAborted()
      if (candidates.length === 0) warnings.push(noFilesWarning(options))
      // tsx compiles user files with the nearest tsconfig.json.
      this.#tsconfig = projectTsconfig(options.root)
      if (options.cache) {
        try {
          const project = { tsconfig: this.#tsconfig, packageJson: findNearest(options.root, 'package.json'), lockfiles: findNearestOf(options.root, LOCKFILES) }
          this.#cache = await ManifestCache.open(options.cacheDir, cacheKeys(options, project))
        } catch (error) {
          const { code, message } = error as { code?: unknown; message: string }
          const why = typeof code === 'string' && !message.includes(code) ? `${code}: ${message}` : message
          warnings.push(`the discovery cache in ${options.cacheDir} cannot be opened (${why}); it was left as it is, and every file is imported`)
        }
      }
      this.#throwIfAborted()
      // Files the cache cannot answer for will need workers: they boot while every candidate is
      // hashed and looked up, instead of after the first miss.
      const uncached = this.#cache === undefined ? candidates.length : candidates.filter((path) => !this.#cache?.has(path)).length
      if (uncached > 0) this.#poolFor().warm(uncached)
      await Promise.all(candidates.map((path) => this.#discoverFile(path)))
      this.#throwIfAborted()
      this.#cache?.prune(new Set(candidates))
      const files = this.#conflicts.results()
      if (this.#cache !== undefined) warnings.push(...this.#cache.warnings)
      const abandoned = this.#pool?.stats.abandoned ?? 0
      if (abandoned > 0 && options.isolation === 'thread') {
        warnings.push(`${abandoned} worker thread(s) stuck in native code were abandoned; this process cannot exit normally until their calls return (use isolation: 'process' to contain such files)`)
      }
      this.#stream.end()
      return {
        root: options.root,
        ok: files.every((file) => file.status === 'ok' || file.status === 'empty'),
        durationMs: Math.round(performance.now() - started),
        files,
        workflows: uniqueWorkflowNames(files),
        noFiles: candidates.length === 0,
        warnings,
      }
    } catch (error) {
      const failure = this.#stop.signal.aborted ? (this.#stop.signal.reason as NexflowError) : toNexflowError(error)
      this.#stream.fail(failure)
      throw failure
    } finally {
      await this.#pool?.close()
      this.#cache?.close()
    }
  }

  #emit(result: FileResult): void {
    if (this.#stop.signal.aborted) return
    for (const reported of this.#conflicts.add(result)) this.#stream.push(reported)
  }

  async #discoverFile(path: string): Promise<void> {
    const { root, timeoutMs } = this.#options
    // Without a cache the content hash is of no use here (the manifest carries the worker's).
    if (this.#cache === undefined) return this.#importFile(path, undefined)
    const hash = await this.#hasher.hash(path)
    if (this.#stop.signal.aborted) return
    if (hash === undefined) {
      const message = `${relativeToRoot(root, path)} cannot be read`
      return this.#emit(resultFromOutcome(root, path, { kind: 'failed', status: 'error', error: { name: 'Error', message }, durationMs: 0, imports: [] }, false))
    }
    const cached = await this.#cache.lookup(path, hash, this.#hasher, timeoutMs)
    if (cached !== undefined) return this.#emit(resultFromOutcome(root, path, cached, true))
    return this.#importFile(path, hash)
  }

  /** Imports `path` in a worker; `hash` is its content hash taken just before, when there is a cache to fill. */
  async #importFile(path: string, hash: string | undefined): Promise<void> {
    if (this.#stop.signal.aborted) return
    const outcome = await this.#poolFor().run(path)
    if (outcome.kind === 'cancelled' || this.#stop.signal.aborted) return
    this.#emit(resultFromOutcome(this.#options.root, path, outcome, false))
    if (hash !== undefined) await this.#remember(path, hash, outcome)
  }

  /**
   * Stores an outcome, keyed by the content hashed before the import: never a manifest for
   * content other than the content imported. The worker hashes what it evaluated; when a file (or
   * one of its local imports) changed while it was being imported, the hashes disagree and
   * nothing is stored, so the next run imports it again.
   */
  async #remember(path: string, hash: string, outcome: SettledOutcome): Promise<void> {
    if (this.#cache === undefined || !isRememberable(outcome)) return
    if (outcome.kind === 'imported') {
      if (outcome.manifest.hash !== hash) return
      for (const file of outcome.manifest.imports) {
        // Read again once, after it was first evaluated: the memo may hold a hash taken before.
        if (!this.#rehashed.has(file.path)) {
          this.#rehashed.add(file.path)
          this.#hasher.forget(file.path)
        }
        if ((await this.#hasher.hash(file.path)) !== file.hash) return
      }
      return this.#cache.store(path, hash, outcome.manifest.imports, outcome)
    }
    const imports = await Promise.all(outcome.imports.map(async (file) => ({ path: file, hash: (await this.#hasher.hash(file)) ?? '' })))
    this.#cache.store(path, hash, imports, outcome)
  }

  #poolFor(): DiscoveryPool {
    if (this.#pool !== undefined) return this.#pool
    const { isolation, concurrency, timeoutMs, stuckGraceMs, maxMemoryMb } = this.#options
    const { isolateFactory } = this.#hooks
    this.#pool = new DiscoveryPool({
      isolation,
      concurrency,
      timeoutMs,
      stuckGraceMs,
      maxMemoryMb,
      init: poolInit(this.#options, this.#tsconfig),
      ...(isolateFactory === undefined ? {} : { factory: isolateFactory }),
    })
    return this.#pool
  }
}
