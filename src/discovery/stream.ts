/**
 * A push-based async stream that replays: each iterator starts from the first item, so a
 * consumer that starts late (or a second consumer) misses nothing. Ends, or fails with an error.
 */
export class ReplayStream<T> implements AsyncIterable<T> {
  readonly #items: T[] = []
  #ended = false
  #error: { value: unknown } | undefined
  #wake: (() => void)[] = []

  push(item: T): void {
    if (this.#ended) return
    this.#items.push(item)
    this.#notify()
  }

  end(): void {
    this.#ended = true
    this.#notify()
  }

  fail(error: unknown): void {
    if (this.#ended) return
    this.#error = { value: error }
    this.end()
  }

  #notify(): void {
    const wake = this.#wake
    this.#wake = []
    for (const resolve of wake) resolve()
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    let index = 0
    for (;;) {
      if (index < this.#items.length) {
        yield this.#items[index++] as T
        continue
      }
      if (this.#ended) {
        if (this.#error !== undefined) throw this.#error.value
        return
      }
      await new Promise<void>((resolve) => this.#wake.push(resolve))
    }
  }
}
