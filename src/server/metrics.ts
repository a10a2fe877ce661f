import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { ExecutionPoolStats } from './execution-pool.js'

/** What the server is at the moment of a scrape: read then, never kept up to date per request. */
export interface ServerSnapshot {
  pool: ExecutionPoolStats | undefined
  discovery: { durationMs: number; filesByStatus: Record<string, number> }
  workflows: number
  runsInFlight: number
}

/** How a run ended, as `outcome` label: a closed set, so the label cannot grow without bound. */
export type RunOutcome = 'completed' | 'failed' | 'timeout' | 'cancelled' | 'crashed' | 'error'

/** Methods outside this set are counted as `OTHER`: a client must not be able to mint label values. */
const METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'])

const HTTP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
const RUN_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300]

interface RequestSeries {
  count: Counter.Internal
  duration: Histogram.Internal<'method' | 'route' | 'status'>
}

interface RunSeries {
  count: Counter.Internal
  duration: Histogram.Internal<'workflow' | 'outcome'>
}

/**
 * The server's Prometheus metrics, in a registry of its own (never prom-client's global one):
 * several servers in one process each expose their own. Requests and runs update a counter and a
 * histogram once each; the pool, discovery and table are read when `/metrics` is scraped.
 */
export class NexusMetrics {
  readonly registry = new Registry()
  readonly #requests: Counter<'method' | 'route' | 'status'>
  readonly #requestSeconds: Histogram<'method' | 'route' | 'status'>
  readonly #runs: Counter<'workflow' | 'outcome'>
  readonly #runSeconds: Histogram<'workflow' | 'outcome'>
  /** method -> route -> status -> the label children: no label object or key string built per request. */
  readonly #series = new Map<string, Map<string, Map<number, RequestSeries>>>()
  /** workflow -> outcome -> the label children, as for requests. */
  readonly #runSeries = new Map<string, Map<RunOutcome, RunSeries>>()
  readonly #snapshot: () => ServerSnapshot
  #last: ServerSnapshot | undefined

  constructor(snapshot: () => ServerSnapshot) {
    this.#snapshot = snapshot
    const registers = [this.registry]
    const labelNames = ['method', 'route', 'status'] as const
    this.#requests = new Counter({ name: 'nexflow_http_requests_total', help: 'HTTP requests answered, by method, route pattern and status.', labelNames, registers })
    this.#requestSeconds = new Histogram({ name: 'nexflow_http_request_duration_seconds', help: 'Time to answer an HTTP request (to its headers, for streams), by method, route pattern and status.', labelNames, buckets: HTTP_BUCKETS, registers })
    this.#runs = new Counter({ name: 'nexflow_runs_total', help: 'Workflow runs, by workflow and outcome (completed, failed, timeout, cancelled, crashed, error).', labelNames: ['workflow', 'outcome'], registers })
    this.#runSeconds = new Histogram({ name: 'nexflow_run_duration_seconds', help: 'Duration of workflow runs, by workflow and outcome.', labelNames: ['workflow', 'outcome'], buckets: RUN_BUCKETS, registers })

    const read = () => (this.#last ??= this.#snapshot())
    const gauge = (name: string, help: string, value: (s: ServerSnapshot) => number | undefined) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          const v = value(read())
          if (v === undefined) this.reset()
          else this.set(v)
        },
      })
    gauge('nexflow_pool_threads', 'Execution worker threads in the current pool.', (s) => s.pool?.size)
    gauge('nexflow_pool_busy_threads', 'Execution worker threads running a workflow now.', (s) => s.pool?.busy)
    gauge('nexflow_pool_queued_runs', 'Runs waiting for a free execution worker.', (s) => s.pool?.queued)
    gauge('nexflow_pool_abandoned_workers', 'Execution workers stopped for a timeout that never exited (stuck in native code), since start.', (s) => s.pool?.abandoned)
    gauge('nexflow_runs_in_flight', 'Runs in progress.', (s) => s.runsInFlight)
    gauge('nexflow_workflows_served', 'Workflows served now.', (s) => s.workflows)
    gauge('nexflow_discovery_duration_seconds', 'Duration of the last discovery (so far, while it runs).', (s) => s.discovery.durationMs / 1000)
    new Gauge({
      name: 'nexflow_discovery_files',
      help: 'Discovered files by status (ok, empty, error, timeout, ...).',
      labelNames: ['status'],
      registers,
      collect() {
        this.reset()
        for (const [status, count] of Object.entries(read().discovery.filesByStatus)) this.set({ status }, count)
      },
    })
  }

  /** Counts one answered request. `route` is the matched route pattern, never the raw path. */
  observeRequest(method: string, route: string, status: number, seconds: number): void {
    const m = METHODS.has(method) ? method : 'OTHER'
    let byRoute = this.#series.get(m)
    if (byRoute === undefined) this.#series.set(m, (byRoute = new Map<string, Map<number, RequestSeries>>()))
    let byStatus = byRoute.get(route)
    if (byStatus === undefined) byRoute.set(route, (byStatus = new Map<number, RequestSeries>()))
    let series = byStatus.get(status)
    if (series === undefined) {
      const labels = { method: m, route, status: String(status) }
      series = { count: this.#requests.labels(labels), duration: this.#requestSeconds.labels(labels) }
      byStatus.set(status, series)
    }
    series.count.inc()
    series.duration.observe(seconds)
  }

  /** Counts one run. */
  observeRun(workflow: string, outcome: RunOutcome, seconds: number): void {
    let byOutcome = this.#runSeries.get(workflow)
    if (byOutcome === undefined) this.#runSeries.set(workflow, (byOutcome = new Map<RunOutcome, RunSeries>()))
    let series = byOutcome.get(outcome)
    if (series === undefined) {
      const labels = { workflow, outcome }
      series = { count: this.#runs.labels(labels), duration: this.#runSeconds.labels(labels) }
      byOutcome.set(outcome, series)
    }
    series.count.inc()
    series.duration.observe(seconds)
  }

  get contentType(): string {
    return this.registry.contentType
  }

  /** The Prometheus text exposition, with the server read once for this scrape. */
  async scrape(): Promise<string> {
    this.#last = undefined
    try {
      return await this.registry.metrics()
    } finally {
      this.#last = undefined
    }
  }
}
