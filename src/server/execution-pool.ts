import type { MessagePort, Worker } from 'node:worker_threads'
import { Piscina } from 'piscina'
import { NexflowError } from '../errors.js'
import { serializedErrorSchema } from '../protocol/discovery.js'
import { warmReplySchema, type ExecutionWorkerData, type RunReply, type RunTask, type WarmReply } from '../protocol/execution-messages.js'
import { RUN_SEQ_LIMIT, runStartedAt, runStarts } from '../protocol/run-starts.js'
import { EXECUTION_WORKER_FILES } from './worker-files.js'

export interface ExecutionPoolOptions {
  /** Worker threads (each runs one workflow at a time). */
  workers: number
  /** Heap limit of each worker in MB; a run over it fails with `RUN_OUT_OF_MEMORY`. */
  maxMemoryMb: number
  /** After a timed-out worker ignores `terminate()` this long (stuck in native code), it is abandoned. */
  stuckGraceMs: number
  /** The tsconfig.json tsx compiles user files with. */
  tsconfig?: string | undefined
  /** What user code prints goes to stderr (stdout carries a protocol, as with MCP on stdio). */
  stdoutToStderr?: boolean
}

export interface ExecutionPoolStats {
  /** Threads the pool has now. */
  size: number
  busy: number
  queued: number
  /** Threads stopped for a timeout that did not exit: stuck in native code, left behind. */
  abandoned: number
  completed: number
}

export interface RunOptions {
  /** The run's deadline, from when a worker begins it. */
  timeoutMs: number
  /** How long the run may wait for a free worker before it is answered `RUN_TIMEOUT` without running (default 30 s). */
  queueTimeoutMs?: number
  /** Aborting it stops the run (its worker is terminated) with `SERVER_CLOSING`, or its own reason if a NexflowError. */
  signal?: AbortSignal
  /** A streamed run's progress port: sent with the task (transferred, no longer usable here); the worker posts progress on it. */
  progress?: MessagePort
}

/** Why a run was aborted: tells piscina's AbortError apart from the pool's own reasons. */
const TIMED_OUT = Symbol('timed out')
const QUEUE_TIMED_OUT = Symbol('no worker was free')
const DEFAULT_QUEUE_TIMEOUT_MS = 30_000

/**
 * The abort handle piscina takes for one task (it accepts any object with `addEventListener`). Not
 * an AbortController: Node 20 makes every AbortSignal transferable when it is created, which cost
 * more main-thread time per run than the rest of the hand-off together.
 */
class TaskAbort {
  aborted = false
  reason: unknown = undefined
  #listener: (() => void) | undefined

  addEventListener(_type: 'abort', listener: () => void): void {
    this.#listener = listener
  }

  removeEventListener(): void {
    this.#listener = undefined
  }

  abort(reason: unknown): void {
    if (this.aborted) return
    this.aborted = true
    this.reason = reason
    this.#listener?.()
  }
}

/** What to call when a signal aborts, by signal: one listener on each signal, however many runs it covers. */
const abortSubscribers = new WeakMap<AbortSignal, Set<() => void>>()

/**
 * Calls `listener` once when `signal` aborts (at once if it has), until the returned function is
 * called. Every run is given the server's shutdown signal: adding and removing an EventTarget
 * listener for each one showed in the server thread's profile, a Set entry does not.
 */
function onAbort(signal: AbortSignal, listener: () => void): () => void {
  if (signal.aborted) {
    listener()
    return () => undefined
  }
  let listeners = abortSubscribers.get(signal)
  if (listeners === undefined) {
    const subscribed = new Set<() => void>()
    abortSubscribers.set(signal, subscribed)
    signal.addEventListener('abort', () => [...subscribed].forEach((each) => each()), { once: true })
    listeners = subscribed
  }
  listeners.add(listener)
  const own = listeners
  return () => own.delete(listener)
}

/** The worker's answer to a run, checked by hand: this runs once per request on the main thread, where a schema parse showed up in profiles. */
function isRunReply(reply: unknown): reply is RunReply {
  if (reply === null || typeof reply !== 'object') return false
  const { ok, durationMs } = reply as Record<string, unknown>
  if (typeof durationMs !== 'number' || !(durationMs >= 0)) return false
  if (ok === true) return typeof (reply as { outputs?: unknown }).outputs === 'string'
  return ok === false && serializedErrorSchema.safeParse((reply as { error?: unknown }).error).success
}

/**
 * The worker threads that run workflows, built on piscina. The main thread hands a task over and
 * waits for data; it never runs user code. A run over its deadline is stopped by terminating its
 * worker (the only way to stop synchronous code), and piscina starts a replacement.
 */
export class ExecutionPool {
  readonly #piscina: Piscina
  readonly #stuckGraceMs: number
  readonly #starts = runStarts()
  #seq = 0
  #abandoned = 0
  #closed = false

  constructor(options: ExecutionPoolOptions) {
    const workerData: ExecutionWorkerData = {
      entry: EXECUTION_WORKER_FILES.logic,
      runStarts: this.#starts.buffer,
      stdoutToStderr: options.stdoutToStderr === true,
      ...(options.tsconfig === undefined ? {} : { tsconfig: options.tsconfig }),
    }
    this.#stuckGraceMs = options.stuckGraceMs
    this.#piscina = new Piscina({
      filename: EXECUTION_WORKER_FILES.entry,
      minThreads: options.workers,
      maxThreads: options.workers,
      // Workers keep the files they imported: never let one go idle and lose them.
      idleTimeout: Number.POSITIVE_INFINITY,
      concurrentTasksPerWorker: 1,
      // piscina's own wait and run time histograms: nexflow's metrics time runs themselves, and
      // recording each task in two native histograms showed in the server thread's profile.
      recordTiming: false,
      // Between tasks a worker's event loop keeps running (database pools, timers a node set).
      atomics: 'async',
      // Not the parent's flags: under tsx or vitest they would load other loaders into the thread.
      execArgv: [],
      env: { ...process.env, NEXFLOW_EXECUTION: '1' },
      resourceLimits: { maxOldGenerationSizeMb: options.maxMemoryMb },
      workerData,
    })
    // A worker that dies between tasks is replaced by piscina; nothing to report.
    this.#piscina.on('error', () => {})
  }

  get stats(): ExecutionPoolStats {
    const threads = this.#piscina.threads.length
    return {
      size: threads,
      busy: Math.max(0, threads - this.#piscina.idleThreads),
      queued: this.#piscina.queueSize,
      abandoned: this.#abandoned,
      completed: this.#piscina.completed,
    }
  }

  /** Runs a workflow in a worker. Resolves with the worker's answer (a failed run is an answer); rejects for timeouts and dead workers. */
  async run(task: Omit<RunTask, 'seq'>, options: RunOptions): Promise<RunReply> {
    this.#seq = this.#seq >= RUN_SEQ_LIMIT ? 1 : this.#seq + 1
    const seq = this.#seq
    const { progress } = options
    const sent: RunTask = progress === undefined ? { ...task, seq } : { ...task, seq, progress }
    const reply = await this.#submit(sent, { runMs: options.timeoutMs, queueMs: options.queueTimeoutMs ?? DEFAULT_QUEUE_TIMEOUT_MS, seq }, options.signal, progress)
    if (!isRunReply(reply)) throw new NexflowError('INTERNAL', 'an execution worker sent a malformed answer')
    return reply
  }

  /**
   * Imports discovered files in every worker before the first request needs them. One task per
   * worker, sent together: piscina hands each to an idle worker. A failure is reported, not thrown.
   */
  async warm(files: readonly string[], timeoutMs: number, types: readonly string[] = []): Promise<WarmReply[]> {
    if (files.length === 0) return []
    const task = { type: 'warm' as const, files: [...files], ...(types.length === 0 ? {} : { types: [...types] }) }
    const tasks = Array.from({ length: this.#piscina.maxThreads }, () =>
      this.#submit(task, { runMs: timeoutMs }, undefined).then(
        (reply) => warmReplySchema.parse(reply),
        (error: unknown) => ({ warmed: 0, failures: [{ file: '(all)', error: { name: 'Error', message: (error as Error).message } }] }),
      ),
    )
    return Promise.all(tasks)
  }

  /**
   * Hands a task to piscina. With a sequence number, the deadline counts from when a worker
   * begins the task (waiting for a free worker, or for a replacement to boot, is not the run's
   * time), and the wait itself is bounded by `queueMs`; without one, from now. One timer per task:
   * when it fires, the shared start board says whether and when the run began.
   */
  async #submit(task: unknown, deadline: { runMs: number; queueMs?: number; seq?: number }, signal: AbortSignal | undefined, transfer?: MessagePort): Promise<unknown> {
    if (this.#closed) throw new NexflowError('SERVER_CLOSING', 'the server is shutting down; retry on another instance')
    const handle = new TaskAbort()
    const abort = (reason: unknown) => {
      if (handle.aborted) return
      // piscina terminates the worker inside abort(), synchronously: the thread that left the
      // pool is the one this task ran on.
      const before = [...this.#piscina.threads]
      handle.abort(reason)
      for (const worker of before) if (!this.#piscina.threads.includes(worker)) this.#watchTermination(worker)
    }
    const submitted = Date.now()
    const { seq, runMs } = deadline
    const queueMs = deadline.queueMs ?? runMs
    let timer: NodeJS.Timeout | undefined
    const check = () => {
      const now = Date.now()
      const began = seq === undefined ? submitted : runStartedAt(this.#starts, seq)
      if (began !== undefined) {
        if (now >= began + runMs) abort(TIMED_OUT)
        else timer = setTimeout(check, began + runMs - now)
        return
      }
      if (now >= submitted + queueMs) {
        abort(QUEUE_TIMED_OUT)
        return
      }
      // Not begun yet: if it begins this instant, its deadline is a whole run away.
      timer = setTimeout(check, Math.min(submitted + queueMs - now, runMs))
    }
    timer = setTimeout(check, seq === undefined ? runMs : Math.min(queueMs, runMs))
    const unsubscribe = signal === undefined ? undefined : onAbort(signal, () => abort(signal.reason))
    try {
      return await this.#piscina.run(task, transfer === undefined ? { signal: handle } : { signal: handle, transferList: [transfer] })
    } catch (error) {
      throw this.#explain(error, handle, deadline)
    } finally {
      clearTimeout(timer)
      unsubscribe?.()
    }
  }

  #explain(error: unknown, signal: TaskAbort, deadline: { runMs: number; queueMs?: number }): NexflowError {
    if (signal.aborted) {
      if (signal.reason === TIMED_OUT) {
        return new NexflowError('RUN_TIMEOUT', `the run did not finish within ${deadline.runMs} ms; its worker was stopped`, { details: { timeoutMs: deadline.runMs } })
      }
      if (signal.reason === QUEUE_TIMED_OUT) {
        const waited = deadline.queueMs ?? deadline.runMs
        return new NexflowError('RUN_TIMEOUT', `no execution worker was free within ${waited} ms (every worker busy); the run never started, so retrying is safe`, { details: { queueTimeoutMs: waited } })
      }
      if (signal.reason instanceof NexflowError) return signal.reason
      return new NexflowError('SERVER_CLOSING', 'the run was stopped because the server is shutting down', { cause: signal.reason })
    }
    const code = (error as { code?: unknown } | null)?.code
    if (code === 'ERR_WORKER_OUT_OF_MEMORY') {
      return new NexflowError('RUN_OUT_OF_MEMORY', 'the run used more memory than its worker may (maxMemoryMb); its worker was replaced', { cause: error })
    }
    const message = error instanceof Error ? error.message : String(error)
    const exited = /worker exited with code: (-?\d+)/.exec(message)
    if (exited !== null) {
      return new NexflowError('RUN_WORKER_EXITED', `the run ended its worker (process.exit(${exited[1]}) in a node?); its worker was replaced`, {
        cause: error,
        details: { exitCode: Number(exited[1]) },
      })
    }
    return new NexflowError('INTERNAL', `the execution worker failed: ${message}`, { cause: error })
  }

  /** A terminated worker that has not exited after the grace is stuck in native code: abandon it. */
  #watchTermination(worker: Worker): void {
    let exited = false
    worker.once('exit', () => {
      exited = true
    })
    const timer = setTimeout(() => {
      if (exited) return
      this.#abandoned++
      worker.unref()
    }, this.#stuckGraceMs)
    timer.unref()
  }

  /**
   * Stops the pool. In-flight runs are the caller's to wait for; here, runs still going after
   * `graceMs` are stopped with their workers. Bounded: a thread stuck in native code is left behind.
   */
  async close(graceMs: number): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    const destroyed = this.#piscina.destroy()
    let timer: NodeJS.Timeout | undefined
    const bound = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs)
      timer.unref()
    })
    await Promise.race([destroyed, bound])
    clearTimeout(timer)
    for (const worker of this.#piscina.threads) worker.unref()
  }
}
