import { availableParallelism } from 'node:os'
import type { SerializedErrorData } from '../../protocol/discovery.js'
import type { WorkerInit } from '../../protocol/discovery-messages.js'
import { POOL_TUNING } from '../defaults.js'
import type { Isolation } from '../options.js'
import { ImportDurations } from './import-durations.js'
import type { IsolateFactory, IsolateSpec } from './isolate.js'
import { spawnProcess } from './process-isolate.js'
import { failedOutcome, Task, type TaskOutcome } from './task.js'
import { spawnThread } from './thread-isolate.js'
import { WorkerSlot, type SlotHost } from './worker-slot.js'
import { workerFiles, type WorkerFiles } from './worker-files.js'

export type { FailedOutcome, TaskOutcome } from './task.js'

/** How a pool starts a worker of the given isolation. */
export function isolateFactory(isolation: Isolation): IsolateFactory {
  return isolation === 'process' ? spawnProcess : spawnThread
}

/** What a pool starts each of its workers with (a standby worker is started with the same, ahead). */
export function isolateSpec(options: Pick<PoolOptions, 'maxMemoryMb' | 'init'>, files: WorkerFiles): IsolateSpec {
  return {
    bootstrap: files.bootstrap,
    entry: files.entry,
    init: { ...options.init, hooksUrl: files.hooks },
    maxMemoryMb: options.maxMemoryMb,
    outputTailBytes: POOL_TUNING.outputTailBytes,
  }
}

export interface PoolOptions {
  isolation: Isolation
  concurrency: number
  timeoutMs: number
  stuckGraceMs: number
  maxMemoryMb: number
  /** Everything but the hooks URL, which the pool knows. */
  init: Omit<WorkerInit, 'hooksUrl'>
  /** Replaces how isolates are started (tests). */
  factory?: IsolateFactory
  files?: WorkerFiles
}

/**
 * Runs imports in isolated workers with a deadline each, and turns whatever happens to them
 * into a {@link TaskOutcome}. `run()` never rejects.
 *
 * The pool is the scheduler: it keeps the queue, decides how many workers to start and hands
 * files to them. Everything about one worker (its state, timers, messages, and the verdict on a
 * file it fails) is its {@link WorkerSlot}'s.
 *
 * Why raw `Worker`s and child processes instead of piscina's task API: the deadline starts when
 * the worker says it began the file ("started", or `next` in its report on the previous file;
 * queue and boot time excluded), a timed-out task's worker must be killed and then watched to
 * tell a thread that stopped (`timeout`) from one stuck in native code (`stuck`), stuck threads
 * must be abandoned without anything ever awaiting their exit (piscina's `destroy()` awaits every
 * worker's exit), a user's `process.exit(3)` must come back as exit code 3 (piscina folds it into
 * an error message), and process isolation, which piscina does not have, must share all of that.
 * So one small scheduler serves both isolations.
 */
export class DiscoveryPool {
  readonly #options: PoolOptions
  readonly #factory: IsolateFactory
  readonly #files: WorkerFiles
  readonly #slots = new Set<WorkerSlot>()
  readonly #durations = new ImportDurations()
  readonly #host: SlotHost
  #queue: Task[] = []
  #nextTask = 0
  #nextSlot = 0
  #bootFailures = 0
  #spawnScheduled = false
  /** Workers asked for by {@link warm} until the first file is handed over. */
  #warm = 0
  /** A file has run past the linger threshold in this pool. */
  #lingered = false
  readonly #maxBooting: number
  #broken: SerializedErrorData | undefined
  #closing: Promise<void> | undefined
  #spawned = 0
  #abandoned = 0
  /** Every worker's real exit (see {@link drained}). */
  readonly #exits: Promise<void>[] = []

  constructor(options: PoolOptions) {
    this.#options = options
    this.#maxBooting = Math.max(1, Math.min(options.concurrency, availableParallelism()))
    this.#factory = options.factory ?? isolateFactory(options.isolation)
    this.#files = options.files ?? workerFiles(options.isolation)
    this.#host = {
      requeue: (task) => {
        if (!task.settled) this.#queue.unshift(task)
      },
      changed: () => this.#pump(),
      ready: () => {
        this.#bootFailures = 0
      },
      bootFailed: (error) => this.#bootFailed(error),
      lingered: () => {
        this.#lingered = true
      },
      removed: (slot, abandoned) => {
        this.#slots.delete(slot)
        if (abandoned) this.#abandoned++
      },
    }
  }

  /** Workers started so far, and threads abandoned while stuck in native code. */
  get stats(): { spawned: number; abandoned: number; live: number } {
    return { spawned: this.#spawned, abandoned: this.#abandoned, live: this.#slots.size }
  }

  /** Imports `file` (absolute) in a worker. Resolves once the file is settled; never rejects. */
  run(file: string): Promise<TaskOutcome> {
    return new Promise((resolve) => {
      const task = new Task(this.#nextTask++, file, resolve)
      if (this.#closing !== undefined) return task.settle({ kind: 'cancelled' })
      if (this.#broken !== undefined) return task.settle(failedOutcome(task, { status: 'crashed', error: this.#broken }, ''))
      this.#queue.push(task)
      this.#pump()
    })
  }

  /**
   * Resolves once every worker this pool started has really exited, including threads abandoned
   * while stuck in native code, which exit only when their call returns (maybe never).
   */
  drained(): Promise<void> {
    return Promise.all(this.#exits).then(() => undefined)
  }

  /** Kills every worker; unsettled files resolve `cancelled`. Resolves once every worker is gone (exited or abandoned). */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      for (const task of this.#queue) task.settle({ kind: 'cancelled' })
      this.#queue = []
      const slots = [...this.#slots]
      for (const slot of slots) slot.close()
      await Promise.all(slots.map((slot) => slot.gone))
    })()
    return this.#closing
  }

  /**
   * Starts booting up to `files` workers (at most `concurrency`) before any file is handed over,
   * so their boot overlaps whatever the caller does first (listing, hashing, reading the cache).
   */
  warm(files: number): void {
    this.#warm = Math.min(files, this.#options.concurrency)
    this.#pump()
  }

  #pump(): void {
    if (this.#closing !== undefined) return
    const { concurrency } = this.#options
    // Hand out work: at most `concurrency` files run at once, not counting lingering ones.
    for (const slot of this.#slots) {
      if (this.#queue.length === 0) break
      if (slot.state === 'idle' && this.#count().running < concurrency) {
        // Work has arrived: from here on, workers are started for it alone.
        this.#warm = 0
        slot.assign(this.#queue.shift() as Task)
      }
    }
    // Each running worker also gets its next file now, so it goes on without waiting for this
    // thread to read its answer and reply. (Not behind a file that lingers: that one may hang.)
    for (const slot of this.#slots) {
      if (this.#queue.length === 0) break
      if (slot.acceptsNext) slot.prefetch(this.#queue.shift() as Task)
    }
    const demand = Math.max(this.#queue.length, this.#warm)
    if (this.#spawnScheduled || demand === 0) return
    const { booting, idle, lingering, live } = this.#count()
    // Workers wanted: enough for `concurrency` running files and, once a file has lingered (a
    // sign that more may hang), as many spares booted ahead, so the next lingering file hands its
    // place over at once instead of after a boot. Lingering ones come on top, up to the overflow.
    const spares = this.#lingered ? concurrency : 0
    const wanted = Math.min(lingering + concurrency + spares, concurrency + POOL_TUNING.overflowWorkers)
    if (live >= wanted || idle + booting >= demand) return
    // Booting costs CPU (tsx, nexflow, zod): more boots at once than cores only slows the imports
    // already running against their deadlines. The next boot starts when one becomes ready.
    if (booting >= this.#maxBooting) return
    this.#spawn()
    // One worker per turn of the event loop: `new Worker()` and `fork()` block the main thread
    // for several milliseconds each, and sixteen in a row would stall it for a noticeable time.
    this.#spawnScheduled = true
    setImmediate(() => {
      this.#spawnScheduled = false
      this.#pump()
    })
  }

  #count(): { booting: number; idle: number; running: number; lingering: number; live: number } {
    const counts = { booting: 0, idle: 0, running: 0, lingering: 0, live: 0 }
    for (const slot of this.#slots) {
      if (slot.state === 'stopping' || slot.state === 'gone') continue
      counts.live++
      if (slot.state === 'booting') counts.booting++
      else if (slot.state === 'idle') counts.idle++
      else if (slot.lingering) counts.lingering++
      else counts.running++
    }
    return counts
  }

  #spawn(): void {
    const { isolation, timeoutMs, stuckGraceMs, maxMemoryMb, init } = this.#options
    const slot = new WorkerSlot(this.#nextSlot++, { isolation, timeoutMs, stuckGraceMs, maxMemoryMb, root: init.root, maxManifestBytes: init.maxManifestBytes }, this.#durations, this.#host)
    this.#slots.add(slot)
    this.#spawned++
    this.#exits.push(slot.exited)
    slot.start(this.#factory, isolateSpec({ maxMemoryMb, init }, this.#files))
  }

  #bootFailed(error: SerializedErrorData): void {
    if (this.#closing !== undefined) return
    if (++this.#bootFailures < POOL_TUNING.maxBootFailures) return
    // Workers cannot start at all (a broken install): fail what is queued instead of retrying forever.
    this.#broken = { ...error, message: `discovery workers fail to start: ${error.message}` }
    for (const task of this.#queue) task.settle(failedOutcome(task, { status: 'crashed', error: this.#broken }, ''))
    this.#queue = []
  }
}
