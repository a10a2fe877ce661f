// What an Idempotency-Key costs, against a plain sync execute measured in the same run: autocannon
// against one `nexflow start` child serving a one-node Function workflow, for
// 1. plain: POST /workflows/echo/execute, no key (the baseline);
// 2. new key: a fresh Idempotency-Key per request (a key row taken, then the answer stored);
// 3. replay: the same key and body every time (one read, the stored answer, no run);
// 4. async: `mode: 'async'`, RUNS requests (the run stored, queued and run; the answer is the 202);
// 5. async submit-and-complete: RUNS async runs submitted 20 at a time, timed until the store
//    holds every one completed (read from the database itself, so polling costs the server nothing);
// each with the server's CPU time per request (all threads, and its main thread: these move much
// less than requests/s when other work shares the cores), against the embedded SQLite store, and
// PostgreSQL too when NEXFLOW_BENCH_POSTGRES_URL is set.
// Run: npm run bench:durability (NEXFLOW_BENCH_SECONDS=s per load run, default 10;
// NEXFLOW_BENCH_ASYNC_RUNS=n async runs to accept, then to complete, default 4000)
import { spawn, type ChildProcess } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { availableParallelism, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import Database from 'better-sqlite3'
import pg from 'pg'
import { processCpuMs } from './measure.js'

const SECONDS = Number(process.env.NEXFLOW_BENCH_SECONDS ?? 10)
const WARMUP_SECONDS = 2
const CONNECTIONS = 20
const WAIT_MS = 300_000
const REPO = fileURLToPath(new URL('..', import.meta.url))
const POSTGRES_URL = process.env.NEXFLOW_BENCH_POSTGRES_URL
const ASYNC_RUNS = Number(process.env.NEXFLOW_BENCH_ASYNC_RUNS ?? 4000)

interface LoadResult {
  requests: { average: number; total: number }
  /** Seconds the load ran. */
  duration: number
  latency: { p50: number; p99: number }
  '2xx': number
  non2xx: number
  errors: number
}
type Autocannon = (options: Record<string, unknown>, done: (error: Error | null, result: LoadResult) => void) => unknown
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon

function load(options: Record<string, unknown>): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    autocannon(options, (error, result) => (error === null ? resolve(result) : reject(error)))
  })
}

/** A root serving `echo` (re-exported from the e2e fixture) with `config`. */
function makeRoot(config: Record<string, unknown>): string {
  const root = mkdtempSync(join(tmpdir(), 'nexflow-bench-durability-'))
  mkdirSync(join(root, 'workflows'))
  const target = pathToFileURL(join(REPO, 'fixtures', 'server', 'durability', 'workflows', 'echo.js')).href
  writeFileSync(join(root, 'workflows', 'echo.ts'), `export { workflow } from ${JSON.stringify(target)}\n`)
  writeFileSync(join(root, 'nexflow.config.json'), JSON.stringify({ log: { requests: false, runs: false }, ...config }))
  return root
}

async function startServer(root: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [join(REPO, 'bin', 'nexflow.mjs'), 'start', root, '--port', '0', '--no-cache', '--workers', '2'], {
    cwd: REPO,
    env: { ...process.env, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server did not listen within ${WAIT_MS} ms:\n${output}`)), WAIT_MS)
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      const match = /nexflow: listening on (http:\/\/\S+)/.exec(output)
      if (match !== null) {
        clearTimeout(timer)
        resolve(match[1] as string)
      }
    }
    child.stdout?.on('data', onData)
    child.stderr?.on('data', onData)
    child.once('exit', (code) => reject(new Error(`the server exited (${code}):\n${output}`)))
  })
  const deadline = Date.now() + WAIT_MS
  while ((await fetch(`${url}/ready`).then((r) => r.status, () => 0)) !== 200) {
    if (Date.now() > deadline) throw new Error('the server never became ready')
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return { child, url }
}

interface Variant {
  name: string
  body: string
  /** Headers of each request: a function for a fresh key each time. */
  key?: 'fresh' | 'fixed'
  status: number
}

const BODY = JSON.stringify({ inputs: { value: 'bench' } })
const VARIANTS: Variant[] = [
  { name: 'plain sync execute', body: BODY, status: 200 },
  { name: 'sync, new Idempotency-Key each', body: BODY, key: 'fresh', status: 200 },
  { name: 'sync, replayed Idempotency-Key', body: BODY, key: 'fixed', status: 200 },
  { name: "mode 'async' (202)", body: JSON.stringify({ inputs: { value: 'bench' }, mode: 'async' }), status: 202 },
]

/** A load run's figures, with the server's CPU time per answered request. */
interface Measured {
  result: LoadResult
  cpu: { total: number; main: number }
}

async function measure(url: string, pid: number, variant: Variant, seconds: number): Promise<Measured> {
  const fixed = randomUUID()
  const target = `${url}/workflows/echo/execute`
  if (variant.key === 'fixed') await fetch(target, { method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': fixed }, body: variant.body })
  const before = await processCpuMs(pid)
  const result = await loadVariant(target, variant, fixed, seconds)
  const after = await processCpuMs(pid)
  const answered = Math.max(1, result.requests.total)
  return { result, cpu: { total: (after.total - before.total) / answered, main: (after.main - before.main) / answered } }
}

function loadVariant(target: string, variant: Variant, fixed: string, seconds: number): Promise<LoadResult> {
  return load({
    url: target,
    method: 'POST',
    connections: CONNECTIONS,
    // Async runs pile up behind their 202s: a fixed number, so the queue neither refuses them
    // (the embedded queue holds 10,000) nor leaves minutes of work for the next measurement.
    // autocannon ends a fixed-count run at its next sampling tick (1 s by default), so its
    // duration, and the rate from it, would be counted in whole seconds: 10 ms ticks.
    ...(variant.status === 202 ? { amount: ASYNC_RUNS, sampleInt: 10 } : { duration: seconds }),
    body: variant.body,
    headers: { 'content-type': 'application/json' },
    requests: [
      {
        setupRequest: (request: { headers: Record<string, string> }) => {
          if (variant.key === 'fresh') request.headers = { ...request.headers, 'idempotency-key': randomUUID() }
          if (variant.key === 'fixed') request.headers = { ...request.headers, 'idempotency-key': fixed }
          return request
        },
      },
    ],
  })
}

/** How many of the store's async runs are completed, and how many not finished yet. */
type RunCounts = () => Promise<{ completed: number; unfinished: number }>

function sqliteCounts(root: string): RunCounts {
  return () => {
    const db = new Database(join(root, '.nexflow', 'nexflow.db'), { readonly: true })
    try {
      const row = db.prepare("SELECT SUM(status = 'completed') AS completed, SUM(status IN ('pending', 'running')) AS unfinished FROM nexflow_runs").get() as { completed: number | null; unfinished: number | null }
      return Promise.resolve({ completed: row.completed ?? 0, unfinished: row.unfinished ?? 0 })
    } finally {
      db.close()
    }
  }
}

function postgresCounts(url: string, schema: string): RunCounts {
  return async () => {
    const client = new pg.Client({ connectionString: url })
    await client.connect()
    try {
      const { rows } = await client.query<{ completed: string; unfinished: string }>(`SELECT count(*) FILTER (WHERE status = 'completed') AS completed, count(*) FILTER (WHERE status IN ('pending', 'running')) AS unfinished FROM ${schema}.runs`)
      return { completed: Number(rows[0]?.completed ?? 0), unfinished: Number(rows[0]?.unfinished ?? 0) }
    } finally {
      await client.end()
    }
  }
}

/** Submits `runs` async runs, CONNECTIONS at a time, and times them until every one is completed. */
async function submitAndComplete(url: string, pid: number, counts: RunCounts, runs: number): Promise<{ rate: number; submitMs: number; totalMs: number; cpu: { total: number; main: number } }> {
  const drainedBy = Date.now() + WAIT_MS
  while ((await counts()).unfinished > 0) {
    if (Date.now() > drainedBy) throw new Error('earlier async runs never finished')
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  const base = (await counts()).completed
  const body = JSON.stringify({ inputs: { value: 'bench' }, mode: 'async' })
  const before = await processCpuMs(pid)
  const started = performance.now()
  let sent = 0
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (sent < runs) {
        sent++
        const response = await fetch(`${url}/workflows/echo/execute`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
        const text = await response.text()
        if (response.status !== 202) throw new Error(`async submit answered ${response.status}: ${text}`)
      }
    }),
  )
  const submitMs = performance.now() - started
  const doneBy = Date.now() + WAIT_MS
  while ((await counts()).completed - base < runs) {
    if (Date.now() > doneBy) throw new Error(`the async runs did not all complete within ${WAIT_MS} ms`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  const totalMs = performance.now() - started
  const after = await processCpuMs(pid)
  return { rate: (runs * 1000) / totalMs, submitMs, totalMs, cpu: { total: (after.total - before.total) / runs, main: (after.main - before.main) / runs } }
}

async function bench(store: string, config: Record<string, unknown>, counts: (root: string) => RunCounts): Promise<void> {
  const root = makeRoot(config)
  const { child, url } = await startServer(root)
  const pid = child.pid as number
  try {
    await measure(url, pid, VARIANTS[0] as Variant, WARMUP_SECONDS)
    const results: { variant: Variant; measured: Measured }[] = []
    for (const variant of VARIANTS) results.push({ variant, measured: await measure(url, pid, variant, SECONDS) })
    const completed = await submitAndComplete(url, pid, counts(root), ASYNC_RUNS)
    // Answers over the whole load run: autocannon's per-second average misreads a short fixed-count run.
    const rate = (result: LoadResult) => result.requests.total / result.duration
    const base = results[0] === undefined ? 1 : rate(results[0].measured.result)
    console.log(`\n${store} (${CONNECTIONS} connections, ${SECONDS} s each, 2 execution workers, ${availableParallelism()} CPUs, load average ${loadavg()[0]?.toFixed(1)})`)
    console.log('| variant | req/s | p50 ms | p99 ms | vs plain | CPU ms/request (main thread) | non-expected answers |')
    console.log('|---|---:|---:|---:|---:|---:|---:|')
    for (const { variant, measured } of results) {
      const { result, cpu } = measured
      const bad = result.non2xx + result.errors
      console.log(`| ${variant.name} | ${rate(result).toFixed(0)} | ${result.latency.p50} | ${result.latency.p99} | ${(rate(result) / base).toFixed(2)}x | ${cpu.total.toFixed(3)} (${cpu.main.toFixed(3)}) | ${bad} |`)
    }
    console.log(
      `| async submit-and-complete, ${ASYNC_RUNS} runs | ${completed.rate.toFixed(0)} runs/s | | | ${(completed.rate / base).toFixed(2)}x | ${completed.cpu.total.toFixed(3)} (${completed.cpu.main.toFixed(3)}) | submitted in ${(completed.submitMs / 1000).toFixed(1)} s, all completed at ${(completed.totalMs / 1000).toFixed(1)} s |`,
    )
  } finally {
    child.kill('SIGTERM')
    await new Promise((resolve) => child.once('exit', resolve))
    rmSync(root, { recursive: true, force: true })
  }
}

await bench('SQLite (embedded)', {}, sqliteCounts)
if (POSTGRES_URL !== undefined) {
  const schema = `nx_bench_${randomUUID().slice(0, 8)}`
  try {
    await bench('PostgreSQL + pg-boss', { durability: { databaseUrl: POSTGRES_URL, schema } }, () => postgresCounts(POSTGRES_URL, schema))
  } finally {
    const client = new pg.Client({ connectionString: POSTGRES_URL })
    await client.connect()
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
    await client.query(`DROP SCHEMA IF EXISTS ${schema}_boss CASCADE`)
    await client.end()
  }
} else {
  console.log('\n(PostgreSQL not measured: set NEXFLOW_BENCH_POSTGRES_URL)')
}
