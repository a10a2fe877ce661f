/**
 * Group commit: the calls made in one turn of the event loop (and, while a flush is in flight,
 * every call made until it ends) are handed to `flush` together, so N concurrent requests cost
 * one transaction instead of N. A database commit is the expensive part of a short write (SQLite
 * appends and syncs its WAL; PostgreSQL waits for the WAL flush), not the rows in it.
 *
 * One flush at a time, in arrival order: a call made after another one's flush began is flushed
 * after it, so callers see their writes in the order they made them. A flush that throws rejects
 * every call of its batch.
 */
export class TurnBatch<In, Out> {
  readonly #flush: (items: In[]) => Promise<Out[]>
  readonly #max: number
  #waiting: { item: In; resolve: (out: Out) => void; reject: (error: unknown) => void }[] = []
  #scheduled = false
  #flushing = false
  #idle: (() => void)[] = []

  /** `flush` answers one result per item, in the order given; at most `max` items per flush. */
  constructor(flush: (items: In[]) => Promise<Out[]>, max = 256) {
    this.#flush = flush
    this.#max = max
  }

  add(item: In): Promise<Out> {
    return new Promise<Out>((resolve, reject) => {
      this.#waiting.push({ item, resolve, reject })
      this.#schedule()
    })
  }

  /** Resolves once every call made so far has been flushed. */
  idle(): Promise<void> {
    if (!this.#scheduled && !this.#flushing && this.#waiting.length === 0) return Promise.resolve()
    return new Promise((resolve) => this.#idle.push(resolve))
  }

  #schedule(): void {
    if (this.#scheduled || this.#flushing) return
    this.#scheduled = true
    // setImmediate, not a microtask: every request whose bytes arrived in this poll phase of the
    // event loop has reached `add` by then.
    setImmediate(() => {
      this.#scheduled = false
      void this.#run()
    })
  }

  async #run(): Promise<void> {
    const batch = this.#waiting.splice(0, this.#max)
    if (batch.length === 0) {
      this.#settle()
      return
    }
    this.#flushing = true
    try {
      const results = await this.#flush(batch.map((entry) => entry.item))
      for (const [i, entry] of batch.entries()) entry.resolve(results[i] as Out)
    } catch (error) {
      for (const entry of batch) entry.reject(error)
    } finally {
      this.#flushing = false
      if (this.#waiting.length > 0) this.#schedule()
      else this.#settle()
    }
  }

  #settle(): void {
    for (const resolve of this.#idle.splice(0)) resolve()
  }
}
