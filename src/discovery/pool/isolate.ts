import type { SerializedError } from '../../errors.js'
import type { MainToWorkerMessage, WorkerInit } from '../../protocol/discovery-messages.js'

/** How an isolate ended, as far as the main side can tell. */
export interface IsolateExit {
  code: number | null
  signal: NodeJS.Signals | null
  /** A thread's uncaught error (the `error` event), if any. */
  error?: SerializedError
  /** It hit its heap limit. */
  oom: boolean
}

export interface IsolateEvents {
  /** A message from the worker, not yet validated. */
  message(raw: unknown): void
  exit(exit: IsolateExit): void
}

/** What both isolations are started with. */
export interface IsolateSpec {
  bootstrap: string
  entry: string
  init: WorkerInit
  maxMemoryMb: number
  /** Bytes of recent output kept to explain a failure. */
  outputTailBytes: number
}

/** One worker thread or child process that imports files for the pool. */
export interface Isolate {
  readonly description: string
  send(message: MainToWorkerMessage): void
  /** Stops it as hard as the isolation allows: `terminate()` a thread, SIGKILL a process group. */
  kill(): void
  /** Stops it from holding the main event loop open (an abandoned thread). */
  unref(): void
  /** Undoes {@link unref}: it holds the event loop open again (a standby handed to a run). */
  ref(): void
  /** Its stdout and stderr since the last call, at most `outputTailBytes`. */
  takeOutput(): string
}

export type IsolateFactory = (spec: IsolateSpec, events: IsolateEvents) => Isolate

/** The last `limit` bytes written to a stream, for error reports. */
export class OutputTail {
  #chunks: Buffer[] = []
  #size = 0

  constructor(readonly limit: number) {}

  push = (chunk: Buffer | string): void => {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
    this.#chunks.push(buffer)
    this.#size += buffer.length
    while (this.#size > this.limit && this.#chunks.length > 1) this.#size -= (this.#chunks.shift() as Buffer).length
  }

  take(): string {
    const all = Buffer.concat(this.#chunks)
    this.#chunks = []
    this.#size = 0
    return all.subarray(Math.max(0, all.length - this.limit)).toString('utf8')
  }

  peek(): string {
    return Buffer.concat(this.#chunks).toString('utf8')
  }
}
