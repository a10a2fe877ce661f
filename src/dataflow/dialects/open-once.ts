/**
 * A connection (or pool) opened on first use. Callers at the same time share one attempt; a
 * failed attempt is forgotten, so the next call tries again (a database that was down when the
 * app started is retried, not failed for good).
 */
export class OpenOnce {
  readonly #open: () => Promise<void>
  #opening: Promise<void> | undefined

  constructor(open: () => Promise<void>) {
    this.#open = open
  }

  open(): Promise<void> {
    this.#opening ??= this.#open().catch((error: unknown) => {
      this.#opening = undefined
      throw error
    })
    return this.#opening
  }

  /** Waits out an attempt in progress, whatever its outcome, and forgets it: for close(). */
  async settle(): Promise<void> {
    await this.#opening?.catch(() => undefined)
    this.#opening = undefined
  }
}
