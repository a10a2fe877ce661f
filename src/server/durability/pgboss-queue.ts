import type PgBoss from 'pg-boss'
import { NexflowError } from '../../errors.js'
import type { NexusLogger } from '../options.js'
import type { JobHandlers, RunJob, RunQueue } from './run-queue.js'
import { TurnBatch } from './turn-batch.js'

const QUEUE = 'nexflow-runs'
/** Where pg-boss moves a run's job once it expired (its instance died) and its retries are spent. */
const DEAD_LETTER = 'nexflow-runs-interrupted'

export interface PgBossQueueOptions {
  url: string
  /** Statements run on this instead of a pool of pg-boss's own (the run store's pool). */
  db?: { executeSql(text: string, values?: unknown[]): Promise<{ rows: unknown[] }> }
  /** pg-boss's own schema (a plain identifier). */
  schema: string
  /** Workers polling on this instance: the async runs it executes at once. */
  concurrency: number
  retryLimit: number
  /**
   * How long a job may stay active before pg-boss deems its instance dead: the longest a run can
   * take here (queue wait plus run deadline) and a margin.
   */
  expireInSeconds: number
  logger: NexusLogger
  /** How often pg-boss looks for expired jobs (seconds, at least 1). */
  maintenanceIntervalSeconds?: number
  /** How often an idle worker asks for a job (seconds, at least 0.5). */
  pollingIntervalSeconds?: number
}

/**
 * The queue of several instances: pg-boss on the shared database. Any instance's workers may take
 * a run; a run whose instance died stays `active` until its job expires, then pg-boss retries it
 * (`retryLimit`) or moves it to a dead-letter queue, whose handler marks the run `interrupted`.
 */
export class PgBossQueue implements RunQueue {
  readonly #options: PgBossQueueOptions
  #boss: PgBoss | undefined
  readonly #workers: string[] = []

  constructor(options: PgBossQueueOptions) {
    this.#options = options
  }

  async start(handlers: JobHandlers, ready: Promise<unknown>): Promise<void> {
    const { logger } = this.#options
    let boss: PgBoss
    try {
      // Instances started together on a new database race to install pg-boss's schema and
      // queues (measured: a duplicate pg_namespace row, or a deadlock). Durability makes them take
      // turns (PostgresRunStore.exclusively); a failed first attempt is tried once more anyway,
      // and finds them installed.
      boss = await this.#startBoss().catch(() => this.#startBoss())
    } catch (error) {
      throw new NexflowError('DURABILITY_UNAVAILABLE', `pg-boss cannot start on the durability database: ${(error as Error).message}`, { cause: error })
    }
    this.#boss = boss
    void ready
      .then(() => this.#work(boss, handlers))
      .catch((error: unknown) => {
        // Closing while subscribing is not worth a warning.
        if (this.#boss === boss) logger.warn(`nexflow: pg-boss: this instance cannot take async runs: ${(error as Error).message}`)
      })
  }

  /** A started pg-boss with the queues created, or the failure (a pg-boss that failed to start cannot start again). */
  async #startBoss(): Promise<PgBoss> {
    const { default: PgBossClass } = await import('pg-boss')
    const { url, schema, logger, db } = this.#options
    const boss = new PgBossClass({
      ...(db === undefined ? { connectionString: url, max: Math.min(10, this.#options.concurrency + 2) } : { db }),
      schema,
      schedule: false,
      supervise: true,
      maintenanceIntervalSeconds: this.#options.maintenanceIntervalSeconds ?? 30,
    })
    boss.on('error', (error: Error) => logger.warn(`nexflow: pg-boss: ${error.message}`))
    try {
      await boss.start()
      await boss.createQueue(DEAD_LETTER)
      await boss.createQueue(QUEUE, { name: QUEUE, deadLetter: DEAD_LETTER, retryLimit: this.#options.retryLimit, expireInSeconds: this.#options.expireInSeconds })
      return boss
    } catch (error) {
      await boss.stop({ graceful: false, wait: true }).catch(() => undefined)
      throw error
    }
  }

  /** Subscribes this instance's workers, unless it closed meanwhile. */
  async #work(boss: PgBoss, handlers: JobHandlers): Promise<void> {
    const polling = { pollingIntervalSeconds: this.#options.pollingIntervalSeconds ?? 0.5, batchSize: 1, includeMetadata: true as const }
    for (let i = 0; i < this.#options.concurrency; i++) {
      if (this.#boss !== boss) return
      // Set once work() resolves; the worker may take its first job before that.
      const worker: { id?: string } = {}
      worker.id = await boss.work<RunJob>(QUEUE, polling, async (jobs) => {
        for (const job of jobs) {
          // Fetched as this instance began to close: the run never started, so it goes back to
          // the queue as a new job for another instance. Failing it would spend a retry, and with
          // none left, dead-letter a run that never ran as interrupted.
          const retry = job.retryCount > 0 || job.data.retry === true
          if ((await handlers.run(job.data, { retry })) === 'declined') await this.#insert(boss, [{ runId: job.data.runId, workflow: job.data.workflow, ...(retry ? { retry } : {}) }])
        }
        // pg-boss pauses a worker for the rest of its polling interval after every job, found or
        // not: a backlog drained at two jobs per second per worker (29 runs/s in bench/durability).
        // A worker that just finished one asks again at once; only an empty fetch waits.
        if (worker.id !== undefined) boss.notifyWorker(worker.id)
      })
      this.#workers.push(worker.id)
    }
    if (this.#boss !== boss) return
    this.#workers.push(
      await boss.work<RunJob>(DEAD_LETTER, polling, async (jobs) => {
        for (const job of jobs) await handlers.interrupted(job.data)
      }),
    )
  }

  send(job: RunJob): Promise<void> {
    return this.#sends.add(job)
  }

  /** The jobs of one turn go in one INSERT (one commit), as their runs went into the store. */
  readonly #sends = new TurnBatch<RunJob, undefined>(async (jobs) => {
    const boss = this.#boss
    if (boss === undefined) throw new NexflowError('DURABILITY_UNAVAILABLE', 'The run queue is not running')
    await this.#insert(boss, jobs)
    // A worker of this instance that is idle takes them now rather than at its next poll.
    for (const id of this.#workers) boss.notifyWorker(id)
    return jobs.map(() => undefined)
  })

  async #insert(boss: PgBoss, jobs: RunJob[]): Promise<void> {
    const { retryLimit, expireInSeconds } = this.#options
    await boss.insert(jobs.map((data) => ({ name: QUEUE, data, deadLetter: DEAD_LETTER, retryLimit, expireInSeconds })))
  }

  async close(): Promise<void> {
    const boss = this.#boss
    this.#boss = undefined
    if (boss === undefined) return
    // Called as the server begins to close: no job is fetched from now on, and the handlers in
    // progress get 5 s to complete their jobs (the server lets their runs finish within
    // shutdownTimeoutMs, then stops them). A job left active past that expires, and the run row,
    // which its handler has ended, stays as it ended.
    await boss.stop({ graceful: true, timeout: 5000, wait: true, close: true }).catch(() => undefined)
  }
}
