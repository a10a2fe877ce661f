import { availableParallelism } from 'node:os'
import { relative } from 'node:path'
import { performance } from 'node:perf_hooks'
import type { DiscoveredDataflow, FailureStatus, FileManifest, SerializedErrorData } from '../../protocol/discovery.js'
import { workerToMainMessageSchema, type DescribedDataflow, type WireManifest, type WorkerInit } from '../../protocol/discovery-messages.js'
import { POOL_TUNING } from '../defaults.js'
import type { Isolation } from '../options.js'
import type { Isolate, IsolateExit, IsolateFactory } from './isolate.js'
import { spawnProcess } from './process-isolate.js'
import { spawnThread } from './thread-isolate.js'
import { endedWhileImporting, exitText, failure, malformed, outputText, stuck, timedOut, type Verdict, type VerdictFacts } from './verdicts.js'
import { workerFiles, type WorkerFiles } from './worker-files.js'


/** What became of one file handed to the pool. */
export type TaskOutcome =
  | { kind: 'imported'; manifest: FileManifest; durationMs: number }
  | {
      kind: 'failed'
      status: FailureStatus
      /** As the worker sent it (its `code` may be any string) or as the pool made it. */
      error: SerializedErrorData
      durationMs: number
      /** Local files loaded before it failed (absolute paths): a change to one lifts the quarantine. */
      imports: string[]
      loadingModule?: string
      exitCode?: number
      /**
       * Its import never began: workers could not start, or would not begin it. The failure says
       * nothing about the file, so it is not remembered (the cache does not quarantine it).
       */
      unattempted?: true
    }
  /** The pool was closed before the file was settled. */
  | { kind: 'cancelled' }

type FailedOutcome = Extract<TaskOutcome, { kind: 'failed' }>

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

type SlotState = 'booting' | 'idle' | 'busy' | 'stopping' | 'gone'
type StopReason = 'timeout' | 'invalid' | 'retire' | 'close'

interface Task {
  id: number
  file: string
  resolve: (outcome: TaskOutcome) => void
  settled: boolean
  startedAt: number | undefined
  deadline: NodeJS.Timeout | undefined
  linger: NodeJS.Timeout | undefined
  lingering: boolean
  /** Local modules that started evaluating, in order, without repeats. */
  loading: string[]
  current: string | undefined
  requeued: boolean
}

interface Slot {
  id: number
  isolate: Isolate
  state: SlotState
  task: Task | undefined
  /** Handed over before `task` finished, so the worker starts it without waiting for the main thread. */
  next: Task | undefined
  /** Prefetched tasks taken back when the worker was stopped: what it still says of them is ignored. */
  cancelled: Set<number>
  /** One timer at a time: boot deadline, start deadline, or the grace after a kill. */
  timer: NodeJS.Timeout | undefined
  stopReason: StopReason | undefined
  /** A child process's last words (`crash` message) before it exits. */
  crash: SerializedErrorData | undefined
  imports: number
  /** DataFlow descriptions its worker sent, by id; later manifests name them by id. */
  dataflows: Map<number, { dataflow: DiscoveredDataflow; bytes: number }>
  /** Resolves `exited`: on exit, or when the slot is abandoned. */
  done: () => void
  exited: Promise<void>
  /** Resolves `gone`: only on the real exit event (an abandoned thread's may never come). */
  ended: () => void
}

/**
 * Runs `fn` once `ms` have passed and any message that arrived meanwhile has been read. Node runs
 * expired timers before it reads waiting messages, so when the main thread was busy, a deadline
 * or linger timer would otherwise act on a file whose report is already waiting: a worker killed
 * after it finished, or a file handed over in advance taken back after the worker began it (and
 * evaluated a second time elsewhere). `fn` checks that its file is still the one in hand.
 */
function afterMessages(fn: () => void, ms: number): NodeJS.Timeout {
  return setTimeout(() => setImmediate(fn), ms)
}

/** How long a worker may take to begin a file it was handed before it is replaced: the deadline, within 1-5 s. */
const startTimeoutMs = (timeoutMs: number) => Math.min(5000, Math.max(1000, timeoutMs))
const RECENT_DURATIONS = 32

/**
 * Runs imports in isolated workers with a deadline each, and turns whatever happens to them
 * into a {@link TaskOutcome}. `run()` never rejects.
 *
 * Why raw `Worker`s and child processes instead of piscina's task API: the deadline starts when
 * the worker says it began the file ("started", or `next` in its report on the previous file;
 * queue and boot time excluded), a timed-out task's worker
 * must be killed and then watched to tell a thread that stopped (`timeout`) from one stuck in
 * native code (`stuck`), stuck threads must be abandoned without anything ever awaiting their
 * exit (piscina's `destroy()` awaits every worker's exit), a user's `process.exit(3)` must come
 * back as exit code 3 (piscina folds it into an error message), and process isolation, which
 * piscina does not have, must share all of that. So one small scheduler serves both isolations.
 */
export class DiscoveryPool {
  readonly #options: PoolOptions
  readonly #factory: IsolateFactory
  readonly #files: WorkerFiles
  readonly #slots = new Set<Slot>()
  #queue: Task[] = []
  /** Recent import times (started to answered): a worker's first import apart from the rest. */
  readonly #durations: number[] = []
  readonly #firstDurations: number[] = []
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
  readonly #ends: Promise<void>[] = []

  constructor(options: PoolOptions) {
    this.#options = options
    this.#maxBooting = Math.max(1, Math.min(options.concurrency, availableParallelism()))
    this.#factory = options.factory ?? (options.isolation === 'process' ? spawnProcess : spawnThread)
    this.#files = options.files ?? workerFiles(options.isolation)
  }

  /** Workers started so far, and threads abandoned while stuck in native code. */
  get stats(): { spawned: number; abandoned: number; live: number } {
    return { spawned: this.#spawned, abandoned: this.#abandoned, live: this.#slots.size }
  }

  /** Imports `file` (absolute) in a worker. Resolves once the file is settled; never rejects. */
  run(file: string): Promise<TaskOutcome> {
    return new Promise((resolve) => {
      const task: Task = { id: this.#nextTask++, file, resolve, settled: false, startedAt: undefined, deadline: undefined, linger: undefined, lingering: false, loading: [], current: undefined, requeued: false }
      if (this.#closing !== undefined) return this.#finish(task, { kind: 'cancelled' })
      if (this.#broken !== undefined) return this.#finish(task, this.#verdict(task, { status: 'crashed', error: this.#broken }, undefined))
      this.#queue.push(task)
      this.#pump()
    })
  }

  /**
   * Resolves once every worker this pool started has really exited, including threads abandoned
   * while stuck in native code, which exit only when their call returns (maybe never).
   */
  drained(): Promise<void> {
    return Promise.all(this.#ends).then(() => undefined)
  }

  /** Kills every worker; unsettled files resolve `cancelled`. Resolves once all have exited or been abandoned. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      for (const task of this.#queue) this.#finish(task, { kind: 'cancelled' })
      this.#queue = []
      const slots = [...this.#slots]
      for (const slot of slots) {
        for (const task of [slot.task, slot.next]) if (task !== undefined) this.#finish(task, { kind: 'cancelled' })
        slot.task = undefined
        slot.next = undefined
        if (slot.state !== 'stopping') this.#stop(slot, 'close')
      }
      await Promise.all(slots.map((slot) => slot.exited))
    })()
    return this.#closing
  }

  #relative(path: string): string {
    return relative(this.#options.init.root, path) || path
  }

  // Scheduling ----------------------------------------------------------------------------------

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
      if (slot.state === 'idle' && this.#count().running < concurrency) this.#assign(slot, this.#queue.shift() as Task)
    }
    // Each running worker also gets its next file now, so it goes on without waiting for this
    // thread to read its answer and reply. (Not behind a file that lingers: that one may hang.)
    for (const slot of this.#slots) {
      if (this.#queue.length === 0) break
      const task = slot.task
      if (slot.state === 'busy' && slot.next === undefined && task?.startedAt !== undefined && !task.lingering) this.#prefetch(slot, this.#queue.shift() as Task)
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
      else if (slot.task?.lingering === true) counts.lingering++
      else counts.running++
    }
    return counts
  }

  #spawn(): void {
    let done = () => {}
    const exited = new Promise<void>((resolve) => (done = resolve))
    let ended = () => {}
    this.#ends.push(new Promise<void>((resolve) => (ended = resolve)))
    const slot = { id: this.#nextSlot++, state: 'booting', task: undefined, next: undefined, cancelled: new Set(), timer: undefined, stopReason: undefined, crash: undefined, imports: 0, dataflows: new Map(), done, exited, ended } as unknown as Slot
    this.#slots.add(slot)
    this.#spawned++
    try {
      slot.isolate = this.#factory(
        {
          bootstrap: this.#files.bootstrap,
          entry: this.#files.entry,
          init: { ...this.#options.init, hooksUrl: this.#files.hooks },
          maxMemoryMb: this.#options.maxMemoryMb,
          outputTailBytes: POOL_TUNING.outputTailBytes,
        },
        { message: (raw) => this.#onMessage(slot, raw), exit: (exit) => this.#onExit(slot, exit) },
      )
    } catch (error) {
      this.#slots.delete(slot)
      slot.state = 'gone'
      done()
      ended()
      this.#bootFailed(failure('DISCOVERY_CRASHED', `discovery could not start a worker: ${(error as Error).message}`))
      return
    }
    slot.timer = setTimeout(() => this.#stop(slot, 'retire'), POOL_TUNING.bootTimeoutMs)
  }

  #assign(slot: Slot, task: Task): void {
    // Work has arrived: from here on, workers are started for it alone.
    this.#warm = 0
    slot.state = 'busy'
    slot.task = task
    clearTimeout(slot.timer)
    // The worker answers "started" at once unless something the last file left behind blocks it.
    slot.timer = afterMessages(() => {
      if (slot.task === task && task.startedAt === undefined) this.#notStarted(slot, task)
    }, startTimeoutMs(this.#options.timeoutMs))
    slot.isolate.send({ type: 'import', taskId: task.id, file: task.file })
  }

  #prefetch(slot: Slot, task: Task): void {
    slot.next = task
    slot.isolate.send({ type: 'import', taskId: task.id, file: task.file })
  }

  /**
   * Puts a slot's prefetched task back at the head of the queue (not the file's fault). Only for a
   * worker being stopped or gone: a live worker may begin its prefetched file at any moment.
   */
  #reclaimNext(slot: Slot): void {
    const next = slot.next
    if (next === undefined) return
    slot.next = undefined
    slot.cancelled.add(next.id)
    if (!next.settled) this.#queue.unshift(next)
  }

  #notStarted(slot: Slot, task: Task): void {
    slot.task = undefined
    this.#stop(slot, 'retire')
    if (task.requeued) {
      const message = `two workers in a row did not begin importing ${this.#relative(task.file)} within ${startTimeoutMs(this.#options.timeoutMs)} ms of receiving it`
      this.#finish(task, this.#verdict(task, { status: 'crashed', error: failure('DISCOVERY_CRASHED', message) }, slot))
    } else {
      // Not the file's fault: its worker was unresponsive. Try once more on a fresh one.
      task.requeued = true
      this.#queue.unshift(task)
    }
    this.#pump()
  }

  /**
   * The time a task may run before it stops counting toward `concurrency` (see POOL_TUNING). A
   * worker's first import also loads the application's dependencies (nexflow, zod, its models),
   * so it is measured against other workers' first imports: against the rest, every fresh worker
   * would look like a hang and call for another.
   */
  #lingerMs(slot: Slot): number {
    const { lingerMinMs, lingerMaxMs, lingerFactor } = POOL_TUNING
    const cap = Math.min(lingerMaxMs, this.#options.timeoutMs / 4)
    const first = slot.imports === 0
    const samples = first ? this.#firstDurations : this.#durations
    if (samples.length === 0) return cap
    const sorted = [...samples].sort((a, b) => a - b)
    const median = sorted[Math.floor(sorted.length / 2)] as number
    return Math.min(cap, Math.max(lingerMinMs, median * (first ? 2 : lingerFactor)))
  }

  // Messages --------------------------------------------------------------------------------------

  #onMessage(slot: Slot, raw: unknown): void {
    if (slot.state === 'gone' || slot.state === 'stopping') return
    let parsed: ReturnType<typeof workerToMainMessageSchema.safeParse>
    try {
      parsed = workerToMainMessageSchema.safeParse(raw)
    } catch (error) {
      // zod walks nested JSON recursively: a value nested a few thousand levels deep overflows
      // this thread's stack and throws instead of failing. Thrown here, it would be uncaught in
      // a worker's 'message' event and end the whole process.
      return this.#malformed(slot, `it cannot be validated (${String(error)})`)
    }
    if (!parsed.success) {
      const issue = parsed.error.issues[0]
      return this.#malformed(slot, issue === undefined ? 'unreadable' : `${issue.path.join('.') || '(message)'}: ${issue.message}`)
    }
    const message = parsed.data
    if (message.type === 'ready') {
      if (slot.state !== 'booting') return this.#malformed(slot, 'a second "ready"')
      clearTimeout(slot.timer)
      slot.state = 'idle'
      this.#bootFailures = 0
      return this.#pump()
    }
    if (message.type === 'crash') {
      // Only a child process says this (a thread's uncaught error is its 'error' event): from a
      // thread it would be user code putting words in the worker's mouth.
      if (this.#options.isolation !== 'process') return this.#malformed(slot, 'a "crash" message, which only a child process sends')
      slot.crash = message.error
      return
    }
    if (message.type === 'cancelled') {
      // The prefetched file is back, never begun: another worker may take it. (Anything else:
      // an answer to a request that has moved on since, or a lie; either way nothing to do.)
      const next = slot.next
      if (next === undefined || next.id !== message.taskId) return
      slot.next = undefined
      if (!next.settled) this.#queue.unshift(next)
      return this.#pump()
    }
    if (slot.cancelled.has(message.taskId)) {
      // A file taken back as this worker was being stopped: whatever it says of it no longer counts.
      if (message.type === 'started') this.#stop(slot, 'retire')
      return
    }
    const task = slot.task
    if (task === undefined || slot.state !== 'busy' || message.taskId !== task.id) return this.#malformed(slot, `a "${message.type}" message for a file it was not importing`)
    switch (message.type) {
      case 'started': {
        if (task.startedAt !== undefined) return this.#malformed(slot, 'a second "started"')
        return this.#begin(slot, task)
      }
      case 'loading': {
        if (task.startedAt === undefined) return this.#malformed(slot, '"loading" before "started"')
        task.current = message.module
        if (!task.loading.includes(message.module)) task.loading.push(message.module)
        return
      }
      case 'imported': {
        if (message.manifest.file !== task.file) return this.#malformed(slot, `a manifest for ${JSON.stringify(message.manifest.file)} instead of the file it was importing`)
        const manifest = this.#assemble(slot, message.manifest, message.described ?? [])
        if (typeof manifest === 'string') return this.#malformed(slot, manifest)
        this.#recordDuration(slot, task)
        this.#finish(task, { kind: 'imported', manifest, durationMs: manifest.importMs })
        return this.#release(slot, message.retire, message.next)
      }
      case 'failed': {
        this.#recordDuration(slot, task)
        const error: SerializedErrorData = { ...message.error, ...this.#withOutput(slot, message.error.details) }
        this.#finish(task, {
          kind: 'failed',
          status: message.status,
          error,
          durationMs: message.importMs,
          imports: message.imports,
          ...(error.stack === undefined && task.current !== undefined ? { loadingModule: task.current } : {}),
        })
        return this.#release(slot, message.retire, message.next)
      }
    }
  }

  /** The import of `task` began in `slot`'s worker: its deadline starts now. */
  #begin(slot: Slot, task: Task): void {
    clearTimeout(slot.timer)
    slot.timer = undefined
    task.startedAt = performance.now()
    // Until the worker names another module, the file itself is what is loading.
    task.current = task.file
    // The deadline is the main thread's timer: nothing the user's module does to its own
    // thread's timers or event loop can delay it.
    const current = () => !task.settled && slot.task === task && slot.state === 'busy'
    task.deadline = afterMessages(() => {
      if (current()) this.#stop(slot, 'timeout')
    }, this.#options.timeoutMs)
    task.linger = afterMessages(() => {
      if (!current()) return
      task.lingering = true
      this.#lingered = true
      // Ask for the file handed over in advance back. It is handed elsewhere only once the worker
      // answers "cancelled": it may be beginning it right now (its report would say so), and
      // taking it back regardless evaluated it twice under load. A worker blocked in this import
      // cannot answer; the file then waits until the deadline kills the worker, which has
      // certainly not begun it (it begins the next file only as it reports this one).
      const next = slot.next
      if (next !== undefined) slot.isolate.send({ type: 'cancel', taskId: next.id })
      this.#pump()
    }, this.#lingerMs(slot))
  }

  /**
   * The manifest a worker sent, with its DataFlow instances put back from their ids (see
   * `wireManifestSchema`), or why it cannot be. The size limit counts each description in full.
   */
  #assemble(slot: Slot, wire: WireManifest, described: DescribedDataflow[]): FileManifest | string {
    for (const { id, dataflow } of described) {
      if (slot.dataflows.has(id)) return `DataFlow description #${id} a second time`
      // Described only with the manifest that names it: nothing unnamed is kept, or escapes the size limit.
      if (!wire.dataflows.includes(id)) return `DataFlow description #${id}, which its manifest does not name`
      slot.dataflows.set(id, { dataflow, bytes: JSON.stringify(dataflow).length })
    }
    const { maxManifestBytes } = this.#options.init
    // The size the manifest has in full, as the worker measured it: each id replaced by its description.
    let size = JSON.stringify(wire).length
    const dataflows: DiscoveredDataflow[] = []
    for (const id of wire.dataflows) {
      const known = slot.dataflows.get(id)
      if (known === undefined) return `DataFlow #${id}, which it never described`
      dataflows.push(known.dataflow)
      size += known.bytes - String(id).length
    }
    if (size > maxManifestBytes) return `a manifest of ${size} bytes, over the ${maxManifestBytes}-byte limit`
    return { ...wire, dataflows }
  }

  #recordDuration(slot: Slot, task: Task): void {
    if (task.startedAt === undefined) return
    // A worker's first import also loads nexflow and its dependencies: not typical of a file.
    const samples = slot.imports++ === 0 ? this.#firstDurations : this.#durations
    samples.push(performance.now() - task.startedAt)
    if (samples.length > RECENT_DURATIONS) samples.shift()
  }

  /** The worker reported on its file; `began` is the file it says it began right after, if any. */
  #release(slot: Slot, retire: string | undefined, began: number | undefined): void {
    slot.task = undefined
    const next = slot.next
    if (retire !== undefined) {
      this.#stop(slot, 'retire')
    } else if (began !== undefined && began === next?.id) {
      slot.next = undefined
      slot.task = next
      this.#begin(slot, next)
    } else if (began !== undefined) {
      // A file taken back when this worker was being stopped, or never handed over.
      if (!slot.cancelled.has(began)) return this.#malformed(slot, `began task ${began}, which it was not handed`)
      const waiting = this.#queue.findIndex((task) => task.id === began)
      if (waiting !== -1) {
        // Still waiting for another worker: it stays with this one, evaluated once.
        const [task] = this.#queue.splice(waiting, 1) as [Task]
        slot.cancelled.delete(began)
        slot.task = task
        this.#begin(slot, task)
      } else {
        // Already handed to another worker, which may begin it too: this one goes.
        this.#stop(slot, 'retire')
      }
    } else if (next !== undefined) {
      // The worker is about to begin the file it was handed in advance.
      slot.next = undefined
      slot.task = next
      slot.timer = afterMessages(() => {
        if (slot.task === next && next.startedAt === undefined) this.#notStarted(slot, next)
      }, startTimeoutMs(this.#options.timeoutMs))
    } else {
      slot.state = 'idle'
    }
    this.#pump()
  }

  /**
   * A worker is untrusted: a message that does not parse fails the file it is importing and ends
   * the worker. (Before it said "started", the file in its hands is not to blame: the message
   * comes from something an earlier file left running.)
   */
  #malformed(slot: Slot, why: string): void {
    const task = slot.task
    if (task !== undefined && task.startedAt !== undefined) this.#finish(task, this.#verdict(task, malformed(this.#facts(task), why), slot))
    this.#stop(slot, 'invalid')
  }

  // Stopping and exits ----------------------------------------------------------------------------

  #stop(slot: Slot, reason: StopReason): void {
    if (slot.state === 'stopping' || slot.state === 'gone') return
    const wasBooting = slot.state === 'booting'
    this.#reclaimNext(slot)
    const unstarted = slot.task
    if (unstarted !== undefined && unstarted.startedAt === undefined && reason !== 'close') {
      // Handed over but not begun: it goes to another worker, its file not blamed.
      slot.task = undefined
      if (!unstarted.settled) this.#queue.unshift(unstarted)
    }
    slot.state = 'stopping'
    slot.stopReason = reason
    clearTimeout(slot.timer)
    if (wasBooting && reason === 'retire') this.#bootFailed(failure('DISCOVERY_CRASHED', `a discovery worker did not start within ${POOL_TUNING.bootTimeoutMs} ms`))
    slot.isolate.kill()
    // terminate() stops JavaScript in milliseconds; a thread still running after the grace is
    // blocked in native code and will not stop until that call returns.
    slot.timer = setTimeout(() => this.#abandon(slot), this.#options.stuckGraceMs)
    this.#pump()
  }

  #abandon(slot: Slot): void {
    if (slot.state === 'gone') return
    slot.state = 'gone'
    this.#slots.delete(slot)
    this.#abandoned++
    // It may never exit; it must not keep the process's event loop alive.
    slot.isolate.unref()
    const task = slot.task
    if (task !== undefined && !task.settled && slot.stopReason === 'timeout') {
      // Only a thread can be stuck: a process group was sent SIGKILL, which nothing can block. If
      // its exit has not been seen yet (a short grace, a loaded machine), it is dying, not stuck.
      const facts = this.#facts(task)
      this.#finish(task, this.#verdict(task, this.#options.isolation === 'process' ? timedOut(facts) : stuck(facts), slot))
    }
    slot.done()
    this.#pump()
  }

  #onExit(slot: Slot, exit: IsolateExit): void {
    slot.ended()
    if (slot.state === 'gone') return // abandoned earlier; its late exit changes nothing
    const wasBooting = slot.state === 'booting'
    clearTimeout(slot.timer)
    this.#reclaimNext(slot)
    slot.state = 'gone'
    this.#slots.delete(slot)
    const task = slot.task
    if (task !== undefined && !task.settled && task.startedAt === undefined && !task.requeued) {
      // Handed over but not begun: what ended the worker was left by an earlier file. Another
      // worker takes it, once.
      task.requeued = true
      this.#queue.unshift(task)
    } else if (task !== undefined && !task.settled) {
      const facts = this.#facts(task)
      this.#finish(task, this.#verdict(task, slot.stopReason === 'timeout' ? timedOut(facts) : endedWhileImporting(facts, exit, slot.crash), slot))
    }
    if (wasBooting) this.#bootFailed(exit.error ?? slot.crash ?? failure('DISCOVERY_CRASHED', `a discovery worker ended while starting (${exitText(exit)})${outputText(slot.isolate.takeOutput())}`))
    slot.done()
    this.#pump()
  }

  #bootFailed(error: SerializedErrorData): void {
    if (this.#closing !== undefined) return
    if (++this.#bootFailures < POOL_TUNING.maxBootFailures) return
    // Workers cannot start at all (a broken install): fail what is queued instead of retrying forever.
    this.#broken = { ...error, message: `discovery workers fail to start: ${error.message}` }
    for (const task of this.#queue) this.#finish(task, this.#verdict(task, { status: 'crashed', error: this.#broken }, undefined))
    this.#queue = []
  }

  // Outcomes --------------------------------------------------------------------------------------

  #elapsed(task: Task): number {
    return task.startedAt === undefined ? 0 : performance.now() - task.startedAt
  }

  #facts(task: Task): VerdictFacts {
    const { isolation, timeoutMs, stuckGraceMs, maxMemoryMb } = this.#options
    return { file: this.#relative(task.file), isolation, timeoutMs, stuckGraceMs, maxMemoryMb, elapsedMs: this.#elapsed(task), loading: task.current === undefined ? undefined : this.#relative(task.current) }
  }

  #withOutput(slot: Slot | undefined, details: Record<string, unknown> | undefined): { details?: Record<string, unknown> } {
    const output = slot?.isolate.takeOutput() ?? ''
    if (output === '' && details === undefined) return {}
    return { details: { ...details, ...(output === '' ? {} : { output }) } }
  }

  /** A failed outcome for `task`: the verdict, what the worker printed, what it had loaded. */
  #verdict(task: Task, verdict: Verdict, slot: Slot | undefined): FailedOutcome {
    return {
      kind: 'failed',
      status: verdict.status,
      error: { ...verdict.error, ...this.#withOutput(slot, verdict.error.details) },
      durationMs: this.#elapsed(task),
      imports: task.loading.filter((path) => path !== task.file),
      ...(task.current === undefined ? {} : { loadingModule: task.current }),
      ...(verdict.exitCode === undefined ? {} : { exitCode: verdict.exitCode }),
      ...(task.startedAt === undefined ? { unattempted: true as const } : {}),
    }
  }

  #finish(task: Task, outcome: TaskOutcome): void {
    if (task.settled) return
    task.settled = true
    clearTimeout(task.deadline)
    clearTimeout(task.linger)
    task.resolve(outcome)
  }
}

