import { randomUUID } from 'node:crypto'
import { setMaxListeners } from 'node:events'
import type { ServerResponse } from 'node:http'
import { relative } from 'node:path'
import { performance } from 'node:perf_hooks'
import type { serve as Serve, ServerType } from '@hono/node-server'
import { closestName } from '../closest-name.js'
import { buildCheckReport, toCheckJson, underRoot } from '../discovery/report.js'
import { discover, projectTsconfig, type DiscoveryReport, type DiscoveryRun, type FileResult } from '../discovery/index.js'
import { isolateFactory } from '../discovery/pool/pool.js'
import { IsolateStandby } from '../discovery/pool/standby.js'
import { NexflowError, serializeError, toNexflowError } from '../errors.js'
import { isolatedWorkerKind, noteIsolationWarning } from '../protocol/isolation.js'
import { WorkflowBuilder } from '../workflow/builder.js'
import { validateCallerInputs } from '../workflow/caller-inputs.js'
import { failedRunError } from '../workflow/failed-run.js'
import { LocalRuntime } from '../workflow/runtime.js'
import { Workflow } from '../workflow/workflow.js'
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import type { ProjectWatcher } from './dev/watcher.js'
import type { ExecutionPool } from './execution-pool.js'
import type { ProgressChannel } from './progress-channel.js'
import type { WarmReply } from '../protocol/execution-messages.js'
import { Durability } from './durability/durability.js'
import { RunsWithAsync } from './runs/with-async-runs.js'
import type { ServerEvent } from './events.js'
import { Generations } from './generations.js'
import { discoveryRunning, type HealthJson } from './health.js'
import type { HttpServices, RunAnswer, RunContext } from './http/app.js'
import type { ServerMiddleware } from './http/protection.js'
import { failedRunCode } from './http/errors.js'
import type { McpServices } from './mcp/mcp-server.js'
import type { McpSessions } from './mcp/mcp-sessions.js'
import type { NexusMetrics, RunOutcome, ServerSnapshot } from './metrics.js'
import { resolveNexusOptions, type NexusOptions, type ResolvedNexusOptions } from './options.js'
import { ActivityLog } from './request-log.js'
import { listenError, serverUrl, type StartupListener } from './startup-listener.js'
import { poolPlan } from './pool-plan.js'
import { RecentRuns, type RunRecord, type RunSource } from './runs/recent-runs.js'
import { WorkflowTable, type ServedWorkflow } from './workflow-table.js'

/** How `start()` runs the server. */
export interface StartOptions {
  /** Listen for HTTP (default true). `false` runs discovery and the pool only, for another transport (`nexflow mcp` on stdio). */
  http?: boolean
  /**
   * A port already listening, that answered `/health` while this server loaded (`nexflow start`
   * opens one before it loads anything; see startup-listener.ts): the API is served on it instead
   * of listening on `apiPort`, and the requests it held are served now.
   */
  listener?: StartupListener
}

/** Where the server is in its life; each step happens once. */
export type NexusState = 'created' | 'starting' | 'listening' | 'closing' | 'closed'

/** Watcher events of one burst (an editor's save, a formatter) become one reload this long after the last. */
const RELOAD_DEBOUNCE_MS = 60

/** A thread stuck in native code does not exit; the pool's close waits this long for it. */
const POOL_EXIT_GRACE_MS = 2000
/** After a timed-out run's worker ignores `terminate()` this long, it is abandoned. */
const RUN_STUCK_GRACE_MS = 1000
/** At close, how long requests still being answered have before their connections are cut (an open event stream takes all of it). */
const REQUEST_GRACE_MS = 1000

/** How a run that threw ended, for its metrics and log line. */
function outcomeOf(error: NexflowError): RunOutcome {
  switch (error.code) {
    case 'RUN_TIMEOUT':
    case 'WORKFLOW_TIMEOUT':
      return 'timeout'
    case 'SERVER_CLOSING':
    case 'WORKFLOW_ABORTED':
    case 'RUN_CANCELLED':
      return 'cancelled'
    case 'RUN_WORKER_EXITED':
    case 'RUN_OUT_OF_MEMORY':
      return 'crashed'
    default:
      return 'error'
  }
}

function fileEvent(file: FileResult): ServerEvent {
  return {
    type: 'file',
    path: file.relativePath,
    status: file.status,
    cached: file.cached,
    workflows: file.workflows,
    ...(file.error === undefined ? {} : { error: file.error.message }),
    ...(file.startMs === undefined ? {} : { startMs: file.startMs, endMs: file.endMs }),
  }
}

/**
 * How long the execution workers may take to import `files`: the per-file deadline, plus twice
 * what discovery measured importing them one after another (a cached file keeps the time it took
 * when it was imported). Not the discovery run's own duration: with the manifest cache it
 * imported few files or none, and a warm-up of 1000 files was stopped half-way, leaving the
 * workers to import each file on its first run.
 */
function warmDeadlineMs(timeoutMs: number, files: readonly string[], results: ReadonlyMap<string, FileResult>): number {
  let importMs = 0
  for (const file of files) importMs += results.get(file)?.durationMs ?? 0
  return timeoutMs + 2 * importMs
}

/** The node a failed run names, if any (a `WORKFLOW_EXECUTION_FAILED`'s `details.nodeId`). */
function failedNode(details: Record<string, unknown> | undefined): string | undefined {
  return typeof details?.nodeId === 'string' ? details.nodeId : undefined
}

/** A run's error as `/runs` lists it. */
function runError(error: { code?: string | undefined; message: string; details?: Record<string, unknown> | undefined }): NonNullable<RunRecord['error']> {
  const node = failedNode(error.details)
  return { ...(error.code === undefined ? {} : { code: error.code }), message: error.message, ...(node === undefined ? {} : { node }) }
}

/**
 * The server: every workflow over HTTP. It listens first, then discovers the project's workflow
 * files in isolated workers and serves each workflow as soon as its file is known; runs execute
 * in a pool of worker threads with a deadline. Its own thread never imports a user file.
 */
export class Nexus {
  readonly options: ResolvedNexusOptions
  readonly #table = new WorkflowTable()
  readonly #inFlight = new Set<Promise<unknown>>()
  /** HTTP requests not yet answered (runs or not), and who waits for there to be none. */
  #openRequests = 0
  #requestsAnswered: (() => void)[] = []
  /** Aborted when shutdown stops waiting for in-flight runs. */
  readonly #shutdown = new AbortController()
  readonly #startedAt = Date.now()
  #state: NexusState = 'created'
  #server: ServerType | undefined
  #mcpServer: ServerType | undefined
  #mcp: McpSessions | undefined
  #generations: Generations | undefined
  /** The pool and MCP sessions, loaded once the port listens. */
  #services: Promise<Generations> | undefined
  #watcher: ProjectWatcher | undefined
  /** In development, the discovery worker the next reload starts with (booted ahead: see IsolateStandby). */
  #standby: IsolateStandby | undefined
  #reloading: Promise<void> | undefined
  #reloadRun: DiscoveryRun | undefined
  /** When the reload running now began: its files' times count from here. */
  #reloadStarted = 0
  #reloadAgain: string[] | undefined
  /** Registered workflows running on this thread that may move to the pool (see {@link register}). */
  readonly #poolCandidates = new Map<string, { served: ServedWorkflow; modules: string[]; types: string[] }>()
  readonly #listeners = new Set<(event: ServerEvent) => void>()
  #discovery: DiscoveryRun | undefined
  #discoveryState: 'off' | 'running' | 'finished' | 'failed' = 'off'
  #discoveryError: NexflowError | undefined
  #discoveryStarted = 0
  readonly #files = new Map<string, FileResult>()
  /** Files a worker is importing now (path -> startMs), for `/discovery` while discovery or a reload runs. */
  readonly #importing = new Map<string, { relativePath: string; startMs: number }>()
  /** Recent finished runs, for `GET /runs` and the dashboard. */
  readonly #runs = new RecentRuns()
  /** What `GET /runs` reads: the in-memory runs unless a durable store is plugged in. */
  /** `GET /runs`; see {@link setRunSource}. Set in the constructor, once durability exists. */
  #runSource: RunSource
  #report: DiscoveryReport | undefined
  #warm: 'pending' | 'warming' | 'warm' = 'pending'
  #ready: Promise<DiscoveryReport | undefined> | undefined
  #closing: Promise<void> | undefined
  /** Request and run log lines; `undefined` when both are off. */
  readonly #activity: ActivityLog | undefined
  #metrics: NexusMetrics | undefined
  #middleware: ServerMiddleware | undefined
  /** Async runs and Idempotency-Key records; opened at start (or on first use), closed with the server. */
  readonly #durability: Durability

  /** Validates the options at once: an unknown or invalid one throws `CONFIG_INVALID` naming it. */
  constructor(options: NexusOptions = {}) {
    this.options = resolveNexusOptions(options)
    const { log } = this.options
    this.#activity = log.requests || log.runs ? new ActivityLog(this.options.logger, log.format) : undefined
    // Every run in flight listens to it: hundreds at once are expected, not a leak.
    setMaxListeners(0, this.#shutdown.signal)
    const { runTimeoutMs, queueTimeoutMs } = this.options
    this.#durability = new Durability(this.options.durability, { runTimeoutMs, queueTimeoutMs }, {
      ready: () => this.ready(),
      workflow: (name) => this.#table.get(name),
      execute: (workflow, inputs, context) => this.#execute(workflow, inputs, context),
      logger: this.options.logger,
    })
    this.#runSource = new RunsWithAsync(this.#runs, (limit) => this.#durability.recentRuns(limit))
  }

  get state(): NexusState {
    return this.#state
  }

  /** The API's base URL once listening (`http://127.0.0.1:8000`). */
  get url(): string | undefined {
    return this.#server === undefined ? undefined : serverUrl(this.#server, this.options.host)
  }

  /** The discovery in progress or done (iterate it for each file as it arrives); `undefined` before `start()` or with discovery off. */
  get discovery(): DiscoveryRun | undefined {
    return this.#discovery
  }

  /**
   * Serves a workflow under `name` (1 to 128 of `[A-Za-z0-9_.-]`). A name already registered or
   * discovered is a `WORKFLOW_NAME_CONFLICT`, never a silent override. A workflow made only of
   * built-in nodes runs in the worker pool. One with other node types (a DataFlow's, `defineNode`
   * ones) moves to the pool once a worker has imported the files that define them and has every
   * type (checked while the workers warm up, before `/ready`); until then, or when the types
   * cannot be had there (defined in the app's entry file, an in-memory database), it runs on
   * this thread, and a warning names the types and why.
   */
  register(name: string, workflow: Workflow | WorkflowBuilder): void {
    const built = WorkflowBuilder.isBuilder(workflow) ? workflow.build({ name }) : workflow
    if (!Workflow.isWorkflow(built)) throw new NexflowError('WORKFLOW_INVALID', `register("${name}", ...): expected a Workflow or a WorkflowBuilder`, { details: { name } })
    const served = this.#table.register(name, built)
    if (served.local === undefined) return
    const plan = poolPlan(served.json)
    if ('blocked' in plan) {
      this.#warnMainThread(name, plan.blocked.map(({ type, reason }) => `${type}: ${reason}`).join('; '))
      return
    }
    // It runs here until a worker has shown it can import the files and then has every type.
    this.#poolCandidates.set(name, { served, ...plan })
    if (this.#warm === 'warm') void this.#tryPool()
  }

  #warnMainThread(name: string, why: string): void {
    this.options.logger.warn(`nexflow: workflow "${name}" runs on the server's main thread, where a slow node delays every request: a worker cannot have its node types: ${why}. Put it in a discovered workflow file, or its node types in a module of their own, to run it in the pool`)
  }

  /** Moves the registered workflows waiting for it to the pool, each once a worker has imported its modules and has its node types. */
  async #tryPool(): Promise<void> {
    const candidates = [...this.#poolCandidates.values()]
    this.#poolCandidates.clear()
    const pool = this.#generations?.current.pool
    if (candidates.length === 0 || pool === undefined) return
    const modules = [...new Set(candidates.flatMap((candidate) => candidate.modules))]
    const types = [...new Set(candidates.flatMap((candidate) => candidate.types))]
    let replies: WarmReply[]
    try {
      replies = await pool.warm(modules, this.options.runTimeoutMs, types)
    } catch {
      return // The pool closed: the server is shutting down.
    }
    const failures = replies.flatMap((reply) => reply.failures)
    const missing = new Set(replies.flatMap((reply) => reply.missingTypes ?? []))
    for (const { served, modules: needed, types: wanted } of candidates) {
      const failure = failures.find((f) => f.file === '(all)' || needed.includes(f.file))
      const lacking = wanted.filter((type) => missing.has(type))
      if (failure === undefined && lacking.length === 0) {
        this.#table.moveToPool(served, needed)
        continue
      }
      if (this.#table.get(served.name) !== served) continue
      this.#warnMainThread(
        served.name,
        failure !== undefined
          ? `${wanted.join(', ')}: an execution worker could not import ${failure.file} (${failure.error.message.split('\n')[0] ?? ''})`
          : `${lacking.join(', ')}: still missing in a worker after it imported ${needed.join(', ')}`,
      )
    }
  }

  /** Stops serving a registered workflow; false if there was none by that name. */
  deregister(name: string): boolean {
    this.#poolCandidates.delete(name)
    return this.#table.deregister(name)
  }

  /**
   * Listens, then starts discovery and the execution pool in the background. Resolves once the
   * port listens, before discovery ends (see {@link ready}). Inside one of nexflow's isolated
   * workers (a file being discovered, an execution worker) it does not listen: it resolves and
   * says so in the file's discovery warnings.
   */
  async start(options: StartOptions = {}): Promise<void> {
    const isolated = isolatedWorkerKind()
    if (isolated !== undefined) {
      noteIsolationWarning(`Nexus.start() was called while the file was imported in ${isolated === 'discovery' ? 'a discovery' : 'an execution'} worker; it did not listen (the server that discovered this file serves its workflows)`)
      this.#state = 'listening'
      this.#ready = Promise.resolve(undefined)
      return
    }
    if (this.#state !== 'created') throw new NexflowError('CONFIG_INVALID', `Nexus.start() was already called (the server is ${this.#state})`)
    this.#state = 'starting'
    // Running from here, as the startup listener already says: the requests it held are answered
    // (a 404's hint says discovery is running) before #discoverAndWarm begins.
    if (this.options.discovery !== undefined) {
      this.#discoveryState = 'running'
      this.#discoveryStarted = performance.now()
    }
    // Listening comes first: the pool (piscina) and MCP (its SDK) load after the port is open.
    if (options.http !== false) {
      try {
        const [{ serve, getRequestListener }, { createHttpApp, createMcpOnlyApp }, { createServerMiddleware }, metrics] = await Promise.all([
          import('@hono/node-server'),
          import('./http/app.js'),
          import('./http/protection.js'),
          this.options.metrics ? import('./metrics.js') : undefined,
        ])
        this.#metrics = metrics === undefined ? undefined : new metrics.NexusMetrics(() => this.#snapshot())
        const { rateLimit } = this.options
        const hits = rateLimit === undefined || rateLimit.shared === false ? undefined : this.#durability.sharedHits(rateLimit.windowMs)
        this.#middleware = await createServerMiddleware(this.options, {
          metrics: this.#metrics,
          log: this.options.log.requests ? this.#activity : undefined,
          development: this.#development,
          sharedHits: hits === undefined ? undefined : { hits, warn: (message) => this.options.logger.warn(message) },
        })
        const services = this.#httpServices()
        const { listener } = options
        if (listener === undefined) this.#server = await this.#listen(serve, createHttpApp(services).fetch, this.options.apiPort, 'apiPort', '--port')
        else {
          this.#server = listener.server
          const listen = getRequestListener(createHttpApp(services).fetch, { hostname: this.options.host })
          // The requests the startup listener held while the server loaded come through here too.
          listener.serve((request, response) => {
            this.#countRequest(response)
            return listen(request, response)
          })
        }
        if (this.options.mcpPort !== undefined) this.#mcpServer = await this.#listen(serve, createMcpOnlyApp(services).fetch, this.options.mcpPort, 'mcpPort', 'mcpPort')
      } catch (error) {
        this.#state = 'closed'
        this.#server?.close()
        throw error
      }
    }
    this.#state = 'listening'
    // Runs a previous life left behind are recovered, and other instances' runs taken, once listening.
    if (options.http !== false) this.#durability.openIfNeeded()?.catch((error: unknown) => this.options.logger.warn(`nexflow: durability: ${(error as Error).message}`))
    // start() resolves here: the pool (piscina) and MCP (its SDK) load after the port answers,
    // and a run or an MCP request that comes first waits for them.
    this.#services = this.#startServices(options.http === false)
    this.#ready = this.#discoverAndWarm(this.#services)
    // Whoever awaits ready() sees a failure; nobody awaiting it must not crash the process.
    this.#ready.catch(() => {})
  }

  async #startServices(stdoutToStderr: boolean): Promise<Generations> {
    const [{ ExecutionPool }, { McpSessions }] = await Promise.all([import('./execution-pool.js'), import('./mcp/mcp-sessions.js')])
    this.#mcp = new McpSessions(this.#mcpServices())
    this.#table.onChange(() => this.#mcp?.notifyToolsChanged())
    const tsconfig = projectTsconfig(this.options.root)
    this.#generations = new Generations(
      () => new ExecutionPool({ workers: this.options.workers, maxMemoryMb: this.options.maxMemoryMb, stuckGraceMs: RUN_STUCK_GRACE_MS, tsconfig, stdoutToStderr }),
      { inUse: () => this.#table.generationsInUse(), drainTimeoutMs: this.options.shutdownTimeoutMs, exitGraceMs: POOL_EXIT_GRACE_MS, keepSpare: this.options.dev },
    )
    return this.#generations
  }

  async #listen(serve: typeof Serve, fetch: (request: Request) => Response | Promise<Response>, port: number, option: string, flag: string): Promise<ServerType> {
    const { host } = this.options
    return new Promise<ServerType>((resolve, reject) => {
      const server = serve({ fetch, port, hostname: host }, () => resolve(server))
      server.on('request', (_request: unknown, response: ServerResponse) => this.#countRequest(response))
      server.once('error', (error: NodeJS.ErrnoException) => reject(listenError(error, port, host, option, flag)))
    })
  }

  #countRequest(response: ServerResponse): void {
    this.#openRequests++
    response.once('close', () => {
      if (--this.#openRequests === 0) for (const wake of this.#requestsAnswered.splice(0)) wake()
    })
  }

  /** Resolves once every request has been answered, or after `ms` (an open event stream never is). */
  #answered(ms: number): Promise<void> {
    if (this.#openRequests === 0) return Promise.resolve()
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms)
      this.#requestsAnswered.push(() => {
        clearTimeout(timer)
        resolve()
      })
    })
  }

  /**
   * A new MCP server (the official SDK's `McpServer`) over this server's workflows, to connect to
   * a transport of your own (`nexflow mcp` connects one to stdio). Needs `start()` first.
   */
  createMcpServer(): Promise<McpServer> {
    return import('./mcp/mcp-server.js').then(({ createMcpServer, toolListNotifier }) => {
      const server = createMcpServer(this.#mcpServices())
      const notifier = toolListNotifier(server)
      const unsubscribe = this.#table.onChange(() => notifier.notify())
      server.server.onclose = () => {
        unsubscribe()
        notifier.stop()
      }
      return server
    })
  }

  /** Resolves once discovery has finished and the execution workers have imported the served files: the report (undefined with discovery off). */
  ready(): Promise<DiscoveryReport | undefined> {
    if (this.#ready === undefined) return Promise.reject(new NexflowError('CONFIG_INVALID', 'Nexus.ready() needs start() first'))
    return this.#ready
  }

  /** Discovery starts at once; its files are served once the pool that will run them exists. */
  async #discoverAndWarm(services: Promise<Generations>): Promise<DiscoveryReport | undefined> {
    const { discovery } = this.options
    let report: DiscoveryReport | undefined
    if (discovery !== undefined) {
      const { signal: _signal, patterns, ignore, ...rest } = discovery
      const run = discover({ ...rest, patterns: [...patterns], ignore: [...ignore] })
      this.#discovery = run
      this.#watchStarts(run)
      try {
        const generation = (await services).current.id
        for await (const file of run) {
          this.#importing.delete(file.path)
          this.#files.set(file.path, file)
          this.#table.applyFile(file, { generation })
          this.#emit(fileEvent(file))
        }
        report = await run.report
        this.#report = report
        this.#discoveryState = 'finished'
      } catch (error) {
        this.#discoveryState = 'failed'
        this.#discoveryError = toNexflowError(error)
        if (this.#state === 'closing' || this.#state === 'closed') return undefined
        throw this.#discoveryError
      }
    }
    await services
    this.#warm = 'warming'
    const files = this.#table.servedFiles()
    const deadline = warmDeadlineMs(discovery?.timeoutMs ?? this.options.runTimeoutMs, files, this.#files)
    await Promise.all([this.#warmPool(this.#generations?.current.pool, files, deadline), this.#tryPool()])
    this.#warm = 'warm'
    // Registered while the workers were warming: not in the batch above.
    if (this.#poolCandidates.size > 0) void this.#tryPool()
    if (this.options.dev && discovery !== undefined && this.#state === 'listening') {
      // Loaded for development only: with nexflow, chokidar would load in every worker thread (about 23 ms each).
      const { watchProject } = await import('./dev/watcher.js')
      if (this.#state !== 'listening') return report
      this.#watcher = watchProject(discovery.root, RELOAD_DEBOUNCE_MS, (paths) => this.#scheduleReload(paths))
      await this.#watcher.ready
      this.#generations?.bootSpare()
      this.#bootStandby()
    }
    return report
  }

  async #warmPool(pool: ExecutionPool | undefined, files: string[], deadline: number): Promise<void> {
    const replies = await pool?.warm(files, deadline)
    // Shutting down stops the workers mid-import: not something to warn about.
    if (this.#state !== 'listening') return
    for (const failure of (replies ?? []).flatMap((reply) => reply.failures)) {
      this.options.logger.warn(`nexflow: an execution worker could not import ${failure.file} ahead of time (${failure.error.message}); its workflows are imported on their first run`)
    }
  }

  /** Notes each file a discovery run begins importing, and tells listeners (`file-started`), until the run settles. */
  #watchStarts(run: DiscoveryRun): void {
    const stop = run.onFileStarted((file) => {
      this.#importing.set(file.path, { relativePath: file.relativePath, startMs: file.startMs })
      this.#emit({ type: 'file-started', path: file.relativePath, startMs: file.startMs })
    })
    const settled = () => {
      stop()
      this.#importing.clear()
    }
    run.report.then(settled, settled)
  }

  /** Listens to what the server reports; returns a function that stops listening. */
  onEvent(listener: (event: ServerEvent) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  #emit(event: ServerEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event)
      } catch {
        // A listener's failure is its own; the server carries on.
      }
    }
  }

  /** Boots the discovery worker the next reload will start with. */
  #bootStandby(): void {
    const { discovery } = this.options
    if (discovery === undefined || this.#state !== 'listening') return
    this.#standby?.close()
    this.#standby = undefined
    try {
      this.#standby = new IsolateStandby(discovery)
    } catch (error) {
      // Only a head start: the next reload boots its own worker, and says why if it cannot.
      this.options.logger.warn(`nexflow: could not boot a discovery worker ahead of the next reload: ${(error as Error).message}`)
    }
  }

  /** Reloads are serialized and coalesced: changes during a reload make one more reload after it. */
  #scheduleReload(paths: string[]): void {
    if (this.#state !== 'listening') return
    if (this.#reloading !== undefined) {
      this.#reloadAgain = [...(this.#reloadAgain ?? []), ...paths]
      return
    }
    this.#reloading = (async () => {
      let changed: string[] | undefined = paths
      while (changed !== undefined && this.#state === 'listening') {
        this.#reloadAgain = undefined
        await this.#reload(changed).catch((error: unknown) => this.options.logger.warn(`nexflow: reload failed: ${(error as Error).message}`))
        changed = this.#reloadAgain
      }
      this.#reloading = undefined
    })()
  }

  /**
   * One development reload. Discovery runs again with the manifest cache, in fresh workers: only
   * changed and new files, and files whose imports changed, are imported again. When any was,
   * a new generation of execution workers imports every served file, and only then is swapped in
   * with the new workflows, in one step. A file that now fails keeps its last good workflows
   * (stale, on the generation that has them); a deleted file's workflows go.
   */
  async #reload(changed: string[]): Promise<void> {
    const { discovery } = this.options
    const generations = this.#generations
    if (discovery === undefined || generations === undefined) return
    const started = performance.now()
    const root = discovery.root
    this.#emit({ type: 'reload-started', changed: changed.map((path) => relative(root, path)) })
    const { signal: _signal, patterns, ignore, ...rest } = discovery
    const standby = this.#standby
    this.#standby = undefined
    const run = discover({ ...rest, cache: true, patterns: [...patterns], ignore: [...ignore] }, standby === undefined ? {} : { isolateFactory: standby.factory(isolateFactory(discovery.isolation)) })
    this.#reloadRun = run
    this.#reloadStarted = performance.now()
    this.#watchStarts(run)
    let report: DiscoveryReport
    try {
      report = await run.report
    } finally {
      this.#reloadRun = undefined
      // Unused when every file came from the cache.
      standby?.close()
      this.#bootStandby()
    }
    const reimported = report.files.filter((file) => !file.cached)
    const present = new Set(report.files.map((file) => file.path))
    const removed = [...this.#files.keys()].filter((path) => !present.has(path))
    let generation = generations.current
    if (reimported.some((file) => file.manifest !== undefined)) {
      const next = generations.prepare()
      const files = report.files.filter((file) => file.manifest !== undefined && file.workflows.length > 0).map((file) => file.path)
      await this.#warmPool(next.pool, files, warmDeadlineMs(discovery.timeoutMs, files, new Map(report.files.map((file) => [file.path, file]))))
      if (this.#state !== 'listening') {
        await generations.discard(next)
        return
      }
      generation = next
    }
    // The swap: the table and the current generation change together, with no await between.
    for (const path of removed) {
      this.#files.delete(path)
      this.#table.removeFile(path)
    }
    for (const file of report.files) {
      this.#files.set(file.path, file)
      this.#table.applyFile(file, { generation: generation.id, keepLastGood: true })
    }
    this.#report = report
    generations.promote(generation)
    generations.retire()
    const failed = report.files.filter((file) => file.manifest === undefined).map((file) => file.relativePath)
    for (const file of reimported) this.#emit(fileEvent(file))
    const ms = Math.round(performance.now() - started)
    const event: ServerEvent = { type: 'reload-finished', ms, files: report.files.length, reimported: reimported.map((file) => file.relativePath), removed: removed.map((path) => relative(root, path)), failed, generation: generation.id }
    this.#emit(event)
    const broken = reimported.filter((file) => file.manifest === undefined)
    for (const file of broken) this.options.logger.warn(`nexflow: ${file.relativePath}: ${file.status}: ${file.error?.message ?? ''}${this.#table.list().some((w) => w.source.kind === 'discovered' && w.source.file === file.path) ? ' (its last good workflows keep serving, marked stale)' : ''}`)
    this.options.logger.info(
      `nexflow: reload in ${ms} ms: ${reimported.length} re-imported${removed.length > 0 ? `, ${removed.length} removed` : ''}${broken.length > 0 ? `, ${broken.length} failed` : ''}; generation ${generation.id}, serving ${this.#table.list().length} workflows`,
    )
  }

  /**
   * Graceful shutdown: stops accepting connections, lets in-flight runs finish (up to
   * `shutdownTimeoutMs`, then stops them), stops discovery, closes the pools.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close()
    return this.#closing
  }

  async #close(): Promise<void> {
    const wasListening = this.#server !== undefined
    this.#state = 'closing'
    const servers = [this.#server, this.#mcpServer].filter((s): s is ServerType => s !== undefined)
    // Requests the kernel already holds (sent while this thread was busy, loading when a signal
    // came during startup) are taken before the port closes: closing it resets a connection not
    // yet accepted, and drops one accepted whose request is not yet read. Three turns of the event
    // loop: this one may end before a poll phase, the next accepts, the one after reads.
    if (wasListening) for (let turn = 0; turn < 3; turn++) await new Promise((resolve) => setImmediate(resolve))
    const serverClosed = Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))))
    // It stops taking queued runs now; it closes its store once the runs below have ended and
    // recorded how (an async run's end, a keyed request's answer).
    let drained: () => void = () => undefined
    const durabilityClosed = this.#durability.close(new Promise<void>((resolve) => (drained = resolve)))
    if (this.#inFlight.size > 0) {
      let timer: NodeJS.Timeout | undefined
      const bound = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, this.options.shutdownTimeoutMs)
      })
      await Promise.race([Promise.allSettled([...this.#inFlight]), bound])
      clearTimeout(timer)
    }
    this.#shutdown.abort(new NexflowError('SERVER_CLOSING', 'the server shut down before the run finished'))
    drained()
    await durabilityClosed
    // The pool and MCP may still be loading: they are closed below once they exist.
    await this.#services?.catch(() => undefined)
    await this.#mcp?.close()
    await this.#watcher?.close()
    this.#standby?.close()
    await this.#discovery?.close()
    await this.#reloadRun?.close()
    await this.#reloading
    await this.#generations?.closeAll()
    this.#middleware?.close()
    // A request still being answered (a /workflows, or one the startup listener held while the
    // server loaded) gets a moment to finish before the connections are cut: under load it could
    // lose that race to the close and read a reset instead of its answer.
    await this.#answered(REQUEST_GRACE_MS)
    for (const s of servers) if ('closeAllConnections' in s) s.closeAllConnections()
    if (wasListening) await serverClosed
    this.#state = 'closed'
  }

  async #execute(workflow: ServedWorkflow, inputs: Record<string, unknown>, context: RunContext = {}): Promise<RunAnswer> {
    if (this.#state !== 'listening') throw new NexflowError('SERVER_CLOSING', 'The server is shutting down; retry on another instance')
    validateCallerInputs(workflow.name, workflow.json.inputSchema, inputs)
    const runId = context.runId ?? randomUUID()
    const started = performance.now()
    const startedAt = Date.now()
    const signal = context.signal === undefined ? this.#shutdown.signal : AbortSignal.any([this.#shutdown.signal, context.signal])
    const run = this.#run(workflow, inputs, runId, signal, context.progress)
    this.#inFlight.add(run)
    try {
      const answer = await run
      // Logged and listed with the code the caller is answered (a node's CONFLICT, not only "the run failed").
      const errorCode = answer.ok ? undefined : failedRunCode(answer.error)
      const result = answer.ok ? { outputs: answer.outputs } : { error: runError({ ...answer.error, code: errorCode }) }
      this.#ranOnce(workflow.name, runId, context, answer.ok ? 'completed' : 'failed', answer.durationMs, errorCode, { startedAt, inputs, ...result })
      return answer
    } catch (error) {
      const nexflowError = toNexflowError(error)
      this.#ranOnce(workflow.name, runId, context, outcomeOf(nexflowError), performance.now() - started, nexflowError.code, { startedAt, inputs, error: runError(nexflowError) })
      throw error
    } finally {
      this.#inFlight.delete(run)
    }
  }

  /** A finished run's metrics, log line, and record in the recent runs (`GET /runs`). */
  #ranOnce(
    workflow: string,
    runId: string,
    context: RunContext,
    outcome: RunOutcome,
    durationMs: number,
    errorCode: string | undefined,
    run: { startedAt: number; inputs: Record<string, unknown>; outputs?: string; error?: RunRecord['error'] },
  ): void {
    this.#metrics?.observeRun(workflow, outcome, durationMs / 1000)
    if (this.options.log.runs) this.#activity?.run({ runId, requestId: context.requestId, workflow, outcome, durationMs, errorCode })
    this.#runs.record({
      runId,
      workflow,
      // A streamed run reports progress; only an async run is given its id before it starts.
      mode: context.progress !== undefined ? 'stream' : context.runId !== undefined ? 'async' : 'sync',
      status: outcome,
      startedAt: run.startedAt,
      durationMs,
      inputs: JSON.stringify(run.inputs),
      outputs: run.outputs,
      error: run.error,
    })
    this.#emit({ type: 'run', run_id: runId, workflow, status: outcome })
  }

  /**
   * Where `GET /runs` reads recent runs from. By default this server's sync and streamed runs
   * from an in-memory ring (the last 200), with the async runs of the durability store.
   */
  setRunSource(source: RunSource): void {
    this.#runSource = source
  }

  /** Error bodies carry stacks in development. */
  get #development(): boolean {
    return this.options.dev || process.env.NODE_ENV === 'development'
  }

  /** What `/metrics` reads at scrape time. */
  #snapshot(): ServerSnapshot {
    const filesByStatus: Record<string, number> = {}
    for (const file of this.#files.values()) filesByStatus[file.status] = (filesByStatus[file.status] ?? 0) + 1
    const durationMs = this.#report?.durationMs ?? (this.#discoveryState === 'running' ? performance.now() - this.#discoveryStarted : 0)
    return { pool: this.#generations?.stats(), discovery: { durationMs, filesByStatus }, workflows: this.#table.list().length, runsInFlight: this.#inFlight.size }
  }

  async #run(workflow: ServedWorkflow, inputs: Record<string, unknown>, runId: string, signal: AbortSignal, progress: ProgressChannel | undefined): Promise<RunAnswer> {
    const { runTimeoutMs } = this.options
    if (workflow.local !== undefined) {
      const started = performance.now()
      try {
        const observer = progress?.observer()
        const result = await new LocalRuntime().execute(workflow.local, { parameters: inputs, caller: 'remote', runId, timeoutMs: runTimeoutMs, signal, ...(observer === undefined ? {} : { observer }) })
        const failed = failedRunError(workflow.local, result)
        const durationMs = performance.now() - started
        if (failed !== undefined) return { ok: false, error: failed, runId, durationMs }
        return { ok: true, outputs: JSON.stringify(result.results, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value)), runId, durationMs }
      } catch (error) {
        const nexflowError = toNexflowError(error)
        if (nexflowError.httpStatus < 500 || nexflowError.code === 'WORKFLOW_TIMEOUT') throw nexflowError
        return { ok: false, error: serializeError(error), runId, durationMs: performance.now() - started }
      }
    }
    const generations = this.#generations ?? (await this.#services)
    if (generations === undefined) throw new NexflowError('SERVER_CLOSING', 'The server is not running')
    const target =
      workflow.source.kind === 'discovered'
        ? { kind: 'file' as const, file: workflow.source.file, exportName: workflow.source.exportName, name: workflow.name }
        : { kind: 'json' as const, version: workflow.version, workflow: workflow.json, ...(workflow.source.modules === undefined ? {} : { modules: [...workflow.source.modules] }) }
    // The generation that imported this version of its file: runs in flight finish where they began.
    const generation = generations.get(workflow.generation)
    const runOptions = { timeoutMs: runTimeoutMs, queueTimeoutMs: this.options.queueTimeoutMs, signal, ...(progress === undefined ? {} : { progress: progress.workerPort() }) }
    const reply = await generations.track(generation, () => generation.pool.run({ type: 'run', runId, target, inputs }, runOptions))
    return reply.ok ? { ok: true, outputs: reply.outputs, runId, durationMs: reply.durationMs } : { ok: false, error: reply.error, runId, durationMs: reply.durationMs }
  }

  #discoveryJson(): Record<string, unknown> {
    const files = [...this.#files.values()]
    const durationMs = this.#report?.durationMs ?? (this.#discoveryState === 'running' ? performance.now() - this.#discoveryStarted : 0)
    const workflows = this.#report?.workflows ?? this.#table.list().filter((w) => w.source.kind === 'discovered').map((w) => w.name)
    const check = toCheckJson(buildCheckReport({ root: this.options.root, durationMs, files, workflows }, { allowEmpty: true }))
    const warnings = [
      ...(this.#report?.warnings ?? []),
      ...this.#table.shadowed().map(({ name, file }) => `workflow "${name}" from ${file} is not served: the app registered a workflow with the same name`),
      ...(this.#discoveryError === undefined ? [] : [`discovery failed: ${this.#discoveryError.message}`]),
    ]
    const stale = this.#table
      .list()
      .filter((workflow) => workflow.stale !== undefined && workflow.source.kind === 'discovered')
      .map((workflow) => ({ workflow: workflow.name, file: workflow.source.kind === 'discovered' ? workflow.source.relativePath : '', status: workflow.stale?.status, error: workflow.stale?.message }))
    // The dashboard's waterfall: each file's times, the files still importing, the deadline.
    const times = new Map([...this.#files.values()].map((file) => [file.relativePath.split('\\').join('/'), file]))
    const timed = check.files.map((file) => {
      const own = times.get(file.path)
      const imports = own?.manifest?.imports.map((entry) => underRoot(this.options.root, entry.path)).filter((path) => path !== file.path)
      return { ...file, ...(own?.startMs === undefined ? {} : { startMs: own.startMs, endMs: own.endMs }), ...(imports === undefined || imports.length === 0 ? {} : { imports }) }
    })
    const importing = [...this.#importing.values()].map(({ relativePath, startMs }) => ({ path: relativePath, startMs }))
    const elapsedMs = performance.now() - (this.#reloadRun !== undefined ? this.#reloadStarted : this.#discoveryStarted)
    return {
      ...check,
      files: timed,
      state: this.#discoveryState,
      ...(this.#reloadRun === undefined ? {} : { reloading: true }),
      warnings,
      ...(stale.length > 0 ? { stale } : {}),
      importing,
      elapsedMs: Math.round(elapsedMs),
      timeoutMs: this.options.discovery?.timeoutMs ?? null,
    }
  }

  #mcpServices(): McpServices {
    return {
      workflows: () => this.#table.list(),
      execute: (workflow, inputs) => this.#execute(workflow, inputs),
      discovery: () => this.#discoveryJson(),
      warn: (message) => this.options.logger.warn(message),
    }
  }

  #httpServices(): HttpServices {
    return {
      mcp: async (request) => {
        if (this.#mcp === undefined) await this.#services
        return this.#mcp?.handle(request) ?? new Response('MCP is not running', { status: 503 })
      },
      maxRequestBodyBytes: this.options.maxRequestBodyBytes,
      development: this.#development,
      events: (listener) => this.onEvent(listener),
      workflow: (name) => this.#table.get(name),
      workflows: () => this.#table.list(),
      execute: (workflow, inputs, context) => this.#execute(workflow, inputs, context),
      runs: this.#durability,
      middleware: this.#middleware?.handlers ?? [],
      ...(this.#metrics === undefined ? {} : { metrics: this.#metrics }),
      notFoundHint: (name) => {
        const closest = closestName(name, this.#table.list().map((workflow) => workflow.name))
        const guess = closest === undefined ? '' : `Did you mean "${closest}"? `
        return this.#discoveryState === 'running'
          ? `${guess}Discovery is still running (${this.#files.size} files so far); it may be in a file not discovered yet: retry when GET /ready answers 200.`
          : `${guess}See GET /workflows for the workflows served.`
      },
      health: () => this.#health(),
      readiness: () => this.#readiness(),
      discovery: () => this.#discoveryJson(),
      recentRuns: async (limit) => ({ runs: await this.#runSource.list(limit), runs_per_minute: this.#runs.countSince(60_000) }),
      dashboard: this.options.dashboard,
    }
  }

  /** The fields of the answer of the port that listens while the server loads, and more (see health.ts). */
  #health(): HealthJson {
    const byStatus: Record<string, number> = {}
    for (const file of this.#files.values()) byStatus[file.status] = (byStatus[file.status] ?? 0) + 1
    return {
      status: this.#state === 'listening' ? 'ok' : this.#state,
      phase: this.#state === 'listening' ? 'serving' : this.#state,
      uptime_s: Math.round((Date.now() - this.#startedAt) / 1000),
      workflows: this.#table.list().length,
      discovery: { state: this.#discoveryState, files: this.#files.size, by_status: byStatus },
      pool: this.#generations?.stats() ?? null,
      runs_in_flight: this.#inFlight.size,
      mcp_sessions: this.#mcp?.size ?? 0,
    }
  }

  #readiness(): { ready: boolean; reason?: string } {
    if (this.#state !== 'listening') return { ready: false, reason: `the server is ${this.#state}` }
    if (this.#discoveryState === 'running') return { ready: false, reason: discoveryRunning(this.#files.size) }
    if (this.#discoveryState === 'failed') return { ready: false, reason: `discovery failed: ${this.#discoveryError?.message ?? 'unknown error'}` }
    if (this.#warm !== 'warm') return { ready: false, reason: 'the execution workers are importing the discovered files' }
    return { ready: true }
  }
}
