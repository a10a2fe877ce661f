/**
 * Read/List/Count results kept in this thread for `ttlMs`, per model. Any write through the same
 * DataFlow drops every entry of that model: results may lag writes made by other processes (or
 * other threads' instances) by at most the TTL, never writes made here.
 */
export class QueryCache {
  readonly #ttlMs: number
  readonly #maxEntries: number
  readonly #byModel = new Map<string, Map<string, { expires: number; value: unknown }>>()
  hits = 0
  misses = 0

  constructor(ttlMs: number, maxEntries: number) {
    this.#ttlMs = ttlMs
    this.#maxEntries = maxEntries
  }

  get(model: string, key: string): unknown {
    const entries = this.#byModel.get(model)
    const entry = entries?.get(key)
    if (entry === undefined || entry.expires <= performance.now()) {
      if (entry !== undefined) entries?.delete(key)
      this.misses++
      return undefined
    }
    this.hits++
    return entry.value
  }

  set(model: string, key: string, value: unknown): void {
    let entries = this.#byModel.get(model)
    if (entries === undefined) this.#byModel.set(model, (entries = new Map<string, { expires: number; value: unknown }>()))
    // Oldest first out: a Map iterates in insertion order.
    if (entries.size >= this.#maxEntries) entries.delete(entries.keys().next().value as string)
    entries.set(key, { expires: performance.now() + this.#ttlMs, value })
  }

  invalidate(model: string): void {
    this.#byModel.delete(model)
  }

  clear(): void {
    this.#byModel.clear()
  }

  size(model?: string): number {
    if (model !== undefined) return this.#byModel.get(model)?.size ?? 0
    let total = 0
    for (const entries of this.#byModel.values()) total += entries.size
    return total
  }
}

/** A cache key for params: JSON, with bigints and dates spelled unambiguously. */
export function cacheKey(operation: string, params: unknown): string {
  return `${operation}:${JSON.stringify(params, (_key, value: unknown) => (typeof value === 'bigint' ? `${value}n` : value))}`
}

/** Copies a cached result so a caller that mutates it cannot change what the next caller gets. */
export function cloneResult<T>(value: T): T {
  if (Buffer.isBuffer(value)) return Buffer.from(value) as T
  if (value instanceof Date) return new Date(value.getTime()) as T
  if (Array.isArray(value)) return value.map(cloneResult) as T
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) out[k] = cloneResult(v)
    return out as T
  }
  return value
}
