import { NexflowError } from '../../errors.js'
import type { JobHandlers, RunJob, RunQueue } from './run-queue.js'
import { settled } from './sqlite-store.js'

/** Jobs waiting beyond this are refused (429): an unbounded backlog would only grow the heap. */
export const EMBEDDED_QUEUE_MAX_WAITING = 10_000

/**
 * The queue of the embedded store: a FIFO in this process, at most `concurrency` runs at once (the
 * pool bounds them again). What it loses when the process dies is recovered from the store at the
 * next start (see `RunStore.recover`).
 */
export class EmbeddedQueue implements RunQueue {
  readonly #concurrency: number
  readonly #waiting: RunJob[] = []
  #active = 0
  #handler: JobHandlers['run'] | undefined
  #closed = false

  constructor(concurrency: number) {
    this.#concurrency = concurrency
  }

  start(handlers: JobHandlers, ready: Promise<unknown>): Promise<void> {
    void ready.then(() => {
      this.#handler = handlers.run
      this.#pump()
    })
    return Promise.resolve()
  }

  send(job: RunJob): Promise<void> {
    return settled(() => this.#enqueue(job))
  }

  #enqueue(job: RunJob): void {
    if (this.#closed) throw new NexflowError('SERVER_CLOSING', 'The server is shutting down; retry on another instance')
    if (this.#waiting.length >= EMBEDDED_QUEUE_MAX_WAITING) {
      throw new NexflowError('RATE_LIMITED', `${EMBEDDED_QUEUE_MAX_WAITING} async runs are already waiting; retry later`, { details: { waiting: this.#waiting.length } })
    }
    this.#waiting.push(job)
    this.#pump()
  }

  #pump(): void {
    const handler = this.#handler
    if (handler === undefined) return
    while (!this.#closed && this.#active < this.#concurrency) {
      const job = this.#waiting.shift()
      if (job === undefined) return
      this.#active++
      // A declined run (the server is closing) stays pending in the store: the next start dispatches it again.
      void handler(job, { retry: false }).finally(() => {
        this.#active--
        this.#pump()
      })
    }
  }

  close(): Promise<void> {
    // Runs still waiting stay `pending` in the store: the next start dispatches them.
    this.#closed = true
    this.#waiting.length = 0
    return Promise.resolve()
  }
}
