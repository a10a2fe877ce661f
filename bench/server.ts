// The server, through real child processes and real HTTP, each figure against a baseline measured
// in the same run:
// 1. startup: process start to the first GET /health 200 of `nexflow start` on an empty app and
//    on 1000 workflow files (10 of which never finish importing), against a bare node:http
//    server spawned and polled the same way;
// 2. serving: process start until every healthy workflow of those files has answered an execute
//    request, against one process importing each file (tsx) and running each workflow once with
//    LocalRuntime; with and without the hanging files;
// 3. throughput: autocannon against a one-node DataFlow Create on SQLite served by Nexus, against
//    the same Create written by hand with hono and better-sqlite3 (bench/server-baseline.ts), and
//    by hand on the architecture Nexus is built on: hono handing each body to a piscina pool
//    whose threads validate and insert (bench/server-pool-baseline.ts);
//    also a Function-only workflow (the request path without the database) and another worker
//    count, and each server's CPU time per request (from /proc, in all threads and the main one).
// nexflow runs as an app installs it: compiled, from a package folder its bin finds dist/ in.
// Run: npx tsx bench/server.ts (NEXFLOW_BENCH_STARTS=n startup rounds, default 5;
// NEXFLOW_BENCH_RUNS=n serving rounds, default 1; NEXFLOW_BENCH_SECONDS=s per load run, default 10;
// NEXFLOW_BENCH_WARMUP_SECONDS=s of load before each, default 10;
// NEXFLOW_BENCH_QUICK=1 skips the figures at the default deadline; NEXFLOW_BENCH_STARTUP_ONLY=1 runs
// section 1 alone, NEXFLOW_BENCH_SERVING_ONLY=1 section 2 alone, NEXFLOW_BENCH_THROUGHPUT_ONLY=1
// section 3 alone; NEXFLOW_BENCH_VERBOSE=1 lists
// every run)
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { existsSync, rmSync } from 'node:fs'
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { availableParallelism, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import Database from 'better-sqlite3'
import { z } from 'zod'
import { DataFlow } from '../src/index.js'

const FILES = 1000
const HANGING = 10
const STARTS = Number(process.env.NEXFLOW_BENCH_STARTS ?? 5)
const RUNS = Number(process.env.NEXFLOW_BENCH_RUNS ?? 1)
const LOAD_SECONDS = Number(process.env.NEXFLOW_BENCH_SECONDS ?? 10)
/**
 * Load before each measured run, the same for every server. Nexus's three isolates (the server's
 * thread and two workers) were still compiling hot code after 3 s: about 220 optimizations in the
 * next 6 s, against 30 after 12 s, and V8's compiler and GC threads took 77 us per request then and 45
 * in steady state. 10 s measures what a server does once it has run a while.
 */
const WARMUP_SECONDS = Number(process.env.NEXFLOW_BENCH_WARMUP_SECONDS ?? 10)
/** The extra load runs (no database, another worker count) are there to explain the main one: shorter. */
const EXTRA_SECONDS = Math.min(5, LOAD_SECONDS)
const CONNECTIONS = 50
/** The discovery deadline of a quick run, and the default one (measured unless NEXFLOW_BENCH_QUICK). */
const QUICK_TIMEOUT_MS = 2000
const DEFAULT_TIMEOUT_MS = 10_000
const WITH_DEFAULT_TIMEOUT = process.env.NEXFLOW_BENCH_QUICK === undefined
/** NEXFLOW_BENCH_STARTUP_ONLY=1: section 1 alone (startup), for iterating on it. */
const STARTUP_ONLY = process.env.NEXFLOW_BENCH_STARTUP_ONLY !== undefined
/** NEXFLOW_BENCH_SERVING_ONLY=1: section 2 alone (serving the 1000 workflows), for iterating on discovery and the warm-up. */
const SERVING_ONLY = process.env.NEXFLOW_BENCH_SERVING_ONLY !== undefined
/** NEXFLOW_BENCH_THROUGHPUT_ONLY=1: section 3 alone (the load runs), for iterating on the request path. */
const THROUGHPUT_ONLY = process.env.NEXFLOW_BENCH_THROUGHPUT_ONLY !== undefined
/** Execute requests in flight while serving the 1000 workflows (two per execution worker, and some). */
const EXECUTE_CONCURRENCY = 8
/** Every wait on a child has a bound: a server that never answers fails the bench, not hangs it. */
const WAIT_MS = 120_000

const REPO = fileURLToPath(new URL('..', import.meta.url))
const CPUS = availableParallelism()

// autocannon ships no types; the part of its result this bench reads.
interface LoadResult {
  requests: { average: number }
  latency: { p50: number; p99: number }
  '2xx': number
  non2xx: number
  errors: number
  timeouts: number
}
type Autocannon = (options: Record<string, unknown>, done: (error: Error | null, result: LoadResult) => void) => unknown
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon

// ---------------------------------------------------------------------------------------------
// The apps

const flowModels = (dir: string) => `import { z } from 'zod'
import { DataFlow } from 'nexflow'

export const db = new DataFlow({ databaseUrl: ${JSON.stringify(`sqlite://${join(dir, 'bench.db')}`)} })
export const Order = db.model('Order', { userId: z.string(), total: z.number(), status: z.enum(['new', 'paid', 'shipped']) })
`

/** A workflow that stores an order (DataFlow, SQLite) and describes it (a Function node). */
const flowFile = (i: number) => `import { WorkflowBuilder } from 'nexflow'
import '../models.js'

export const workflow = new WorkflowBuilder()
  .addNode('OrderCreateNode', 'order', { userId: '\${userId}', total: ${i}, status: 'new' })
  .addNode('Function', 'receipt', { code: '({ order }) => ({ text: "order " + order.id + " of ${i}" })' })
  .addConnection('order', '', 'receipt', 'order')
  .build({ name: 'flow-${i}', description: 'Bench workflow ${i}' })
`

const HANGING_FILE = `// Waits forever on something that never answers (a database, a socket) while being imported.
await new Promise<void>(() => {})
export const never = true
`

export const itemShape = { id: z.string(), name: z.string(), qty: z.number().int() }
export const crudModels = (dbFile: string) => `import { z } from 'zod'
import { DataFlow } from 'nexflow'

export const db = new DataFlow({ databaseUrl: ${JSON.stringify(`sqlite://${dbFile}`)} })
export const Item = db.model('Item', { id: z.string(), name: z.string(), qty: z.number().int() })
`
export const CRUD_WORKFLOW = `import { WorkflowBuilder } from 'nexflow'
import '../models.js'

export const workflow = new WorkflowBuilder()
  .addNode('ItemCreateNode', 'create', { id: '\${id}', name: '\${name}', qty: '\${qty}' })
  .build({ name: 'create-item', description: 'Stores one item' })
`
/** The request path without the database: the same inputs, a Function node that returns them. */
export const ECHO_WORKFLOW = `import { WorkflowBuilder } from 'nexflow'

export const workflow = new WorkflowBuilder()
  .addNode('Function', 'echo', { code: '({ id, name, qty }) => ({ id, name, qty })', id: '\${id}', name: '\${name}', qty: '\${qty}' })
  .build({ name: 'echo', description: 'Returns its inputs' })
`

/** One process imports each file (tsx) and runs its workflow once; prints its own time. */
const NAIVE_RUNNER = `import { readFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import { LocalRuntime } from 'nexflow'
const files = JSON.parse(readFileSync(process.argv[2], 'utf8'))
const started = performance.now()
const runtime = new LocalRuntime()
let answered = 0
for (const file of files) {
  const { workflow } = await import(pathToFileURL(file).href)
  const { results } = await runtime.execute(workflow, { parameters: { userId: 'u1' } })
  if (typeof results.receipt?.text === 'string') answered++
}
process.stdout.write(JSON.stringify({ ms: performance.now() - started, answered }))
process.exit(0)
`

/** The startup baseline: a bare node:http server, saying where it listens as nexflow does. */
const BARE_SERVER = `import { createServer } from 'node:http'
const server = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' })
  res.end('{"status":"ok"}')
})
server.listen(0, '127.0.0.1', () => process.stdout.write('listening on http://127.0.0.1:' + server.address().port + '\\n'))
process.on('SIGTERM', () => process.exit(0))
`

interface Fixture {
  dir: string
  /** The compiled package's bin (finds dist/ beside it). */
  bin: string
  empty: string
  /** 1000 workflow files. */
  flows: string
  /** The same 1000 plus 10 that never finish importing. */
  hanging: string
  crud: string
  crudDb: string
  honoDb: string
  poolDb: string
  bare: string
}

/** Copies the plain-JavaScript worker files (package.json's `workers/**\/*.mjs`, `*.cjs`), which are never compiled. */
export async function copyPlainWorkers(from: string, to: string): Promise<void> {
  await mkdir(to, { recursive: true })
  for (const entry of await readdir(from, { withFileTypes: true })) {
    if (entry.isDirectory()) await copyPlainWorkers(join(from, entry.name), join(to, entry.name))
    else if (/\.(mjs|cjs)$/.test(entry.name)) await copyFile(join(from, entry.name), join(to, entry.name))
  }
}

/** nexflow as an app installs it: compiled with the build's settings, bin/ and the plain worker files beside, the checkout's dependencies. */
export async function buildPackage(dir: string): Promise<string> {
  const pkg = join(dir, 'nexflow')
  try {
    await promisify(execFile)(process.execPath, [join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(REPO, 'tsconfig.build.json'), '--outDir', join(pkg, 'dist')])
  } catch (error) {
    // tsc emits despite type errors (another change in progress); a missing CLI is what matters.
    const { stdout } = error as { stdout?: string }
    console.error(`server bench: tsc reported errors; benchmarking what it emitted:\n${stdout ?? String(error)}`)
  }
  await copyFile(join(REPO, 'package.json'), join(pkg, 'package.json'))
  await mkdir(join(pkg, 'bin'))
  await copyFile(join(REPO, 'bin', 'nexflow.mjs'), join(pkg, 'bin', 'nexflow.mjs'))
  await copyPlainWorkers(join(REPO, 'workers'), join(pkg, 'workers'))
  await symlink(join(REPO, 'node_modules'), join(pkg, 'node_modules'), 'dir')
  return pkg
}

/** An ES module app whose node_modules hold nexflow (the package), zod and tsx. */
async function appFolder(path: string, pkg: string): Promise<string> {
  await mkdir(join(path, 'node_modules'), { recursive: true })
  await symlink(pkg, join(path, 'node_modules', 'nexflow'), 'dir')
  for (const dependency of ['zod', 'tsx']) await symlink(join(REPO, 'node_modules', dependency), join(path, 'node_modules', dependency), 'dir')
  await writeFile(join(path, 'package.json'), JSON.stringify({ name: 'bench-app', private: true, type: 'module' }))
  return path
}

export async function flowsApp(path: string, pkg: string, hanging: boolean): Promise<string> {
  await appFolder(path, pkg)
  await mkdir(join(path, 'workflows'))
  await writeFile(join(path, 'models.ts'), flowModels(path))
  const files: string[] = []
  for (let i = 0; i < FILES; i++) {
    const file = join(path, 'workflows', `flow-${String(i).padStart(4, '0')}.ts`)
    files.push(file)
    await writeFile(file, flowFile(i))
  }
  if (hanging) for (let i = 0; i < HANGING; i++) await writeFile(join(path, 'workflows', `flow-${String(i * 100 + 50).padStart(4, '0')}-hang.ts`), HANGING_FILE)
  await writeFile(join(path, 'files.json'), JSON.stringify(files))
  await writeFile(join(path, 'naive.mjs'), NAIVE_RUNNER)
  return path
}

async function generate(dir: string): Promise<Fixture> {
  const pkg = await buildPackage(dir)
  const apps = join(dir, 'apps')
  // The empty app has nothing discovery would import, but is an app all the same.
  const empty = await appFolder(join(apps, 'empty'), pkg)
  const flows = await flowsApp(join(apps, 'flows'), pkg, false)
  const hanging = await flowsApp(join(apps, 'hanging'), pkg, true)
  const crud = await appFolder(join(apps, 'crud'), pkg)
  const crudDb = join(dir, 'crud.db')
  await writeFile(join(crud, 'models.ts'), crudModels(crudDb))
  await mkdir(join(crud, 'workflows'))
  await writeFile(join(crud, 'workflows', 'create-item.ts'), CRUD_WORKFLOW)
  await writeFile(join(crud, 'workflows', 'echo.ts'), ECHO_WORKFLOW)
  const bare = join(dir, 'bare-server.mjs')
  await writeFile(bare, BARE_SERVER)
  return { dir, bin: join(pkg, 'bin', 'nexflow.mjs'), empty, flows, hanging, crud, crudDb, honoDb: join(dir, 'hono.db'), poolDb: join(dir, 'pool.db'), bare }
}

// ---------------------------------------------------------------------------------------------
// Child processes

interface Child {
  process: ChildProcess
  /** performance.now() just before spawn. */
  spawnedAt: number
  /** From the child's `listening on <url>` line. */
  url: Promise<string>
  /** nexflow's `discovered ... in <n> ms; ...; ready` line, once printed: when (from spawn) and the discovery time it reports. */
  discovered(): { atMs: number; discoveryMs: number } | undefined
  exited: Promise<void>
  stderr(): string
}

const children = new Set<Child>()
/** Children that ignored SIGTERM for {@link STOP_GRACE_MS} and were killed. */
const forcedStops: string[] = []
const STOP_GRACE_MS = 5000

function spawnServer(args: readonly string[], cwd: string): Child {
  const spawnedAt = performance.now()
  const child = spawn(process.execPath, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  let listening = false
  let discovered: { atMs: number; discoveryMs: number } | undefined
  let partial = ''
  child.stderr.setEncoding('utf8')
  child.stderr.on('data', (chunk: string) => (err = (err + chunk).slice(-4000)))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const url = new Promise<string>((resolve, reject) => {
    // Read stdout to the end: nexflow prints a line per discovered file, and a full pipe would block it.
    child.stdout.setEncoding('utf8')
    child.stdout.on('data', (chunk: string) => {
      if (listening) {
        if (discovered !== undefined) return
        const lines = (partial + chunk).split('\n')
        partial = lines.pop() ?? ''
        for (const line of lines) {
          const found = /^nexflow: discovered .* in ([\d.]+) ms;/.exec(line)
          if (found !== null) discovered = { atMs: performance.now() - spawnedAt, discoveryMs: Number(found[1]) }
        }
        return
      }
      out += chunk
      const match = /listening on (http:\/\/\S+)/.exec(out)
      if (match?.[1] === undefined) return
      listening = true
      partial = out.slice(out.lastIndexOf('\n') + 1)
      resolve(match[1])
    })
    child.once('error', reject)
    child.once('exit', (code, signal) => {
      if (!listening) reject(new Error(`${args.join(' ')} exited (${code ?? signal}) before listening\n${err}`))
    })
  })
  url.catch(() => {})
  const handle: Child = { process: child, spawnedAt, url, exited, stderr: () => err, discovered: () => discovered }
  children.add(handle)
  void exited.then(() => children.delete(handle))
  return handle
}

/** SIGTERM, then SIGKILL after a grace period (noted: a server should stop on SIGTERM). */
async function stop(child: Child, label: string): Promise<void> {
  const { process: proc } = child
  if (proc.exitCode !== null || proc.signalCode !== null) return
  proc.kill('SIGTERM')
  const graceful = await Promise.race([child.exited.then(() => true), sleep(STOP_GRACE_MS, false, { ref: false })])
  if (graceful) return
  forcedStops.push(label)
  proc.kill('SIGKILL')
  await child.exited
}

/**
 * If this process dies before its cleanup ran (an uncaught error, Ctrl-C), its children and
 * temporary folder must not outlive it: killed and removed synchronously, on exit.
 */
function cleanUpOnExit(dir: string): () => void {
  const onExit = () => {
    for (const child of children) child.process.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  }
  // A signal's default action ends the process without 'exit': exit instead, so that the hook runs.
  const onSignal = (signal: NodeJS.Signals) => process.exit(signal === 'SIGINT' ? 130 : 143)
  process.once('exit', onExit)
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  return () => {
    process.off('exit', onExit)
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}

async function stopAll(): Promise<void> {
  for (const child of [...children]) {
    child.process.kill('SIGKILL')
    await child.exited
  }
}

async function withServer<T>(args: readonly string[], cwd: string, label: string, fn: (child: Child, url: string) => Promise<T>): Promise<T> {
  const child = spawnServer(args, cwd)
  try {
    return await fn(child, await withDeadline(child.url, `${label}: listening`))
  } catch (error) {
    const stderr = child.stderr().trim()
    if (stderr !== '') console.error(`${label}: the server's stderr ended with:\n${stderr.slice(-1500)}`)
    throw error
  } finally {
    await stop(child, label)
  }
}

function withDeadline<T>(promise: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms)
  })
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer))
}

/** Polls `url` every `intervalMs` until it answers 200; returns performance.now() of that answer. */
async function firstOk(url: string, intervalMs: number): Promise<number> {
  const until = performance.now() + WAIT_MS
  while (performance.now() < until) {
    try {
      const response = await fetch(url)
      await response.arrayBuffer()
      if (response.status === 200) return performance.now()
    } catch {
      // Not listening yet (or between connections): poll again.
    }
    await sleep(intervalMs)
  }
  throw new Error(`${url} did not answer 200 within ${WAIT_MS} ms`)
}

// ---------------------------------------------------------------------------------------------
// 1. Startup: process start to the first /health 200

const HEALTH_POLL_MS = 2

/**
 * Process start to exit of a node that only imports `modules` (of the compiled package, after the
 * CLI's entry): what (a) loads before it listens (the CLI and the startup listener), and the whole
 * server it loads once the port answers (options, hono and the routes, Nexus, the pool).
 */
async function importsOnly(fx: Fixture, modules: readonly string[]): Promise<number> {
  const dist = join(fx.bin, '..', '..', 'dist', 'src')
  const urls = ['cli/main.js', ...modules].map((file) => JSON.stringify(pathToFileURL(join(dist, file)).href))
  const script = `await import(${urls[0]}); await Promise.all([${urls.slice(1).map((url) => `import(${url})`).join(', ')}])`
  const started = performance.now()
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: join(fx.bin, '..', '..'), stdio: ['ignore', 'ignore', 'inherit'] })
  const code = await new Promise<number | null>((resolve, reject) => child.once('error', reject).once('exit', resolve))
  if (code !== 0) throw new Error(`importing the CLI's modules exited with ${code}`)
  return performance.now() - started
}

/** What `nexflow start` loads before it listens, and what it loads after (see src/cli/commands/start-command.ts). */
const BEFORE_LISTENING = ['cli/commands/start-command.js']
const AFTER_LISTENING = ['cli/commands/start.js', 'server/nexus.js', 'server/http/app.js', 'server/http/protection.js', 'server/metrics.js', 'server/execution-pool.js']

interface StartSample {
  /** Spawn to the first 200. */
  healthMs: number
  /** Spawn to the `listening on` line read from its stdout. */
  urlMs: number
}

async function timeToHealth(args: readonly string[], cwd: string, label: string, path: string): Promise<StartSample> {
  return withServer(args, cwd, label, async (child, url) => {
    const urlMs = performance.now() - child.spawnedAt
    return { healthMs: (await firstOk(`${url}${path}`, HEALTH_POLL_MS)) - child.spawnedAt, urlMs }
  })
}

// ---------------------------------------------------------------------------------------------
// 2. Serving: process start until every healthy workflow has answered an execute request

interface Serving {
  /** Spawn to the last workflow's first 200. */
  wallMs: number
  /** Spawn to listening. */
  listenMs: number
  /** Spawn to the first GET /ready 200 (polled alongside). */
  readyMs: number
  /** 404s while discovery had not reached a workflow yet. */
  notYet: number
  /** The longest a 200 took to answer. */
  slowestMs: number
  /** Discovery's own time, as the server reports it (it starts once listening). */
  discoveryMs: number
}

const workflowNames = Array.from({ length: FILES }, (_, i) => `flow-${i}`)
/** A lane that got a 404 waits this long: polling harder would take CPU from discovery. */
const NOT_YET_PAUSE_MS = 25

/**
 * Executes every workflow until each has answered 200 once, {@link EXECUTE_CONCURRENCY} requests
 * at a time, from the moment the server listens. A 404 (not discovered yet) puts the workflow
 * back at the end of the queue; any other status but 200, or outputs other than the workflow's,
 * fails the bench.
 */
async function executeEach(url: string, names: readonly string[]): Promise<{ notYet: number; slowestMs: number }> {
  const queue = [...names]
  let notYet = 0
  let slowestMs = 0
  const body = JSON.stringify({ inputs: { userId: 'u1' } })
  const lane = async () => {
    for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
      const sent = performance.now()
      const response = await fetch(`${url}/workflows/${name}/execute`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
      const text = await response.text()
      if (response.status === 404) {
        notYet++
        queue.push(name)
        await sleep(NOT_YET_PAUSE_MS)
        continue
      }
      if (response.status !== 200) throw new Error(`POST /workflows/${name}/execute answered ${response.status}: ${text.slice(0, 500)}`)
      const receipt = (JSON.parse(text) as { outputs: { receipt?: { text?: unknown } } }).outputs.receipt?.text
      if (typeof receipt !== 'string' || !receipt.endsWith(` of ${name.slice('flow-'.length)}`)) throw new Error(`${name} answered ${text.slice(0, 300)}`)
      slowestMs = Math.max(slowestMs, performance.now() - sent)
    }
  }
  await Promise.all(Array.from({ length: EXECUTE_CONCURRENCY }, lane))
  return { notYet, slowestMs }
}

/**
 * How a client gets every workflow answered: `eager` executes each from the moment the server
 * listens (the server serves a workflow as soon as discovery reports its file; 404s until then
 * are retried), polling GET /ready alongside; `ready` waits for GET /ready 200, then executes.
 */
type Strategy = 'eager' | 'ready'

/**
 * `nexflow start` on `app`, until every workflow has answered once: cold (`--no-cache`, a first
 * start), or with `cache` as `nexflow start` does by default, finding the manifest cache an
 * earlier start left (a restart).
 */
async function serveAll(bin: string, app: string, timeoutMs: number, strategy: Strategy, label: string, cache = false): Promise<Serving> {
  return withServer([bin, 'start', app, '--port', '0', ...(cache ? [] : ['--no-cache']), '--timeout-ms', String(timeoutMs)], app, label, async (child, url) => {
    const listenMs = performance.now() - child.spawnedAt
    const ready = firstOk(`${url}/ready`, strategy === 'eager' ? 50 : 10)
    // Awaited below; until then, a failure must not become an unhandled rejection (which would skip the cleanup).
    ready.catch(() => {})
    if (strategy === 'ready') await withDeadline(ready, `${label}: GET /ready`)
    const { notYet, slowestMs } = await withDeadline(executeEach(url, workflowNames), `${label}: executing every workflow`)
    const wallMs = performance.now() - child.spawnedAt
    const readyMs = (await withDeadline(ready, `${label}: GET /ready`)) - child.spawnedAt
    // The summary line follows readiness; give it a moment to arrive.
    for (let i = 0; i < 100 && child.discovered() === undefined; i++) await sleep(20)
    return { wallMs, listenMs, readyMs, notYet, slowestMs, discoveryMs: child.discovered()?.discoveryMs ?? Number.NaN }
  })
}

export interface Naive {
  wallMs: number
  /** Import and execution, without node and tsx startup. */
  inProcessMs: number
}

/** The baseline: one `node --import tsx` process imports each file and runs its workflow with LocalRuntime. */
export async function naive(app: string): Promise<Naive> {
  const started = performance.now()
  const child = spawn(process.execPath, ['--import', 'tsx', join(app, 'naive.mjs'), join(app, 'files.json')], { cwd: app, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()))
  const code = await new Promise<number | null>((resolve, reject) => child.once('error', reject).once('exit', resolve))
  const wallMs = performance.now() - started
  if (code !== 0) throw new Error(`the naive run exited with ${code}: ${err.slice(-2000)}`)
  const { ms, answered } = JSON.parse(out) as { ms: number; answered: number }
  if (answered !== FILES) throw new Error(`the naive run answered ${answered} of ${FILES} workflows`)
  return { wallMs, inProcessMs: ms }
}

// ---------------------------------------------------------------------------------------------
// 3. Throughput

interface Load {
  label: string
  /** CPU time of the server process per answered request, in all its threads and in its main thread (Linux). */
  cpuPerRequestMs?: { total: number; main: number }
  rps: number
  p50: number
  p99: number
  ok: number
  non2xx: number
  errors: number
  timeouts: number
}

function load(url: string, path: string, seconds: number): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url: `${url}${path}`,
        connections: CONNECTIONS,
        duration: seconds,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        // [<id>] becomes a fresh id per request (hyperid: a random prefix per connection, then a counter).
        idReplacement: true,
        body: JSON.stringify({ inputs: { id: '[<id>]', name: 'bench item', qty: 3 } }),
      },
      (error, result) => (error === null ? resolve(result) : reject(error)),
    )
  })
}

/**
 * Loads the server for {@link WARMUP_SECONDS} (JIT, statement caches, the first run's migration),
 * then for {@link LOAD_SECONDS}. `stored` is what the table should have gained: a row per 2xx,
 * and up to one more per connection and run, since autocannon stops counting with requests in
 * flight that the server still completes.
 */
async function throughput(label: string, url: string, path: string, pid: number | undefined, seconds: number): Promise<Load & { stored: number }> {
  const warm = await load(url, path, WARMUP_SECONDS)
  const cpuBefore = await cpuMs(pid)
  const result = await load(url, path, seconds)
  const cpuAfter = await cpuMs(pid)
  const answered = result['2xx'] + result.non2xx
  return {
    label,
    ...(cpuBefore === undefined || cpuAfter === undefined || answered === 0
      ? {}
      : { cpuPerRequestMs: { total: (cpuAfter.total - cpuBefore.total) / answered, main: (cpuAfter.main - cpuBefore.main) / answered } }),
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    ok: result['2xx'],
    non2xx: result.non2xx + warm.non2xx,
    errors: result.errors + warm.errors,
    timeouts: result.timeouts + warm.timeouts,
    stored: warm['2xx'] + result['2xx'],
  }
}

/** USER_HZ: the unit of utime and stime in /proc (100 on Linux, whatever the kernel's HZ). */
const CLOCK_TICKS_PER_S = 100

/** CPU time so far of a process (every thread) and of its main thread, from /proc; undefined where there is no /proc. */
async function cpuMs(pid: number | undefined): Promise<{ total: number; main: number } | undefined> {
  if (pid === undefined) return undefined
  const ticks = async (file: string) => {
    // Fields after the command name, which is in parentheses and may hold spaces: utime and stime are the 12th and 13th.
    const stat = await readFile(file, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_S
  }
  try {
    return { total: await ticks(`/proc/${pid}/stat`), main: await ticks(`/proc/${pid}/task/${pid}/stat`) }
  } catch {
    return undefined
  }
}

const storedAll = (rows: number, answered: number) => rows >= answered && rows <= answered + 2 * CONNECTIONS

/** The items table's row count and DDL (0 and '' before it exists). */
function table(dbFile: string): { count: number; ddl: string } {
  if (!existsSync(dbFile)) return { count: 0, ddl: '' }
  const db = new Database(dbFile, { readonly: true })
  try {
    const found = db.prepare("SELECT sql FROM sqlite_master WHERE name = 'items'").get() as { sql: string } | undefined
    if (found === undefined) return { count: 0, ddl: '' }
    const { count } = db.prepare('SELECT count(*) AS count FROM items').get() as { count: number }
    return { count, ddl: found.sql }
  } finally {
    db.close()
  }
}

async function migrated(dbFile: string): Promise<void> {
  // The table DataFlow creates for the model (Nexus's workers would create it on first use).
  const db = new DataFlow({ databaseUrl: `sqlite://${dbFile}` })
  db.model('Item', itemShape)
  await db.migrate()
  await db.close()
}

/** What `nexflow start` adds to every request by default (a log line per request and per run, metrics, secure headers), turned off. */
const PRODUCTION_EXTRAS_OFF = ['--no-request-log', '--no-metrics', '--no-secure-headers']

async function nexusThroughput(fx: Fixture, workers: number, workflow: 'create-item' | 'echo', seconds: number, extrasOff = false): Promise<Load> {
  const label = `Nexus, ${workers} worker${workers === 1 ? '' : 's'}${workflow === 'echo' ? ', Function node only (no database)' : ''}${extrasOff ? ', no logs/metrics/secure headers' : ''}`
  const before = table(fx.crudDb).count
  const result = await withServer([fx.bin, 'start', fx.crud, '--port', '0', '--no-cache', '--workers', String(workers), ...(extrasOff ? PRODUCTION_EXTRAS_OFF : [])], fx.crud, label, async (child, url) => {
    await firstOk(`${url}/ready`, 10)
    return throughput(label, url, `/workflows/${workflow}/execute`, child.process.pid, seconds)
  })
  const gained = table(fx.crudDb).count - before
  if (workflow === 'create-item' && !storedAll(gained, result.stored)) throw new Error(`${label}: ${result.stored} requests answered 2xx but ${gained} rows were stored`)
  return result
}

async function honoThroughput(fx: Fixture): Promise<Load> {
  const label = 'hono + better-sqlite3 by hand (baseline)'
  const result = await withServer(['--import', 'tsx', join(REPO, 'bench', 'server-baseline.ts'), fx.honoDb], REPO, label, (child, url) => throughput(label, url, '/items', child.process.pid, LOAD_SECONDS))
  const { count } = table(fx.honoDb)
  if (!storedAll(count, result.stored)) throw new Error(`${label}: ${result.stored} requests answered 2xx but ${count} rows were stored`)
  return result
}

/** The same Create by hand through a piscina pool of `threads` threads: what the worker hop costs before nexflow adds anything. */
async function poolThroughput(fx: Fixture, threads: number): Promise<Load> {
  const label = `hono + piscina (${threads} threads) + better-sqlite3 by hand`
  const result = await withServer(['--import', 'tsx', join(REPO, 'bench', 'server-pool-baseline.ts'), fx.poolDb, String(threads)], REPO, label, (child, url) => throughput(label, url, '/items', child.process.pid, LOAD_SECONDS))
  const { count } = table(fx.poolDb)
  if (!storedAll(count, result.stored)) throw new Error(`${label}: ${result.stored} requests answered 2xx but ${count} rows were stored`)
  return result
}

// ---------------------------------------------------------------------------------------------
// Report

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN
}

/** The run with the median `key`. */
function medianBy<T>(list: readonly T[], key: (item: T) => number): T {
  const mid = median(list.map(key))
  return list.find((item) => key(item) === mid) as T
}

const ms = (value: number) => `${value.toFixed(0)} ms`
const times = (value: number) => `${value.toFixed(2)}x`
const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met')
let benchStarted = performance.now()

/** NEXFLOW_BENCH_VERBOSE=1: what the bench is doing, on stderr. */
function progress(message: string): void {
  if (process.env.NEXFLOW_BENCH_VERBOSE !== undefined) console.error(`[${((performance.now() - benchStarted) / 1000).toFixed(1)} s] ${message}`)
}

function row(label: string, value: string, ratio: string, detail: string): void {
  console.log(`  ${label.padEnd(52)} ${value.padStart(11)}  ${ratio.padEnd(20)} ${detail}`)
}

export async function runServerBench(): Promise<void> {
  const loadBefore = loadavg()[0] ?? 0
  benchStarted = performance.now()
  const dir = await mkdtemp(join(tmpdir(), 'nexflow-bench-server-'))
  const dropExitHook = cleanUpOnExit(dir)
  try {
    const fx = await generate(dir)
    progress('package built, apps generated')
    // tsx keeps a transform cache on disk: prime it for both sets of files, so that every figure
    // below starts from the same state. (The naive run compiles the files as the workers do.)
    // (Only the serving figures import the files: a startup-only run skips it.)
    if (!STARTUP_ONLY && !THROUGHPUT_ONLY) {
      await naive(fx.flows)
      await naive(fx.hanging)
      progress('tsx cache primed')
    }

    // 1. Startup. Rounds interleave the kinds, so a change in machine load hits them all alike;
    // round 0 warms the disk cache and this process's fetch, and is not counted.
    const deadlines = WITH_DEFAULT_TIMEOUT ? [QUICK_TIMEOUT_MS, DEFAULT_TIMEOUT_MS] : [QUICK_TIMEOUT_MS]
    const starts = { bare: [] as StartSample[], empty: [] as StartSample[], imports: [] as number[], server: [] as number[], app: [] as StartSample[], checkout: [] as StartSample[], hanging: new Map<number, StartSample[]>(deadlines.map((t) => [t, []])) }
    const start = (app: string, ...flags: string[]) => [fx.bin, 'start', app, '--port', '0', '--no-cache', ...flags]
    for (let round = 0; round <= (THROUGHPUT_ONLY || SERVING_ONLY ? -1 : STARTS); round++) {
      const keep = <T>(list: T[] | undefined, value: T) => round > 0 && list?.push(value)
      keep(starts.bare, await timeToHealth([fx.bare], fx.dir, 'bare node:http', '/'))
      keep(starts.empty, await timeToHealth(start(fx.empty), fx.empty, 'nexflow start (empty app)', '/health'))
      for (const t of deadlines) keep(starts.hanging.get(t), await timeToHealth(start(fx.hanging, '--timeout-ms', String(t)), fx.hanging, `nexflow start (1010 files, T = ${t} ms)`, '/health'))
      keep(starts.imports, await importsOnly(fx, BEFORE_LISTENING))
      keep(starts.server, await importsOnly(fx, [...BEFORE_LISTENING, ...AFTER_LISTENING]))
      // The first request other than /health waits until the server has loaded: when the app serves.
      keep(starts.app, await timeToHealth(start(fx.empty), fx.empty, 'nexflow start (empty app), GET /workflows', '/workflows'))
      // The checkout's own bin (TypeScript through tsx, as a contributor runs it), for reference: once.
      if (round === STARTS) starts.checkout.push(await timeToHealth([join(REPO, 'bin', 'nexflow.mjs'), 'start', fx.empty, '--port', '0', '--no-cache'], fx.empty, 'nexflow start from the checkout (empty app)', '/health'))
    }
    progress('startup measured')

    // The startup figures (a NEXFLOW_BENCH_STARTUP_ONLY run prints these alone).
    const health = (list: readonly StartSample[]) => median(list.map((sample) => sample.healthMs))
    const printed = (list: readonly StartSample[]) => `URL printed at ${ms(median(list.map((sample) => sample.urlMs)))}`
    const bare = health(starts.bare)
    const empty = health(starts.empty)
    const checkout = health(starts.checkout)
    const imports = median(starts.imports)
    const serverImports = median(starts.server)
    const app = health(starts.app)
    const hangingStarts = [...starts.hanging].map(([t, list]) => ({ t, value: health(list), printed: printed(list) }))
    const printStartup = () => {
      const loadNote = `1-minute load average ${loadBefore.toFixed(1)} before the run, ${(loadavg()[0] ?? 0).toFixed(1)} after it; ${CPUS} CPUs; ${((performance.now() - benchStarted) / 1000).toFixed(0)} s in all`
      console.log(`\nserver: nexflow start (the compiled package, as installed) in child processes, over HTTP\n  ${loadNote}`)
      console.log(`\n1. process start to the first GET /health 200 (median of ${STARTS}; polled every ${HEALTH_POLL_MS} ms once the URL is printed)`)
      row('(c) bare node:http server (baseline)', ms(bare), '1.00x', `node bare-server.mjs; GET /; ${printed(starts.bare)}`)
      row('(a) nexflow start, empty app', ms(empty), `+${ms(empty - bare)} over (c)`, `${times(empty / bare)} (c); ${printed(starts.empty)}`)
      for (const { t, value, printed: at } of hangingStarts) row(`(b) nexflow start, ${FILES} files + ${HANGING} hanging, T = ${t} ms`, ms(value), `${times(value / empty)} (a)`, `cold (--no-cache); ${at}`)
      row('    node importing what (a) loads before listening', ms(imports), `${times(imports / bare)} (c)`, 'start to exit: the CLI entry, its flags, the startup listener (node:http)')
      row('    node importing the whole server, no listen', ms(serverImports), `${times(serverImports / bare)} (c)`, 'start to exit: + options (zod), hono and the routes, Nexus, the pool (piscina); loaded once (a) listens')
      row('    (a) serving: first GET /workflows 200', ms(app), `+${ms(app - empty)} over (a)`, 'requests other than /health and /ready wait until the server has loaded')
      row('    nexflow start from the checkout (tsx), empty app', ms(checkout), `${times(checkout / bare)} (c)`, 'for reference (1 run): bin/nexflow.mjs compiling src/ through tsx')
    }
    const startupGoals = () => {
      const goals: [string, string, string, string, string, boolean][] = []
      for (const { t, value } of hangingStarts) goals.push([`start -> /health, 1010 files, T = ${t} ms`, ms(value), `(a) ${ms(empty)}`, times(value / empty), '<= 1.2x (a)', value <= 1.2 * empty])
      goals.push(['start -> /health, empty app (a)', ms(empty), `(c) ${ms(bare)}`, `+${ms(empty - bare)}`, '<= +150 ms', empty - bare <= 150])
      return goals
    }
    const printGoals = (goals: readonly [string, string, string, string, string, boolean][]) => {
      console.log('\nsummary')
      console.log(`  ${'figure'.padEnd(42)} ${'measured'.padStart(12)}  ${'baseline'.padStart(14)}  ${'ratio'.padEnd(9)} ${'goal'.padEnd(19)} verdict`)
      for (const [figure, value, baseline, ratio, goal, met] of goals) console.log(`  ${figure.padEnd(42)} ${value.padStart(12)}  ${baseline.padStart(14)}  ${ratio.padEnd(9)} ${goal.padEnd(19)} ${verdict(met)}`)
    }
    if (STARTUP_ONLY) {
      printStartup()
      printGoals(startupGoals())
      if (forcedStops.length > 0) console.log(`  note: these servers ignored SIGTERM for ${STOP_GRACE_MS} ms and were killed: ${forcedStops.join('; ')}`)
      return
    }

    // 2. Serving every workflow. The default deadline costs about 10 s a run: measured once, in the last round.
    const serving = { naive: [] as Naive[], clean: [] as Serving[], afterReady: [] as Serving[], cached: [] as Serving[], hanging: new Map<number, Serving[]>(deadlines.map((t) => [t, []])) }
    // A start with the manifest cache on fills it; the cached runs below then find every file in it.
    if (!THROUGHPUT_ONLY) await serveAll(fx.bin, fx.flows, QUICK_TIMEOUT_MS, 'ready', 'serving 1000 files, filling the manifest cache', true)
    for (let round = 0; round < (THROUGHPUT_ONLY ? 0 : RUNS); round++) {
      serving.naive.push(await naive(fx.flows))
      serving.clean.push(await serveAll(fx.bin, fx.flows, QUICK_TIMEOUT_MS, 'eager', `serving 1000 files, round ${round}`))
      serving.afterReady.push(await serveAll(fx.bin, fx.flows, QUICK_TIMEOUT_MS, 'ready', `serving 1000 files after /ready, round ${round}`))
      serving.cached.push(await serveAll(fx.bin, fx.flows, QUICK_TIMEOUT_MS, 'ready', `serving 1000 files from the manifest cache, round ${round}`, true))
      for (const t of deadlines) {
        if (t !== DEFAULT_TIMEOUT_MS || round === RUNS - 1) serving.hanging.get(t)?.push(await serveAll(fx.bin, fx.hanging, t, 'eager', `serving 1010 files (T = ${t} ms), round ${round}`))
      }
    }
    progress('serving measured')

    // Discovery starts once listening; the execution workers' warm-up (each imports every served file) follows it; /ready answers 200 after both.
    const phases = (run: Serving) => `listening ${ms(run.listenMs)}, discovery ${ms(run.discoveryMs)}, warm-up ${ms(run.readyMs - run.listenMs - run.discoveryMs)}, /ready ${ms(run.readyMs)}`
    /** Section 2's figures, printed; returns its goals. */
    const printServing = () => {
      const naiveRun = medianBy(serving.naive, (r) => r.wallMs)
      const clean = medianBy(serving.clean, (r) => r.wallMs)
      const afterReady = medianBy(serving.afterReady, (r) => r.wallMs)
      const best = Math.min(clean.wallMs, afterReady.wallMs)
      const cached = medianBy(serving.cached, (r) => r.wallMs)
      const hanging = [...serving.hanging].map(([t, list]) => {
        const run = medianBy(list, (r) => r.wallMs)
        return { t, run, runs: list.length, extra: run.wallMs - clean.wallMs }
      })

      console.log(`\n2. process start until each of ${FILES} workflows (DataFlow Create + Function) answered an execute once (${EXECUTE_CONCURRENCY} requests in flight; ${RUNS === 1 ? 'one run each' : `median of ${RUNS} unless said`}; T = ${QUICK_TIMEOUT_MS} ms unless said)`)
      row('naive: one process imports + runs each (baseline)', ms(naiveRun.wallMs), '1.00x', `process wall; ${ms(naiveRun.inProcessMs)} of it importing and running`)
      row(`Nexus, ${FILES} files, executing from the start`, ms(clean.wallMs), `${times(clean.wallMs / naiveRun.wallMs)} naive`, `${phases(clean)}; ${clean.notYet} 404s; slowest 200 took ${ms(clean.slowestMs)}`)
      row(`Nexus, ${FILES} files, executing after /ready`, ms(afterReady.wallMs), `${times(afterReady.wallMs / naiveRun.wallMs)} naive`, `${phases(afterReady)}; then ${ms(afterReady.wallMs - afterReady.readyMs)} executing; slowest 200 took ${ms(afterReady.slowestMs)}`)
      row(`Nexus, ${FILES} files, a restart: manifest cache`, ms(cached.wallMs), `${times(cached.wallMs / naiveRun.wallMs)} naive`, `${phases(cached)}; then ${ms(cached.wallMs - cached.readyMs)} executing; every file from the cache (a start without --no-cache filled it)`)
      for (const { t, run, runs, extra } of hanging) {
        row(`Nexus, ${FILES} files + ${HANGING} hanging, T = ${t} ms, from the start`, ms(run.wallMs), `${extra >= 0 ? '+' : ''}${ms(extra)} = ${(extra / t).toFixed(2)} T`, `${times(run.wallMs / naiveRun.wallMs)} naive; ${phases(run)}; ${runs === 1 ? '1 run' : `median of ${runs}`}; ${HANGING} T would be +${ms(HANGING * t)}`)
      }
      const goals: [string, string, string, string, string, boolean][] = []
      goals.push(['all 1000 workflows answered (the better way)', ms(best), `naive ${ms(naiveRun.wallMs)}`, times(best / naiveRun.wallMs), '<= 1.5x', best <= 1.5 * naiveRun.wallMs])
      goals.push(['  the same, a restart (manifest cache)', ms(cached.wallMs), `naive ${ms(naiveRun.wallMs)}`, times(cached.wallMs / naiveRun.wallMs), '<= 1.5x', cached.wallMs <= 1.5 * naiveRun.wallMs])
      for (const { t, extra } of hanging) goals.push([`10 hanging files, T = ${t} ms`, `+${ms(extra)}`, `T ${ms(t)}`, `${(extra / t).toFixed(2)} T`, 'about 1 T (<= 2 T)', extra <= 2 * t])
      return goals
    }
    if (SERVING_ONLY) {
      printGoals(printServing())
      if (forcedStops.length > 0) console.log(`  note: these servers ignored SIGTERM for ${STOP_GRACE_MS} ms and were killed: ${forcedStops.join('; ')}`)
      return
    }

    // 3. Throughput: each target on its own database file, its table created by DataFlow.
    await migrated(fx.honoDb)
    const hono = await honoThroughput(fx)
    progress('hono measured')
    await migrated(fx.poolDb)
    const pooled = await poolThroughput(fx, CPUS)
    progress('hono + piscina measured')
    const nexus = await nexusThroughput(fx, CPUS, 'create-item', LOAD_SECONDS)
    progress('nexus measured')
    const echo = await nexusThroughput(fx, CPUS, 'echo', EXTRA_SECONDS)
    const otherWorkers = CPUS === 1 ? 2 : 1
    const nexusOther = await nexusThroughput(fx, otherWorkers, 'create-item', EXTRA_SECONDS)
    const nexusBare = await nexusThroughput(fx, CPUS, 'create-item', EXTRA_SECONDS, true)
    progress('other nexus variants measured')
    const ddl = new Set([table(fx.crudDb).ddl, table(fx.honoDb).ddl, table(fx.poolDb).ddl])
    if (ddl.size !== 1) throw new Error(`the items tables differ: ${[...ddl].join(' / ')}`)

    const servingGoals: [string, string, string, string, string, boolean][] = []
    if (THROUGHPUT_ONLY) console.log(`\nserver: throughput only\n  1-minute load average ${loadBefore.toFixed(1)} before the run, ${(loadavg()[0] ?? 0).toFixed(1)} after it; ${CPUS} CPUs`)
    else {
      printStartup()
      servingGoals.push(...startupGoals(), ...printServing())
    }
    console.log(`\n3. throughput: POST of a one-node DataFlow Create on SQLite, unique ids, ${CONNECTIONS} connections, ${LOAD_SECONDS} s (the last three: ${EXTRA_SECONDS} s) after ${WARMUP_SECONDS} s of warm-up (autocannon in the bench process)`)
    for (const l of [hono, pooled, nexus, echo, nexusOther, nexusBare]) {
      const ratio = l === hono ? '1.00x' : `${times(l.rps / hono.rps)} rps`
      const cpu = l.cpuPerRequestMs === undefined ? '' : `; CPU ${l.cpuPerRequestMs.total.toFixed(3)} ms/request (main thread ${l.cpuPerRequestMs.main.toFixed(3)})`
      row(l.label, `${l.rps.toFixed(0)} req/s`, ratio, `p50 ${l.p50} ms, p99 ${l.p99} ms${l === hono ? '' : ` (${times(l.p99 / hono.p99)})`}; ${l.ok} 2xx, ${l.non2xx} non-2xx, ${l.errors} errors, ${l.timeouts} timeouts${cpu}`)
    }

    // The compact table: each goal, its figure, its baseline, the ratio and the verdict.
    const goals = servingGoals
    goals.push([`throughput, ${CPUS} workers`, `${nexus.rps.toFixed(0)} req/s`, `${hono.rps.toFixed(0)} req/s`, times(nexus.rps / hono.rps), '>= 0.8x', nexus.rps >= 0.8 * hono.rps])
    goals.push([`p99 latency, ${CPUS} workers`, `${nexus.p99} ms`, `${hono.p99} ms`, times(nexus.p99 / hono.p99), '<= 2x', nexus.p99 <= 2 * hono.p99])
    const failures = (l: Load) => l.non2xx + l.errors + l.timeouts
    goals.push(['non-2xx, errors, timeouts (all load runs)', String([nexus, echo, nexusOther, nexusBare].reduce((n, l) => n + failures(l), 0)), String(failures(hono) + failures(pooled)), '', '0', [hono, pooled, nexus, echo, nexusOther, nexusBare].every((l) => failures(l) === 0)])
    printGoals(goals)
    if (forcedStops.length > 0) console.log(`  note: these servers ignored SIGTERM for ${STOP_GRACE_MS} ms and were killed: ${forcedStops.join('; ')}`)

    if (process.env.NEXFLOW_BENCH_VERBOSE !== undefined) {
      console.log('\nevery run:')
      const samples = (list: readonly StartSample[]) => list.map((sample) => `${ms(sample.healthMs)} (URL ${ms(sample.urlMs)})`).join(', ')
      console.log(`  bare: ${samples(starts.bare)}\n  empty: ${samples(starts.empty)}\n  empty, GET /workflows: ${samples(starts.app)}\n  imports only: ${starts.imports.map(ms).join(', ')}\n  whole server imported: ${starts.server.map(ms).join(', ')}`)
      for (const [t, list] of starts.hanging) console.log(`  start, T = ${t} ms: ${samples(list)}`)
      console.log(`  naive: ${serving.naive.map((r) => ms(r.wallMs)).join(', ')}`)
      console.log(`  Nexus, ${FILES} files, from the start: ${serving.clean.map((r) => `${ms(r.wallMs)} (${phases(r)})`).join(', ')}`)
      console.log(`  Nexus, ${FILES} files, after /ready: ${serving.afterReady.map((r) => `${ms(r.wallMs)} (${phases(r)})`).join(', ')}`)
      console.log(`  Nexus, ${FILES} files, manifest cache: ${serving.cached.map((r) => `${ms(r.wallMs)} (${phases(r)})`).join(', ')}`)
      for (const [t, list] of serving.hanging) console.log(`  Nexus + hanging, T = ${t} ms: ${list.map((r) => `${ms(r.wallMs)} (${phases(r)})`).join(', ')}`)
    }
  } finally {
    await stopAll()
    await rm(dir, { recursive: true, force: true })
    dropExitHook()
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await runServerBench()
