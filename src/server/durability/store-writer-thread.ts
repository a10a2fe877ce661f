import { Worker } from 'node:worker_threads'
import { isErrorCode, NexflowError, type SerializedError } from '../../errors.js'
import type { StoreWrite, StoreWriteReply, StoreWriteRequest, StoreWriteResults } from './store-writer-messages.js'
import { STORE_WRITER_FILES } from '../worker-files.js'

/** An error from the writer as the caller would have seen it thrown on this thread. */
function revive(error: SerializedError): Error {
  if (isErrorCode(error.code)) return new NexflowError(error.code, error.message, { details: error.details ?? {} })
  // A driver's error (SQLITE_FULL, SQLITE_CORRUPT): its own code says what to fix.
  return Object.assign(new Error(error.message), { name: error.name, code: error.code })
}

/**
 * The embedded run store's writer thread, seen from the server's thread: `write` posts one write
 * and resolves with its result once it is committed. Writes are applied in the order they were
 * posted. The thread holds the process open only while a write is in flight.
 */
export class StoreWriterThread {
  readonly #worker: Worker
  readonly #waiting = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>()
  #next = 0
  /** Set once the thread has exited: every later write fails with it. */
  #gone: NexflowError | undefined
  #closed = false

  constructor() {
    this.#worker = new Worker(STORE_WRITER_FILES.entry, {
      workerData: { logic: STORE_WRITER_FILES.logic },
      // Not the parent's flags: under tsx or vitest they would load other loaders into the thread.
      execArgv: [],
      name: 'nexflow-store-writer',
    })
    this.#worker.unref()
    this.#worker.on('message', (reply: StoreWriteReply) => {
      const waiting = this.#waiting.get(reply.seq)
      if (waiting === undefined) return
      this.#waiting.delete(reply.seq)
      if (this.#waiting.size === 0) this.#worker.unref()
      if (reply.ok) waiting.resolve(reply.value)
      else waiting.reject(revive(reply.error))
    })
    this.#worker.on('error', (error) => this.#fail(`failed: ${error.message}`))
    this.#worker.on('exit', (code) => this.#fail(`exited (code ${code})`))
  }

  /** The thread ended without being closed (an error it did not catch, memory): a new one must take over. */
  get died(): boolean {
    return this.#gone !== undefined && !this.#closed
  }

  write<W extends StoreWrite>(write: W): Promise<StoreWriteResults[W['op']]> {
    if (this.#gone !== undefined) return Promise.reject(this.#gone)
    const seq = ++this.#next
    return new Promise((resolve, reject) => {
      // Posted first: a write that cannot be cloned rejects here and leaves nothing waiting.
      this.#worker.postMessage({ seq, write } satisfies StoreWriteRequest)
      if (this.#waiting.size === 0) this.#worker.ref()
      this.#waiting.set(seq, { resolve: resolve as (value: unknown) => void, reject })
    })
  }

  /** Closes the store's connection, then stops the thread. */
  async close(): Promise<void> {
    this.#closed = true
    // A thread that died has nothing left to close.
    if (this.#gone !== undefined) return
    try {
      await this.write({ op: 'close' })
    } finally {
      this.#gone ??= new NexflowError('DURABILITY_UNAVAILABLE', 'The run store is closed')
      await this.#worker.terminate()
    }
  }

  /** Stops the thread where it is, as a crash would: what is in flight fails, nothing is closed. */
  async terminate(): Promise<void> {
    await this.#worker.terminate()
  }

  #fail(how: string): void {
    this.#gone ??= new NexflowError('DURABILITY_UNAVAILABLE', `The run store's writer thread ${how}; this write may not have been made`)
    for (const waiting of this.#waiting.values()) waiting.reject(this.#gone)
    this.#waiting.clear()
  }
}
