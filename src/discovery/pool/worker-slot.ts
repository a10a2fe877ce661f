import { relative } from 'node:path'
import { performance } from 'node:perf_hooks'
import { afterMessages } from '../../after-messages.js'
import type { SerializedErrorData } from '../../protocol/discovery.js'
import { workerToMainMessageSchema, type WorkerToMainMessage } from '../../protocol/discovery-messages.js'
import { POOL_TUNING } from '../defaults.js'
import type { Isolation } from '../options.js'
import type { ImportDurations } from './import-durations.js'
import type { Isolate, IsolateExit, IsolateFactory, IsolateSpec } from './isolate.js'
import { assembleManifest, type KnownDataflow } from './manifest-assembly.js'
import { failedOutcome, withOutput, type Task, type TaskOutcome } from './task.js'
import { splitLargeReport, validateWorkflowsInPieces } from './validate-in-pieces.js'
import { endedWhileImporting, exitText, failure, malformed, outputText, stuck, timedOut, type VerdictFacts } from './verdicts.js'

/**
 * - `booting`: started, not yet "ready".
 * - `idle`: ready, holding no file.
 * - `busy`: holding a file (handed over, maybe not begun yet), and maybe the next one in advance.
 * - `stopping`: killed; waiting for its exit, or for the grace to run out (then abandoned).
 * - `gone`: exited, or abandoned while stuck in native code. Final.
 */
export type SlotState = 'booting' | 'idle' | 'busy' | 'stopping' | 'gone'
type StopReason = 'timeout' | 'invalid' | 'retire' | 'close'

/** The limits a slot enforces, from the pool's options. */
export interface SlotLimits {
  isolation: Isolation
  timeoutMs: number
  stuckGraceMs: number
  maxMemoryMb: number
  root: string
  maxManifestBytes: number
}

/** What a slot tells the pool (the scheduler); the pool decides what runs where. */
export interface SlotHost {
  /** A file this slot was handed goes back to the head of the queue, not blamed: another worker takes it. */
  requeue(task: Task): void
  /** The slot's state changed: files may be handed out, workers started. */
  changed(): void
  /** Its worker said "ready". */
  ready(): void
  /** Its worker did not start (see POOL_TUNING.maxBootFailures). */
  bootFailed(error: SerializedErrorData): void
  /** Its file ran past the linger threshold. */
  lingered(): void
  /** The slot is `gone`: it no longer counts as a worker of the pool. */
  removed(slot: WorkerSlot, abandoned: boolean): void
}

/** How long a worker may take to begin a file it was handed before it is replaced: the deadline, within 1-5 s. */
export const startTimeoutMs = (timeoutMs: number) => Math.min(5000, Math.max(1000, timeoutMs))

/**
 * One worker (thread or child process) of the discovery pool, with everything that concerns it
 * alone: its state, its timers (boot, start, deadline, linger, grace after a kill), the file it
 * imports and the one handed to it in advance, checking what its worker says, and the verdict on
 * a file when the worker fails it. Only the slot changes its own state; the pool hands it files.
 */
export class WorkerSlot {
  readonly id: number
  readonly #limits: SlotLimits
  readonly #durations: ImportDurations
  readonly #host: SlotHost
  #state: SlotState = 'booting'
  #isolate: Isolate | undefined
  #task: Task | undefined
  /** Handed over before `#task` finished, so the worker starts it without waiting for the main thread. */
  #next: Task | undefined
  /** One at a time: the boot deadline, the start deadline, or the grace after a kill. */
  #timer: NodeJS.Timeout | undefined
  /** The deadline and linger threshold of `#task`, from the moment it began. */
  #deadline: NodeJS.Timeout | undefined
  #linger: NodeJS.Timeout | undefined
  #stopReason: StopReason | undefined
  /** A child process's last words (`crash` message) before it exits. */
  #lastWords: SerializedErrorData | undefined
  #imports = 0
  /** DataFlow descriptions its worker sent, by id; later manifests name them by id. */
  readonly #dataflows = new Map<number, KnownDataflow>()
  /**
   * Set while a large manifest is validated in pieces: what its worker says meanwhile (messages,
   * its exit) waits here, in order, so the slot sees its worker's events in the order they came.
   */
  #held: (() => void)[] | undefined
  #markGone = () => {}
  #markExited = () => {}
  /** Resolves when the slot is `gone`: its worker exited, or was abandoned. */
  readonly gone = new Promise<void>((resolve) => (this.#markGone = resolve))
  /** Resolves on its worker's real exit only: an abandoned thread's may never come. */
  readonly exited = new Promise<void>((resolve) => (this.#markExited = resolve))

  constructor(id: number, limits: SlotLimits, durations: ImportDurations, host: SlotHost) {
    this.id = id
    this.#limits = limits
    this.#durations = durations
    this.#host = host
  }

  get state(): SlotState {
    return this.#state
  }

  /** Its file is past the linger threshold (it no longer counts toward `concurrency`). */
  get lingering(): boolean {
    return this.#task?.lingering === true
  }

  /** Busy with a file that began and is not lingering, and holding none in advance. */
  get acceptsNext(): boolean {
    const task = this.#task
    return this.#state === 'busy' && this.#next === undefined && task?.startedAt !== undefined && !task.lingering
  }

  /** Starts its worker. False (and the slot `gone`) if it could not even be started. */
  start(factory: IsolateFactory, spec: IsolateSpec): boolean {
    try {
      this.#isolate = factory(spec, { message: (raw) => this.#onMessage(raw), exit: (exit) => this.#onExit(exit) })
    } catch (error) {
      this.#state = 'gone'
      this.#markGone()
      this.#markExited()
      this.#host.removed(this, false)
      this.#host.bootFailed(failure('DISCOVERY_CRASHED', `discovery could not start a worker: ${(error as Error).message}`))
      return false
    }
    this.#timer = setTimeout(() => this.stop('retire'), POOL_TUNING.bootTimeoutMs)
    return true
  }

  /** Hands an idle worker a file. */
  assign(task: Task): void {
    this.#state = 'busy'
    this.#task = task
    clearTimeout(this.#timer)
    // The worker answers "started" at once unless something the last file left behind blocks it.
    this.#timer = afterMessages(() => {
      if (this.#task === task && task.startedAt === undefined) this.#notStarted(task)
    }, startTimeoutMs(this.#limits.timeoutMs))
    this.#send(task)
  }

  /** Hands a busy worker its next file in advance (see {@link acceptsNext}). */
  prefetch(task: Task): void {
    this.#next = task
    this.#send(task)
  }

  /** Settles what it holds as cancelled and kills its worker (the pool is closing). */
  close(): void {
    for (const task of [this.#task, this.#next]) task?.settle({ kind: 'cancelled' })
    this.#clearTaskTimers()
    this.#task = undefined
    this.#next = undefined
    this.stop('close')
  }

  #send(task: Task): void {
    this.#isolate?.send({ type: 'import', taskId: task.id, file: task.file })
  }

  // What its worker says -------------------------------------------------------------------------

  #onMessage(raw: unknown): void {
    if (this.#held !== undefined) return void this.#held.push(() => this.#onMessage(raw))
    if (this.#state === 'gone' || this.#state === 'stopping') return
    const large = splitLargeReport(raw)
    const task = this.#task
    // Only the report on the file in hand: anything else takes the ordinary path (and is refused there).
    if (large !== undefined && task?.startedAt !== undefined && this.#state === 'busy' && large.taskId === task.id) return this.#validateInPieces(large)
    let parsed: ReturnType<typeof workerToMainMessageSchema.safeParse>
    try {
      parsed = workerToMainMessageSchema.safeParse(raw)
    } catch (error) {
      // zod walks nested JSON recursively: a value nested a few thousand levels deep overflows
      // this thread's stack and throws instead of failing. Thrown here, it would be uncaught in
      // a worker's 'message' event and end the whole process.
      return this.#malformed(`it cannot be validated (${String(error)})`)
    }
    if (!parsed.success) {
      const issue = parsed.error.issues[0]
      return this.#malformed(issue === undefined ? 'unreadable' : `${issue.path.join('.') || '(message)'}: ${issue.message}`)
    }
    this.#handle(parsed.data)
  }

  /**
   * Validates a report on the file in hand whose manifest has many workflows in pieces (see
   * validate-in-pieces.ts), so other workers' deadlines fire on time meanwhile. The report is in,
   * so this file's own deadline stops; what its worker says meanwhile is held, in order.
   */
  #validateInPieces(large: NonNullable<ReturnType<typeof splitLargeReport>>): void {
    const task = this.#task as Task
    this.#clearTaskTimers()
    let parsed: ReturnType<typeof workerToMainMessageSchema.safeParse>
    try {
      parsed = workerToMainMessageSchema.safeParse(large.envelope)
    } catch (error) {
      return this.#malformed(`it cannot be validated (${String(error)})`)
    }
    if (!parsed.success || parsed.data.type !== 'imported') {
      const issue = parsed.error?.issues[0]
      return this.#malformed(issue === undefined ? 'unreadable' : `${issue.path.join('.') || '(message)'}: ${issue.message}`)
    }
    const message = parsed.data
    const held: (() => void)[] = []
    this.#held = held
    validateWorkflowsInPieces(large.workflows, {
      // Stopped meanwhile (the pool closing): what it reported no longer counts.
      wanted: () => {
        const wanted = this.#state === 'busy' && this.#task === task
        if (!wanted) this.#replayHeld(held)
        return wanted
      },
      done: (workflows, bytes) => {
        this.#held = undefined
        // The manifest's length as JSON: with its workflows, `[]` becomes `[w1,w2,...]`.
        const wireBytes = JSON.stringify(message.manifest).length + bytes + workflows.length - 1
        this.#handle({ ...message, manifest: { ...message.manifest, workflows } }, wireBytes)
        this.#replayHeld(held)
      },
      invalid: (why) => {
        this.#held = undefined
        this.#malformed(why)
        this.#replayHeld(held)
      },
    })
  }

  /** Replays the events held during a validation in pieces, in order (holding the rest again if one starts another). */
  #replayHeld(held: (() => void)[]): void {
    if (this.#held === held) this.#held = undefined
    while (held.length > 0) {
      if (this.#held !== undefined) return void this.#held.unshift(...held)
      ;(held.shift() as () => void)()
    }
  }

  /** A message that passed the schema. `wireBytes`: its manifest's length as JSON, if measured already. */
  #handle(message: WorkerToMainMessage, wireBytes?: number): void {
    if (message.type === 'ready') {
      if (this.#state !== 'booting') return this.#malformed('a second "ready"')
      clearTimeout(this.#timer)
      this.#state = 'idle'
      this.#host.ready()
      return this.#host.changed()
    }
    if (message.type === 'crash') {
      // Only a child process says this (a thread's uncaught error is its 'error' event): from a
      // thread it would be user code putting words in the worker's mouth.
      if (this.#limits.isolation !== 'process') return this.#malformed('a "crash" message, which only a child process sends')
      this.#lastWords = message.error
      return
    }
    if (message.type === 'cancelled') {
      // The file handed over in advance is back, never begun: another worker may take it.
      // (Anything else: an answer to a request that has moved on since, or a lie; nothing to do.)
      const next = this.#next
      if (next === undefined || next.id !== message.taskId) return
      this.#next = undefined
      this.#host.requeue(next)
      return this.#host.changed()
    }
    const task = this.#task
    if (task === undefined || this.#state !== 'busy' || message.taskId !== task.id) return this.#malformed(`a "${message.type}" message for a file it was not importing`)
    switch (message.type) {
      case 'started': {
        if (task.startedAt !== undefined) return this.#malformed('a second "started"')
        return this.#begin(task)
      }
      case 'loading': {
        if (task.startedAt === undefined) return this.#malformed('"loading" before "started"')
        return task.loaded(message.module)
      }
      case 'imported': {
        if (message.manifest.file !== task.file) return this.#malformed(`a manifest for ${JSON.stringify(message.manifest.file)} instead of the file it was importing`)
        const assembly = assembleManifest(this.#dataflows, message.manifest, message.described ?? [], this.#limits.maxManifestBytes, wireBytes)
        if ('problem' in assembly) return this.#malformed(assembly.problem)
        for (const [id, known] of assembly.learned) this.#dataflows.set(id, known)
        this.#recordDuration(task)
        this.#settle(task, { kind: 'imported', manifest: assembly.manifest, durationMs: assembly.manifest.importMs })
        return this.#release(message.retire, message.next)
      }
      case 'failed': {
        this.#recordDuration(task)
        const error: SerializedErrorData = { ...message.error, ...withOutput(this.#takeOutput(), message.error.details) }
        this.#settle(task, {
          kind: 'failed',
          status: message.status,
          error,
          durationMs: message.importMs,
          imports: message.imports,
          ...(error.stack === undefined && task.current !== undefined ? { loadingModule: task.current } : {}),
        })
        return this.#release(message.retire, message.next)
      }
    }
  }

  /** The import of `task` began: its deadline starts now. */
  #begin(task: Task): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    task.began()
    // The deadline is the main thread's timer: nothing the user's module does to its own
    // thread's timers or event loop can delay it.
    // Not once its report is in, even if it is still being validated in pieces.
    const current = () => !task.settled && this.#task === task && this.#state === 'busy' && this.#held === undefined
    this.#deadline = afterMessages(() => {
      if (current()) this.stop('timeout')
    }, this.#limits.timeoutMs)
    this.#linger = afterMessages(() => {
      if (!current()) return
      task.lingering = true
      this.#host.lingered()
      // Ask for the file handed over in advance back. It is handed elsewhere only once the worker
      // answers "cancelled": it may be beginning it right now (its report would say so), and
      // taking it back regardless evaluated it twice under load. A worker blocked in this import
      // cannot answer; the file then waits until the deadline kills the worker, which has
      // certainly not begun it (it begins the next file only as it reports this one).
      const next = this.#next
      if (next !== undefined) this.#isolate?.send({ type: 'cancel', taskId: next.id })
      this.#host.changed()
    }, this.#durations.lingerMs(this.#imports === 0, this.#limits.timeoutMs))
  }

  #recordDuration(task: Task): void {
    if (task.startedAt === undefined) return
    // A worker's first import also loads nexflow and its dependencies: not typical of a file.
    this.#durations.record(this.#imports++ === 0, performance.now() - task.startedAt)
  }

  /** The worker reported on its file; `began` is the file it says it began right after, if any. */
  #release(retire: string | undefined, began: number | undefined): void {
    this.#task = undefined
    const next = this.#next
    if (retire !== undefined) {
      this.stop('retire')
    } else if (began !== undefined && began === next?.id) {
      this.#next = undefined
      this.#task = next
      this.#begin(next)
    } else if (began !== undefined) {
      // Only a file handed to it in advance can be begun this way.
      return this.#malformed(`began task ${began}, which it was not handed`)
    } else if (next !== undefined) {
      // The worker is about to begin the file it was handed in advance.
      this.#next = undefined
      this.#task = next
      this.#timer = afterMessages(() => {
        if (this.#task === next && next.startedAt === undefined) this.#notStarted(next)
      }, startTimeoutMs(this.#limits.timeoutMs))
    } else {
      this.#state = 'idle'
    }
    this.#host.changed()
  }

  /**
   * A worker is untrusted: a message that does not parse fails the file it is importing and ends
   * the worker. (Before it said "started", the file in its hands is not to blame: the message
   * comes from something an earlier file left running.)
   */
  #malformed(why: string): void {
    const task = this.#task
    if (task !== undefined && task.startedAt !== undefined) this.#settle(task, failedOutcome(task, malformed(this.#facts(task), why), this.#takeOutput()))
    this.stop('invalid')
  }

  /** Its worker never began the file it was handed: not the file's fault, unless it happens twice. */
  #notStarted(task: Task): void {
    this.#task = undefined
    this.stop('retire')
    if (task.requeued) {
      const message = `two workers in a row did not begin importing ${this.#relative(task.file)} within ${startTimeoutMs(this.#limits.timeoutMs)} ms of receiving it`
      this.#settle(task, failedOutcome(task, { status: 'crashed', error: failure('DISCOVERY_CRASHED', message) }, this.#takeOutput()))
    } else {
      // Its worker was unresponsive. Try once more on a fresh one.
      task.requeued = true
      this.#host.requeue(task)
    }
    this.#host.changed()
  }

  // Stopping and exits ---------------------------------------------------------------------------

  /** Kills its worker: at the deadline, for a lie, to retire it, or on close. */
  stop(reason: StopReason): void {
    if (this.#state === 'stopping' || this.#state === 'gone') return
    const wasBooting = this.#state === 'booting'
    this.#reclaimNext()
    const unstarted = this.#task
    if (unstarted !== undefined && unstarted.startedAt === undefined && reason !== 'close') {
      // Handed over but not begun: it goes to another worker, its file not blamed.
      this.#task = undefined
      this.#host.requeue(unstarted)
    }
    if (reason === 'timeout' && this.#task !== undefined) this.#task.killedAt = performance.now()
    this.#state = 'stopping'
    this.#stopReason = reason
    clearTimeout(this.#timer)
    if (wasBooting && reason === 'retire') this.#host.bootFailed(failure('DISCOVERY_CRASHED', `a discovery worker did not start within ${POOL_TUNING.bootTimeoutMs} ms`))
    this.#isolate?.kill()
    // terminate() stops JavaScript in milliseconds; a thread still running after the grace is
    // blocked in native code and will not stop until that call returns.
    this.#timer = setTimeout(() => this.#abandon(), this.#limits.stuckGraceMs)
    this.#host.changed()
  }

  /** Puts the file handed over in advance back in the queue: only for a worker stopping or gone, as a live one may begin it at any moment. */
  #reclaimNext(): void {
    const next = this.#next
    if (next === undefined) return
    this.#next = undefined
    this.#host.requeue(next)
  }

  #abandon(): void {
    if (this.#state === 'gone') return
    this.#state = 'gone'
    this.#host.removed(this, true)
    // It may never exit; it must not keep the process's event loop alive.
    this.#isolate?.unref()
    const task = this.#task
    if (task !== undefined && !task.settled && this.#stopReason === 'timeout') {
      // Only a thread can be stuck: a process group was sent SIGKILL, which nothing can block. If
      // its exit has not been seen yet (a short grace, a loaded machine), it is dying, not stuck.
      const facts = this.#facts(task)
      this.#settle(task, failedOutcome(task, this.#limits.isolation === 'process' ? timedOut(facts) : stuck(facts), this.#takeOutput()))
    }
    this.#markGone()
    this.#host.changed()
  }

  #onExit(exit: IsolateExit): void {
    if (this.#held !== undefined) return void this.#held.push(() => this.#onExit(exit))
    this.#markExited()
    if (this.#state === 'gone') return // abandoned earlier; its late exit changes nothing
    const wasBooting = this.#state === 'booting'
    clearTimeout(this.#timer)
    this.#reclaimNext()
    this.#state = 'gone'
    this.#host.removed(this, false)
    const task = this.#task
    if (task !== undefined && !task.settled && task.startedAt === undefined && !task.requeued) {
      // Handed over but not begun: what ended the worker was left by an earlier file. Another
      // worker takes it, once.
      task.requeued = true
      this.#host.requeue(task)
    } else if (task !== undefined && !task.settled) {
      const facts = this.#facts(task)
      this.#settle(task, failedOutcome(task, this.#stopReason === 'timeout' ? timedOut(facts) : endedWhileImporting(facts, exit, this.#lastWords), this.#takeOutput()))
    }
    if (wasBooting) this.#host.bootFailed(exit.error ?? this.#lastWords ?? failure('DISCOVERY_CRASHED', `a discovery worker ended while starting (${exitText(exit)})${outputText(this.#takeOutput())}`))
    this.#markGone()
    this.#host.changed()
  }

  // Outcomes -------------------------------------------------------------------------------------

  #settle(task: Task, outcome: TaskOutcome): void {
    if (task === this.#task) this.#clearTaskTimers()
    task.settle(outcome)
  }

  #clearTaskTimers(): void {
    clearTimeout(this.#deadline)
    clearTimeout(this.#linger)
    this.#deadline = undefined
    this.#linger = undefined
  }

  #takeOutput(): string {
    return this.#isolate?.takeOutput() ?? ''
  }

  #relative(path: string): string {
    return relative(this.#limits.root, path) || path
  }

  #facts(task: Task): VerdictFacts {
    const { isolation, timeoutMs, stuckGraceMs, maxMemoryMb } = this.#limits
    return {
      file: this.#relative(task.file),
      isolation,
      timeoutMs,
      stuckGraceMs,
      maxMemoryMb,
      elapsedMs: task.elapsedMs(),
      killedAfterMs: task.killedAt === undefined || task.startedAt === undefined ? undefined : task.killedAt - task.startedAt,
      loading: task.current === undefined ? undefined : this.#relative(task.current),
    }
  }
}
