/** Upper bounds (ms) of the latency histogram buckets; one more bucket counts everything slower. */
export const LATENCY_BUCKETS_MS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000] as const

/** Calls of one node type (direct calls count under the node's name too). */
export interface NodeMetrics {
  calls: number
  errors: number
  cacheHits: number
  totalMs: number
  maxMs: number
  /** `counts[i]` calls took at most `boundsMs[i]` (and more than the bound before); the last count is the overflow. */
  histogram: { boundsMs: number[]; counts: number[] }
}

/** A statement slower than `slowQueryMs`: its SQL (values are bound, never recorded) and duration. */
export interface SlowQuery {
  sql: string
  ms: number
  at: string
}

/** What `db.metrics()` returns: plain JSON. */
export interface DataFlowMetrics {
  enabled: boolean
  nodes: Record<string, NodeMetrics>
  cache: { hits: number; misses: number; entries: number }
  /** The most recent statements slower than `slowQueryMs` (values are never recorded). */
  slowQueries: SlowQuery[]
}

const MAX_SLOW_QUERIES = 100

function bucketOf(ms: number): number {
  for (let i = 0; i < LATENCY_BUCKETS_MS.length; i++) if (ms <= (LATENCY_BUCKETS_MS[i] as number)) return i
  return LATENCY_BUCKETS_MS.length
}

/** Counts node calls, errors and latencies in memory. */
export class MetricsRecorder {
  readonly #nodes = new Map<string, NodeMetrics>()
  readonly #slow: SlowQuery[] = []

  #node(type: string): NodeMetrics {
    let metrics = this.#nodes.get(type)
    if (metrics === undefined) {
      metrics = { calls: 0, errors: 0, cacheHits: 0, totalMs: 0, maxMs: 0, histogram: { boundsMs: [...LATENCY_BUCKETS_MS], counts: new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0) } }
      this.#nodes.set(type, metrics)
    }
    return metrics
  }

  record(type: string, ms: number, outcome: 'ok' | 'error' | 'cached'): void {
    const metrics = this.#node(type)
    metrics.calls++
    if (outcome === 'error') metrics.errors++
    if (outcome === 'cached') metrics.cacheHits++
    metrics.totalMs += ms
    if (ms > metrics.maxMs) metrics.maxMs = ms
    ;(metrics.histogram.counts[bucketOf(ms)] as number)++
  }

  recordSlowQuery(sql: string, ms: number): void {
    this.#slow.push({ sql, ms, at: new Date().toISOString() })
    if (this.#slow.length > MAX_SLOW_QUERIES) this.#slow.shift()
  }

  snapshot(): { nodes: Record<string, NodeMetrics>; slowQueries: SlowQuery[] } {
    return { nodes: structuredClone(Object.fromEntries(this.#nodes)), slowQueries: this.#slow.map((q) => ({ ...q })) }
  }
}
