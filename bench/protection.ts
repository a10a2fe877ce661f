// The cost of the protection and observability middleware per request: autocannon against
// GET /workflows (a cheap route: the middleware is most of the work) on a server with everything
// off (the baseline: only the request id), with the defaults (secure headers, metrics, a log line),
// and with everything on (API key auth, a rate limit no client reaches, CORS). Each server runs in
// its own process; its CPU time per request is read from the process itself, and the rounds
// alternate so that a noisy neighbour hits every configuration alike.
// With NEXFLOW_BENCH_POSTGRES_URL, also everything on with the rate limit counted in PostgreSQL
// (durability on that database: the instances behind a load balancer share the counts).
// Run: npx tsx bench/protection.ts (NEXFLOW_BENCH_SECONDS=s per run, default 5; NEXFLOW_BENCH_ROUNDS=n, default 2)
import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { createRequire } from 'node:module'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import type { NexusOptions } from '../src/index.js'

const SECONDS = Number(process.env.NEXFLOW_BENCH_SECONDS ?? 5)
const ROUNDS = Number(process.env.NEXFLOW_BENCH_ROUNDS ?? 2)
const KEY = 'bench-key-0123456789abcdef'
const SERVER = fileURLToPath(new URL('./protection-server.ts', import.meta.url))

interface LoadResult {
  requests: { average: number; total: number }
  latency: { p50: number; p99: number }
  non2xx: number
}
type Autocannon = (options: Record<string, unknown>, done: (error: Error | null, result: LoadResult) => void) => unknown
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon

const POSTGRES_URL = process.env.NEXFLOW_BENCH_POSTGRES_URL
const SCHEMA = `nx_bench_rl_${randomUUID().slice(0, 8)}`
const ALL_ON: NexusOptions = { log: { format: 'json' }, auth: { apiKeys: [KEY, `${KEY}-2`, `${KEY}-3`] }, rateLimit: { windowMs: 60_000, max: 1_000_000_000 }, cors: { origin: 'https://app.example' } }
const ALL_ON_HEADERS = { 'x-api-key': KEY, origin: 'https://app.example' }

const CONFIGS: { name: string; options: NexusOptions; headers: Record<string, string> }[] = [
  { name: 'all off (request id only)', options: { secureHeaders: false, metrics: false, log: { requests: false, runs: false } }, headers: {} },
  { name: 'defaults (secure headers, metrics, JSON log line)', options: { log: { format: 'json' } }, headers: {} },
  { name: 'all on (+ API key, rate limit, CORS)', options: ALL_ON, headers: ALL_ON_HEADERS },
  ...(POSTGRES_URL === undefined ? [] : [{ name: 'all on, rate limit counted in PostgreSQL', options: { ...ALL_ON, durability: { databaseUrl: POSTGRES_URL, schema: SCHEMA } }, headers: ALL_ON_HEADERS }]),
]

async function measure(config: (typeof CONFIGS)[number]): Promise<{ rps: number; p99: number; cpuUsPerRequest: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', SERVER, JSON.stringify(config.options)], { stdio: ['pipe', 'pipe', 'inherit'] })
  child.stdout.setEncoding('utf8')
  const lines: string[] = []
  let buffer = ''
  const waiters: (() => void)[] = []
  child.stdout.on('data', (chunk: string) => {
    buffer += chunk
    let at
    while ((at = buffer.indexOf('\n')) >= 0) {
      lines.push(buffer.slice(0, at))
      buffer = buffer.slice(at + 1)
      waiters.splice(0).forEach((wake) => wake())
    }
  })
  const nextLine = async () => {
    while (lines.length === 0) await new Promise<void>((resolve) => waiters.push(resolve))
    return lines.shift() as string
  }
  const url = await nextLine()
  const load = (duration: number) => new Promise<LoadResult>((resolve, reject) => autocannon({ url: `${url}/workflows`, connections: 20, duration, headers: config.headers }, (error, result) => (error === null ? resolve(result) : reject(error))))
  await load(1)
  child.stdin.write('cpu\n')
  const before = Number((await nextLine()).split(' ')[0])
  const result = await load(SECONDS)
  child.stdin.write('cpu\n')
  const after = Number((await nextLine()).split(' ')[0])
  child.stdin.end()
  await once(child, 'exit')
  if (result.non2xx > 0) throw new Error(`${config.name}: ${result.non2xx} answers were not 2xx`)
  return { rps: result.requests.average, p99: result.latency.p99, cpuUsPerRequest: (after - before) / result.requests.total }
}

const results = new Map<string, { rps: number[]; cpu: number[]; p99: number[] }>(CONFIGS.map((c) => [c.name, { rps: [], cpu: [], p99: [] }]))
for (let round = 0; round < ROUNDS; round++) {
  for (const config of round % 2 === 0 ? CONFIGS : [...CONFIGS].reverse()) {
    const r = await measure(config)
    const entry = results.get(config.name)
    entry?.rps.push(r.rps)
    entry?.cpu.push(r.cpuUsPerRequest)
    entry?.p99.push(r.p99)
  }
}
if (POSTGRES_URL !== undefined) {
  const client = new pg.Client({ connectionString: POSTGRES_URL })
  await client.connect()
  await client.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`)
  await client.query(`DROP SCHEMA IF EXISTS ${SCHEMA}_boss CASCADE`)
  await client.end()
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0
const base = results.get(CONFIGS[0]?.name ?? '')
console.log(`protection middleware, GET /workflows, ${SECONDS} s x ${ROUNDS} rounds, 20 connections (medians):`)
for (const [name, r] of results) {
  const cpu = median(r.cpu)
  const extra = base === undefined ? 0 : cpu - median(base.cpu)
  console.log(`  ${name.padEnd(52)} ${median(r.rps).toFixed(0).padStart(6)} req/s  p99 ${median(r.p99)} ms  server CPU ${cpu.toFixed(1)} us/req (${extra >= 0 ? '+' : ''}${extra.toFixed(1)} us vs all off)`)
}
