import { POOL_TUNING } from '../defaults.js'

/** Recent imports kept per kind. */
const RECENT = 32

/**
 * Recent import times (from "started" to the report), which decide when a running file starts to
 * linger. A worker's first import also loads the application's dependencies (nexflow, zod, its
 * models), so first imports are kept apart from the rest: measured against the rest, every fresh
 * worker would look like a hang and call for another.
 */
export class ImportDurations {
  readonly #first: number[] = []
  readonly #later: number[] = []

  record(firstOfItsWorker: boolean, ms: number): void {
    const samples = firstOfItsWorker ? this.#first : this.#later
    samples.push(ms)
    if (samples.length > RECENT) samples.shift()
  }

  /** The time an import may run before it stops counting toward `concurrency` (see POOL_TUNING). */
  lingerMs(firstOfItsWorker: boolean, timeoutMs: number): number {
    const { lingerMinMs, lingerMaxMs, lingerFactor } = POOL_TUNING
    const cap = Math.min(lingerMaxMs, timeoutMs / 4)
    const samples = firstOfItsWorker ? this.#first : this.#later
    if (samples.length === 0) return cap
    const sorted = [...samples].sort((a, b) => a - b)
    const median = sorted[Math.floor(sorted.length / 2)] as number
    return Math.min(cap, Math.max(lingerMinMs, median * (firstOfItsWorker ? 2 : lingerFactor)))
  }
}
