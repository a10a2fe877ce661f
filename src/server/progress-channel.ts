import { MessageChannel, type MessagePort } from 'node:worker_threads'
import { nodeFinished, runProgressMessageSchema, type RunProgress } from '../protocol/run-progress.js'
import type { RunObserver } from '../workflow/runtime.js'

/** After a run answered, how long its worker's last progress messages may take to arrive (they travel on another port than the answer). */
const DRAIN_BOUND_MS = 1000

/**
 * The main-thread side of a streamed run's progress: iterate it for each node's start and
 * finish, in order, until the run ends. Fed by a worker through a `MessagePort` (every message
 * parsed: a worker is untrusted; a malformed one is dropped and counted) or, for a run on this
 * thread, by a {@link RunObserver}. Always {@link close} it: it owns a port that keeps the event
 * loop alive.
 */
export class ProgressChannel implements AsyncIterable<RunProgress> {
  readonly #queue: RunProgress[] = []
  #wake: (() => void) | undefined
  #ended = false
  #port: MessagePort | undefined
  #drainTimer: NodeJS.Timeout | undefined
  /** Messages from a worker that did not match the protocol. */
  malformed = 0

  /** The port to hand a worker with the run (transfer it): what the worker posts on it arrives here. */
  workerPort(): MessagePort {
    if (this.#port !== undefined) throw new Error('[progress-channel]: a channel takes one worker port')
    const { port1, port2 } = new MessageChannel()
    this.#port = port1
    port1.on('message', (message: unknown) => {
      const parsed = runProgressMessageSchema.safeParse(message)
      if (!parsed.success) {
        this.malformed++
        return
      }
      if (parsed.data.type === 'end') this.close()
      else this.#push(parsed.data)
    })
    // The worker's end closes when it exits (a cancelled or crashed run): nothing more will come.
    port1.once('close', () => this.close())
    return port2
  }

  /** The observer for a run on this thread: the same events, bounded the same way, without a port. */
  observer(): RunObserver {
    return {
      nodeStarted: (nodeId, nodeType) => this.#push({ type: 'node-started', nodeId, nodeType }),
      nodeFinished: (nodeId, ms, outcome) => this.#push(nodeFinished(nodeId, ms, outcome)),
    }
  }

  /**
   * The run answered. A run on this thread has reported everything; a worker's last messages may
   * still be on their way (the answer came on piscina's port): the end marker closes the channel,
   * or, from a worker that never sends it, a bound does.
   */
  runAnswered(): void {
    if (this.#ended) return
    if (this.#port === undefined) {
      this.close()
      return
    }
    this.#drainTimer ??= setTimeout(() => this.close(), DRAIN_BOUND_MS)
  }

  /** Ends the stream: events already queued are still iterated; later ones are dropped. */
  close(): void {
    if (this.#ended) return
    this.#ended = true
    clearTimeout(this.#drainTimer)
    this.#port?.close()
    this.#port?.removeAllListeners()
    this.#wake?.()
  }

  get ended(): boolean {
    return this.#ended
  }

  #push(event: RunProgress): void {
    if (this.#ended) return
    this.#queue.push(event)
    this.#wake?.()
  }

  /**
   * The events in order, as many at a time as have arrived: a worker posts a node's finish and
   * the next one's start together, and a stream that writes each batch at once makes one write
   * (one system call) of them.
   */
  async *batches(): AsyncGenerator<RunProgress[]> {
    for (;;) {
      if (this.#queue.length > 0) {
        yield this.#queue.splice(0)
        continue
      }
      if (this.#ended) return
      await new Promise<void>((resolve) => (this.#wake = resolve))
      this.#wake = undefined
    }
  }

  async *[Symbol.asyncIterator](): AsyncIterator<RunProgress> {
    for await (const batch of this.batches()) yield* batch
  }
}
