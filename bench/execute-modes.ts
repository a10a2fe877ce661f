// The same run answered two ways: `mode: 'sync'` (one JSON body) against `mode: 'stream'`
// (server-sent events: a node-started and a node-finished per node, then the result). The server
// is a child process (Nexus from source, under tsx) serving a three-node Function chain in its
// execution pool; this process is the client, so the server's CPU time (from /proc: the main
// thread, and every thread) is its own. Rounds alternate the modes, so a change of load on a
// shared machine falls on both.
// Run: npm run bench:modes (NEXFLOW_BENCH_SECONDS=s per round, default 5; NEXFLOW_BENCH_ROUNDS=n, default 2;
// NEXFLOW_BENCH_CONNECTIONS=n requests in flight, default 8)
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { availableParallelism, loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import { processCpuMs } from './measure.js'

const SECONDS = Number(process.env.NEXFLOW_BENCH_SECONDS ?? 5)
const ROUNDS = Number(process.env.NEXFLOW_BENCH_ROUNDS ?? 2)
const CONNECTIONS = Number(process.env.NEXFLOW_BENCH_CONNECTIONS ?? 8)
const WARMUP_SECONDS = 2
const WORKERS = 2
const REPO = fileURLToPath(new URL('..', import.meta.url))
const SELF = fileURLToPath(import.meta.url)

type Mode = 'sync' | 'stream'

/** The server side: Nexus with one registered three-node chain, its URL printed on stdout. */
async function serve(): Promise<void> {
  const { Nexus, WorkflowBuilder } = await import('../src/index.js')
  const chain = new WorkflowBuilder()
    .addNode('Function', 'first', { code: '({ name }) => ({ greeting: "hello " + name })', name: '${name}' })
    .addNode('Function', 'second', { code: '({ greeting }) => ({ shout: greeting.toUpperCase() })' })
    .addNode('Function', 'third', { code: '({ shout }) => ({ length: shout.length, shout })' })
    .addConnection('first', 'greeting', 'second', 'greeting')
    .addConnection('second', 'shout', 'third', 'shout')
  const app = new Nexus({ apiPort: 0, autoDiscovery: false, workers: WORKERS, log: { requests: false, runs: false }, logger: { info: () => {}, warn: (message) => console.error(message) } })
  app.register('chain', chain)
  await app.start()
  await app.ready()
  process.stdout.write(`listening ${app.url ?? ''}\n`)
  process.once('SIGTERM', () => void app.close().then(() => process.exit(0)))
}

/** One request, read to its end; throws unless it answered the run's result. */
async function request(url: string, mode: Mode, n: number): Promise<void> {
  const response = await fetch(`${url}/workflows/chain/execute`, { method: 'POST', body: JSON.stringify({ inputs: { name: `n${n}` }, mode }) })
  const text = await response.text()
  if (response.status !== 200) throw new Error(`${mode}: answered ${response.status}: ${text}`)
  if (mode === 'stream' ? !text.includes('event: result') : !text.startsWith('{"outputs":')) throw new Error(`${mode}: no result in ${text.slice(0, 200)}`)
}

interface Round {
  mode: Mode
  requests: number
  seconds: number
  latencies: number[]
  mainMs: number
  totalMs: number
}

async function load(url: string, pid: number, mode: Mode, seconds: number): Promise<Round> {
  const latencies: number[] = []
  let n = 0
  const before = await processCpuMs(pid)
  const started = performance.now()
  const until = started + seconds * 1000
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (performance.now() < until) {
        const t = performance.now()
        await request(url, mode, n++)
        latencies.push(performance.now() - t)
      }
    }),
  )
  const elapsed = (performance.now() - started) / 1000
  const after = await processCpuMs(pid)
  return { mode, requests: latencies.length, seconds: elapsed, latencies, mainMs: after.main - before.main, totalMs: after.total - before.total }
}

function summary(rounds: Round[]) {
  const latencies = rounds.flatMap((r) => r.latencies).sort((a, b) => a - b)
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? Number.NaN
  const requests = rounds.reduce((sum, r) => sum + r.requests, 0)
  const seconds = rounds.reduce((sum, r) => sum + r.seconds, 0)
  const mainMs = rounds.reduce((sum, r) => sum + r.mainMs, 0)
  const totalMs = rounds.reduce((sum, r) => sum + r.totalMs, 0)
  return { requests, rps: requests / seconds, p50: at(0.5), p99: at(0.99), mainPerRequest: mainMs / requests, totalPerRequest: totalMs / requests }
}

async function bench(): Promise<void> {
  const load1 = loadavg()[0] ?? 0
  const started = performance.now()
  // `--import tsx`: this very process, not tsx's CLI wrapper, is the server, so /proc/<pid> is its.
  const server: ChildProcess = spawn(process.execPath, ['--import', 'tsx', SELF, '--serve'], { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] })
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = ''
      server.stdout?.setEncoding('utf8')
      server.stdout?.on('data', (chunk: string) => {
        out += chunk
        const match = /listening (http:\/\/\S+)/.exec(out)
        if (match?.[1] !== undefined) resolve(match[1])
      })
      server.once('exit', (code) => reject(new Error(`the server exited (${code}) before listening`)))
    })
    const pid = server.pid as number
    for (const mode of ['sync', 'stream'] as const) await load(url, pid, mode, WARMUP_SECONDS)
    const rounds: Round[] = []
    for (let i = 0; i < ROUNDS; i++) for (const mode of i % 2 === 0 ? (['sync', 'stream'] as const) : (['stream', 'sync'] as const)) rounds.push(await load(url, pid, mode, SECONDS))
    const sync = summary(rounds.filter((r) => r.mode === 'sync'))
    const stream = summary(rounds.filter((r) => r.mode === 'stream'))
    const row = (label: string, s: ReturnType<typeof summary>) =>
      `  ${label.padEnd(8)} ${s.rps.toFixed(0).padStart(6)} req/s  p50 ${s.p50.toFixed(2).padStart(7)} ms  p99 ${s.p99.toFixed(2).padStart(7)} ms  main-thread CPU ${s.mainPerRequest.toFixed(3)} ms/req  all threads ${s.totalPerRequest.toFixed(3)} ms/req  (${s.requests} requests)`
    console.log(`\nexecute modes: a three-node Function chain in the pool (${WORKERS} workers), ${CONNECTIONS} requests in flight, ${ROUNDS} x ${SECONDS} s per mode, modes alternated`)
    console.log(`  1-minute load average ${load1.toFixed(1)} before, ${(loadavg()[0] ?? 0).toFixed(1)} after; ${availableParallelism()} CPUs; ${((performance.now() - started) / 1000).toFixed(0)} s`)
    console.log(row('sync', sync))
    console.log(row('stream', stream))
    console.log(
      `  stream/sync: throughput ${(stream.rps / sync.rps).toFixed(2)}x, p50 latency ${(stream.p50 / sync.p50).toFixed(2)}x, main-thread CPU per request ${(stream.mainPerRequest / sync.mainPerRequest).toFixed(2)}x, all threads ${(stream.totalPerRequest / sync.totalPerRequest).toFixed(2)}x`,
    )
  } finally {
    server.kill('SIGTERM')
    if (server.exitCode === null) await once(server, 'exit')
  }
}

if (process.argv.includes('--serve')) await serve()
else await bench()
