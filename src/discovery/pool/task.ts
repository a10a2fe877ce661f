import { performance } from 'node:perf_hooks'
import type { FailureStatus, FileManifest, SerializedErrorData } from '../../protocol/discovery.js'
import type { Verdict } from './verdicts.js'

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

export type FailedOutcome = Extract<TaskOutcome, { kind: 'failed' }>

/** One file handed to the pool, from the queue until it is settled. */
export class Task {
  /** When its worker said it began the file; its deadline counts from here. */
  startedAt: number | undefined
  /** When its worker was killed at the deadline (for the lateness of the kill). */
  killedAt: number | undefined
  /** Past the linger threshold: no longer counted toward `concurrency`. */
  lingering = false
  /** Handed to a fresh worker once already, after its first worker never began it or died before it did. */
  requeued = false
  /** Local modules that started evaluating, in order, without repeats. */
  readonly loading: string[] = []
  /** The module evaluating now, blamed for a hang. */
  current: string | undefined
  #settled = false

  constructor(
    readonly id: number,
    readonly file: string,
    readonly resolve: (outcome: TaskOutcome) => void,
    /** Told when its worker begins the file, with the time (`performance.now()`): a live view can draw it from then. */
    readonly onBegan?: (at: number) => void,
  ) {}

  get settled(): boolean {
    return this.#settled
  }

  /** Resolves the file's outcome; the first call wins. */
  settle(outcome: TaskOutcome): void {
    if (this.#settled) return
    this.#settled = true
    this.resolve(outcome)
  }

  began(): void {
    this.startedAt = performance.now()
    this.onBegan?.(this.startedAt)
    // Until the worker names another module, the file itself is what is loading.
    this.current = this.file
  }

  loaded(module: string): void {
    this.current = module
    if (!this.loading.includes(module)) this.loading.push(module)
  }

  elapsedMs(): number {
    return this.startedAt === undefined ? 0 : performance.now() - this.startedAt
  }
}

/** `details` with the worker's recent output added, if it printed anything. */
export function withOutput(output: string, details: Record<string, unknown> | undefined): { details?: Record<string, unknown> } {
  if (output === '' && details === undefined) return {}
  return { details: { ...details, ...(output === '' ? {} : { output }) } }
}

/** A failed outcome for `task`: the verdict, what its worker printed, what it had loaded. */
export function failedOutcome(task: Task, verdict: Verdict, output: string): FailedOutcome {
  return {
    kind: 'failed',
    status: verdict.status,
    error: { ...verdict.error, ...withOutput(output, verdict.error.details) },
    durationMs: task.elapsedMs(),
    imports: task.loading.filter((path) => path !== task.file),
    ...(task.current === undefined ? {} : { loadingModule: task.current }),
    ...(verdict.exitCode === undefined ? {} : { exitCode: verdict.exitCode }),
    ...(task.startedAt === undefined ? { unattempted: true as const } : {}),
  }
}
