import { randomUUID } from 'node:crypto'
import { existsSync } from 'node:fs'
import { NexflowError, serializeError, toNexflowError } from '../../errors.js'
import type { RunAnswer, RunContext } from '../http/app.js'
import type { NexusLogger } from '../options.js'
import type { ServedWorkflow } from '../workflow-table.js'
import type { ResolvedDurabilityOptions } from './durability-options.js'
import type { JobOutcome, RunQueue } from './run-queue.js'
import type { FinalStatus, IdempotencyAnswer, IdempotencyBegin, IdempotencyClaim, NewRun, RunEnd, RunRecord, RunStore } from './run-store.js'
import { COUNT_TIMEOUT_MS, PostgresHitCounter, withDeadline, type HitCount, type SqlExecutor } from './hit-counter.js'
import type { PostgresRunStore } from './postgres-store.js'
import { TurnBatch } from './turn-batch.js'

/** What durability needs from the server to run a job. */
export interface RunExecutor {
  /** Resolves once discovery has served the workflows (a job taken at startup waits for it). */
  ready(): Promise<unknown>
  workflow(name: string): ServedWorkflow | undefined
  execute(workflow: ServedWorkflow, inputs: Record<string, unknown>, context: RunContext): Promise<RunAnswer>
  logger: NexusLogger
}

/** Rate-limit counts kept where every instance sees them. */
export interface SharedHits {
  count(key: string): Promise<HitCount>
  uncount(key: string): Promise<void>
  forget(key: string): Promise<void>
}

/** Limits of the server that bound how long a job may be active. */
export interface RunLimits {
  runTimeoutMs: number
  queueTimeoutMs: number
}

const PRUNE_EVERY_MS = 60 * 60 * 1000
/** How long a rate-limited request waits for the durability store to open before it is counted in memory. */
const OPEN_COUNT_TIMEOUT_MS = 5 * COUNT_TIMEOUT_MS
/** In PostgreSQL mode, how often an instance checks whether its runs were cancelled through another instance. */
const CANCEL_POLL_MS = 1000

/** How a run that threw ended. */
function statusOfThrown(error: NexflowError, cancelled: boolean): FinalStatus {
  if (cancelled) return 'cancelled'
  switch (error.code) {
    case 'RUN_TIMEOUT':
    case 'WORKFLOW_TIMEOUT':
      return 'timeout'
    case 'SERVER_CLOSING':
      return 'interrupted'
    default:
      return 'failed'
  }
}

/**
 * Async runs and idempotency records, kept where a restart does not lose them. Owns the store,
 * the queue that dispatches accepted runs, and the cancel handles of the runs executing here.
 * Lifecycle: created with the server; opened at start when there is something to recover or share
 * (PostgreSQL, or an existing SQLite file), else on first use, so a server that never uses it
 * writes nothing; closed with the server.
 */
export class Durability {
  readonly options: ResolvedDurabilityOptions
  readonly #limits: RunLimits
  readonly #executor: RunExecutor
  #store: RunStore | undefined
  /** The PostgreSQL store's pool, once open (the shared rate-limit counts run on it). */
  #sql: SqlExecutor | undefined
  #queue: RunQueue | undefined
  #opening: Promise<RunStore> | undefined
  #closed = false
  /** Runs executing on this instance, to stop when cancelled. */
  readonly #local = new Map<string, AbortController>()
  #pruneTimer: NodeJS.Timeout | undefined
  #cancelPoll: NodeJS.Timeout | undefined
  /** Job handlers in progress: close() waits for them to record how their runs ended. */
  readonly #jobs = new Set<Promise<unknown>>()
  /**
   * Keyed requests of one turn begin together (on PostgreSQL, one statement), and store their
   * answers in one transaction.
   */
  readonly #begins = new TurnBatch<IdempotencyClaim, IdempotencyBegin>(async (claims) => {
    const store = await this.store()
    const { runTimeoutMs, queueTimeoutMs } = this.#limits
    return store.beginIdempotent(claims, { now: Date.now(), ttlMs: this.options.idempotencyTtlMs, lockMs: runTimeoutMs + queueTimeoutMs + 5000 })
  })
  /** Async runs accepted in one turn are stored in one transaction; runs that end together, likewise. */
  readonly #creates = new TurnBatch<NewRun, undefined>(async (runs) => {
    await (await this.#openStore()).createRuns(runs)
    return runs.map(() => undefined)
  })
  readonly #finishes = new TurnBatch<{ id: string; end: RunEnd; now: number }, boolean>(async (ends) => (await this.#openStore()).finishRuns(ends))
  // The open store even while closing: a request whose run finished during a graceful shutdown
  // stores its answer before it is sent.
  readonly #completes = new TurnBatch<IdempotencyAnswer, undefined>(async (answers) => {
    await (await this.#openStore()).completeIdempotent(answers)
    return answers.map(() => undefined)
  })

  constructor(options: ResolvedDurabilityOptions, limits: RunLimits, executor: RunExecutor) {
    this.options = options
    this.#limits = limits
    this.#executor = executor
  }

  get kind(): 'sqlite' | 'postgres' {
    return this.options.databaseUrl === undefined ? 'sqlite' : 'postgres'
  }

  /** At the server's start: opens now when a previous life may have left runs behind, or other instances share the store. */
  openIfNeeded(): Promise<unknown> | undefined {
    if (this.kind === 'postgres' || existsSync(this.options.sqlitePath)) return this.store()
    return undefined
  }

  /** The most recent async runs, newest first; none while the store is not open (no async run was asked for yet). */
  async recentRuns(limit: number): Promise<RunRecord[]> {
    return (await this.#store?.listRuns(limit)) ?? []
  }

  /**
   * Rate-limit counts in the PostgreSQL database, shared by every instance; undefined for the
   * embedded store, which serves one instance. Opens the store on first use.
   */
  sharedHits(windowMs: number): SharedHits | undefined {
    if (this.kind !== 'postgres') return undefined
    let counter: Promise<PostgresHitCounter> | undefined
    let opened: PostgresHitCounter | undefined
    const open = (): Promise<PostgresHitCounter> =>
      (counter ??= this.store().then(
        () => (opened = new PostgresHitCounter(this.#sql as SqlExecutor, this.options.schema, windowMs)),
        (error: unknown) => {
          counter = undefined
          throw error
        },
      ))
    return {
      // Bounded while the store opens too (pg-boss may be waiting its turn, or migrating): a
      // request that would wait longer is counted in memory instead.
      count: (key) => (opened === undefined ? withDeadline(open().then((ready) => ready.count(key)), OPEN_COUNT_TIMEOUT_MS, 'opening the durability database') : opened.count(key)),
      uncount: async (key) => (await open()).uncount(key),
      forget: async (key) => (await open()).forget(key),
    }
  }

  /** The open store (opening it on first use). */
  store(): Promise<RunStore> {
    if (this.#closed) return Promise.reject(new NexflowError('SERVER_CLOSING', 'The server is shutting down; retry on another instance'))
    // A failed open (the database unreachable at start) is tried again by the next request.
    this.#opening ??= this.#open().catch((error: unknown) => {
      this.#opening = undefined
      throw error
    })
    return this.#opening
  }

  async #open(): Promise<RunStore> {
    const { options } = this
    const now = Date.now()
    let store: RunStore
    let queue: RunQueue
    let postgres: PostgresRunStore | undefined
    if (options.databaseUrl === undefined) {
      const [{ SqliteRunStore }, { EmbeddedQueue }] = await Promise.all([import('./sqlite-store.js'), import('./embedded-queue.js')])
      store = new SqliteRunStore(options.sqlitePath)
      queue = new EmbeddedQueue(options.concurrency)
    } else {
      const [{ PostgresRunStore }, { PgBossQueue }] = await Promise.all([import('./postgres-store.js'), import('./pgboss-queue.js')])
      postgres = new PostgresRunStore(options.databaseUrl, options.schema)
      store = postgres
      this.#sql = postgres
      queue = new PgBossQueue({
        url: options.databaseUrl,
        // The store's pool (open before the queue starts, closed after it stops).
        db: postgres,
        schema: `${options.schema}_boss`,
        concurrency: options.concurrency,
        retryLimit: options.retryLimit,
        expireInSeconds: Math.ceil((this.#limits.runTimeoutMs + this.#limits.queueTimeoutMs) / 1000) + 5,
        logger: this.#executor.logger,
        maintenanceIntervalSeconds: options.maintenanceIntervalSeconds,
      })
    }
    await store.open()
    this.#store = store
    let pending: RunRecord[]
    try {
      const recovered = await store.recover(now)
      pending = recovered.pending
      const { interrupted } = recovered
      if (interrupted.length > 0) this.#executor.logger.warn(`nexflow: ${interrupted.length} async run${interrupted.length > 1 ? 's were' : ' was'} running when the server last stopped: marked interrupted`)
      const ready = this.#executor.ready().catch(() => undefined)
      const start = () => queue.start({ run: (job, info) => this.#track(this.#runJob(job.runId, job.workflow, info.retry)), interrupted: (job) => this.#interrupt(job.runId) }, ready)
      // Instances started together on a new database deadlocked installing pg-boss's schema and
      // queues (measured: "deadlock detected", in about 4 starts of 6): they take turns.
      await (postgres === undefined ? start() : postgres.exclusively('queue-start', start))
    } catch (error) {
      this.#store = undefined
      await store.close().catch(() => undefined)
      throw error
    }
    this.#queue = queue
    for (const run of pending) await queue.send({ runId: run.id, workflow: run.workflow })
    await store.prune(now, options.keepRunsMs).catch(() => undefined)
    this.#pruneTimer = setInterval(() => void store.prune(Date.now(), options.keepRunsMs).catch(() => undefined), PRUNE_EVERY_MS).unref()
    if (this.kind === 'postgres') this.#cancelPoll = setInterval(() => void this.#checkCancelled(), CANCEL_POLL_MS).unref()
    return store
  }

  /** Accepts an async run: stored `pending`, then queued. */
  async accept(workflow: ServedWorkflow, inputs: Record<string, unknown>, requestId?: string): Promise<RunRecord> {
    // Opens the store, and refuses once the server is closing.
    await this.store()
    const id = randomUUID()
    const now = Date.now()
    const record: RunRecord = { id, workflow: workflow.name, status: 'pending', inputs: JSON.stringify(inputs), requestId, createdAt: now }
    await this.#creates.add({ id, workflow: workflow.name, inputs: record.inputs, requestId, now })
    try {
      await this.#queue?.send({ runId: id, workflow: workflow.name })
    } catch (error) {
      await this.#finish(id, { status: 'failed', error: serializeError(error) }).catch(() => undefined)
      throw error
    }
    return record
  }

  /** The run `id` of `workflow`; `RUN_NOT_FOUND` for another workflow's run, as for one that never was. */
  async get(workflow: string, id: string): Promise<RunRecord> {
    const run = await (await this.store()).getRun(id)
    if (run === undefined || run.workflow !== workflow) throw new NexflowError('RUN_NOT_FOUND', `No async run ${id} of workflow "${workflow}" (finished runs are kept ${Math.round(this.options.keepRunsMs / 3_600_000)} h)`, { details: { execution_id: id, workflow } })
    return run
  }

  /** Cancels a pending or running run (its worker is stopped); `RUN_FINISHED` (409) once it has ended. */
  async cancel(workflow: string, id: string): Promise<RunRecord> {
    const before = await this.get(workflow, id)
    if (before.status !== 'pending' && before.status !== 'running') {
      throw new NexflowError('RUN_FINISHED', `Async run ${id} has already ended (${before.status}); only a pending or running run can be cancelled`, { details: { execution_id: id, status: before.status } })
    }
    const after = await (await this.store()).cancelRun(id, Date.now())
    this.#local.get(id)?.abort(new NexflowError('RUN_CANCELLED', `Async run ${id} was cancelled`))
    return after ?? before
  }

  beginIdempotent(key: string, bodyHash: string): Promise<IdempotencyBegin> {
    return this.#begins.add({ key, bodyHash })
  }

  completeIdempotent(key: string, status: number, body: string): Promise<void> {
    return this.#completes.add({ key, status, body })
  }

  async releaseIdempotent(key: string): Promise<void> {
    await (await this.#openStore()).releaseIdempotent(key)
  }

  /**
   * The store for a batch: the open one even while closing (close() waits for the runs in
   * progress to record how they ended), else opened as `store()` does.
   */
  #openStore(): Promise<RunStore> {
    return this.#store === undefined ? this.store() : Promise.resolve(this.#store)
  }

  /** Ends a pending or running run; false when it had already ended. */
  #finish(id: string, end: RunEnd): Promise<boolean> {
    return this.#finishes.add({ id, end, now: Date.now() })
  }

  #track<T>(job: Promise<T>): Promise<T> {
    this.#jobs.add(job)
    return job.finally(() => this.#jobs.delete(job))
  }

  /** One job: claims the run, executes it here, records how it ended. Never throws. */
  async #runJob(id: string, workflowName: string, retry: boolean): Promise<JobOutcome> {
    const store = this.#store
    // Closing: a run not yet started stays pending, and the queue hands it on (see JobOutcome).
    if (store === undefined || this.#closed) return 'declined'
    const controller = new AbortController()
    try {
      if (!(await store.markRunning(id, Date.now(), retry))) return 'done' // cancelled while pending, or gone
      this.#local.set(id, controller)
      await this.#executor.ready().catch(() => undefined)
      const workflow = this.#executor.workflow(workflowName)
      if (workflow === undefined) {
        const error = new NexflowError('WORKFLOW_NOT_FOUND', `Workflow "${workflowName}" is not served by this instance any more`, { details: { workflow: workflowName } })
        await this.#finish(id, { status: 'failed', error: serializeError(error) })
        return 'done'
      }
      const run = await store.getRun(id)
      // The server began to close while the run was being claimed: it has not started, so it is
      // handed on rather than stopped as interrupted. From here to execute() nothing awaits, so a
      // close that begins later finds the run in flight and lets it finish.
      if (this.#closed) return (await store.returnToPending(id)) ? 'declined' : 'done'
      const inputs = JSON.parse(run?.inputs ?? '{}') as Record<string, unknown>
      let end: { status: FinalStatus; outputs?: string; error?: ReturnType<typeof serializeError> }
      try {
        const answer = await this.#executor.execute(workflow, inputs, { runId: id, requestId: run?.requestId, signal: controller.signal })
        end = answer.ok ? { status: 'completed', outputs: answer.outputs } : { status: 'failed', error: answer.error }
      } catch (thrown) {
        const error = toNexflowError(thrown)
        const status = statusOfThrown(error, controller.signal.aborted)
        end = { status, error: serializeError(status === 'interrupted' ? new NexflowError('RUN_INTERRUPTED', 'The server shut down before the run finished', { cause: error }) : error) }
      }
      // A cancel that came first already ended the run: finishRun leaves it cancelled.
      await this.#finish(id, end)
    } catch (error) {
      this.#executor.logger.warn(`nexflow: async run ${id} could not be recorded: ${(error as Error).message}`)
    } finally {
      this.#local.delete(id)
    }
    return 'done'
  }

  /** The queue gave up on a run whose instance died. */
  async #interrupt(id: string): Promise<void> {
    const store = this.#store
    if (store === undefined) return
    const error = new NexflowError('RUN_INTERRUPTED', 'The instance running this run stopped before it finished (its queue job expired)')
    await this.#finish(id, { status: 'interrupted', error: serializeError(error) }).catch(() => undefined)
  }

  /** A cancel that reached another instance: stop the worker here. */
  async #checkCancelled(): Promise<void> {
    const store = this.#store
    if (store === undefined) return
    for (const [id, controller] of this.#local) {
      const run = await store.getRun(id).catch(() => undefined)
      if (run?.status === 'cancelled') controller.abort(new NexflowError('RUN_CANCELLED', `Async run ${id} was cancelled`))
    }
  }

  /**
   * Stops taking jobs and new async or keyed requests at once; closes the store once `drained`
   * settles (the server has let its runs finish or stopped them) and what those runs had left to
   * record has been written: each async run how it ended, each keyed request its answer.
   */
  async close(drained: Promise<unknown> = Promise.resolve()): Promise<void> {
    this.#closed = true
    clearInterval(this.#pruneTimer)
    clearInterval(this.#cancelPoll)
    await this.#opening?.catch(() => undefined)
    await this.#queue?.close()
    await Promise.allSettled([...this.#jobs, drained])
    // A run that just settled reaches its completeIdempotent or finish call a few microtasks later.
    await new Promise((resolve) => setImmediate(resolve))
    await Promise.all([this.#creates, this.#finishes, this.#completes, this.#begins].map((batch) => batch.idle()))
    await this.#store?.close()
  }
}
