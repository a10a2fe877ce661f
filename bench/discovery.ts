// Discovery against importing the same files naively. Builds nexflow as it is installed (the
// compiled package: dist/ plus the two plain-JavaScript worker files), generates an app of 1000
// TypeScript workflow files that share one models module (a DataFlow with three models) and
// import 'nexflow' from node_modules, then measures, in one run: cold discovery in thread and in
// process isolation, a warm restart from the manifest cache, the naive baseline (one node
// process importing every file in sequence, as the source system's server did), the floor on
// this machine (the same imports split over bare worker threads that do nothing else), and the
// cost of 10 hanging files at timeout T, for T the default deadline and a short one.
// Run: npx tsx bench/discovery.ts (NEXFLOW_BENCH_RUNS=n rounds, default 3; NEXFLOW_BENCH_VERBOSE=1 lists every run)
import { execFile, spawn } from 'node:child_process'
import { copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import { availableParallelism, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import type * as DiscoveryModule from '../src/discovery/index.js'

type DiscoveryOptions = DiscoveryModule.DiscoveryOptions

const FILES = 1000
const HANGING = 10
/**
 * Deadlines the hanging files are measured at: the default, and a short one. Each hanging file
 * also costs a fixed amount whatever T is (its worker is killed and a replacement boots), which
 * a short T makes stand out.
 */
const HANG_TIMEOUTS_MS = [10_000, 2000] as const
const RUNS = Number(process.env.NEXFLOW_BENCH_RUNS ?? 3)

const REPO = fileURLToPath(new URL('..', import.meta.url))

// Defining models does no I/O: discovery never opens this database file.
const models = (dir: string) => `import { z } from 'zod'
import { DataFlow } from 'nexflow'

export const db = new DataFlow({ databaseUrl: ${JSON.stringify(`sqlite://${join(dir, 'bench.db')}`)}, applicationId: 'bench' })
export const User = db.model('User', { id: z.string(), email: z.string().email(), fullName: z.string().optional(), active: z.boolean().default(true) })
export const Order = db.model('Order', { userId: z.string(), total: z.number(), status: z.enum(['new', 'paid', 'shipped']) })
export const Invoice = db.model('Invoice', { orderId: z.number().int(), amount: z.number(), paidAt: z.date().optional() })
`

function workflowFile(i: number): string {
  return `import { WorkflowBuilder } from 'nexflow'
import '../models.js'

export const workflow = new WorkflowBuilder()
  .addNode('UserReadNode', 'user', { id: '\${userId}' })
  .addNode('OrderCreateNode', 'order', { total: ${i}, status: 'new' })
  .addNode('Function', 'receipt', { code: '({ order }) => ({ text: "order " + order.id + " of ${i}" })' })
  .addConnection('user', 'id', 'order', 'userId')
  .addConnection('order', '', 'receipt', 'order')
  .build({ name: 'flow-${i}', description: 'Bench workflow ${i}' })
`
}

const HANGING_FILE = `// Waits forever on something that never answers (a database, a socket) while being imported.
await new Promise<void>(() => {})
export const never = true
`

/** Runs a generated script in a fresh `node --import tsx`, importing every file in sequence. */
const NAIVE_RUNNER = `import { readFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
const files = JSON.parse(readFileSync(process.argv[2], 'utf8'))
const started = performance.now()
for (const file of files) await import(pathToFileURL(file).href)
process.stdout.write(JSON.stringify({ importMs: performance.now() - started }))
`

/**
 * The floor: the same imports split over bare worker threads (tsx registered, as in a discovery
 * worker) and nothing else: no manifests, messages, deadlines or cache. Started by a script run
 * like the naive one; its time counts from before the threads start.
 */
const THREADS_RUNNER = `import { readFileSync } from 'node:fs'
import { Worker } from 'node:worker_threads'
const files = JSON.parse(readFileSync(process.argv[2], 'utf8'))
const threads = Number(process.argv[3])
const started = performance.now()
await Promise.all(Array.from({ length: threads }, (_, i) => {
  const share = files.filter((_, index) => index % threads === i)
  const worker = new Worker(new URL('./threads-worker.mjs', import.meta.url), { workerData: share, execArgv: [] })
  return new Promise((resolve, reject) => worker.on('message', resolve).on('error', reject))
}))
process.stdout.write(JSON.stringify({ importMs: performance.now() - started }))
process.exit(0)
`
const THREADS_WORKER = `import { register as registerCommonJs } from 'tsx/cjs/api'
import { register as registerEsm } from 'tsx/esm/api'
import { parentPort, workerData } from 'node:worker_threads'
import { pathToFileURL } from 'node:url'
registerCommonJs()
registerEsm()
for (const file of workerData) await import(pathToFileURL(file).href)
parentPort.postMessage('done')
`

interface Timing {
  wallMs: number
  detail: string
}

/**
 * nexflow as an app installs it, in `dir`/nexflow: compiled with the build's settings, the two
 * plain-JavaScript worker files beside, its dependencies the checkout's.
 */
async function buildPackage(dir: string): Promise<string> {
  const pkg = join(dir, 'nexflow')
  await promisify(execFile)(process.execPath, [join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(REPO, 'tsconfig.build.json'), '--outDir', join(pkg, 'dist')])
  await copyFile(join(REPO, 'package.json'), join(pkg, 'package.json'))
  await mkdir(join(pkg, 'workers', 'discovery'), { recursive: true })
  await copyFile(join(REPO, 'workers', 'bootstrap.mjs'), join(pkg, 'workers', 'bootstrap.mjs'))
  await copyFile(join(REPO, 'workers', 'discovery', 'loader-hooks.mjs'), join(pkg, 'workers', 'discovery', 'loader-hooks.mjs'))
  await symlink(join(REPO, 'node_modules'), join(pkg, 'node_modules'), 'dir')
  return pkg
}

async function generate(): Promise<{ dir: string; app: string; pkg: string; files: string[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'nexflow-bench-discovery-'))
  const pkg = await buildPackage(dir)
  const app = join(dir, 'app')
  await mkdir(join(app, 'workflows'), { recursive: true })
  // The app's own dependencies: nexflow, zod for the models, tsx for the naive run.
  await mkdir(join(app, 'node_modules'))
  await symlink(pkg, join(app, 'node_modules', 'nexflow'), 'dir')
  for (const dependency of ['zod', 'tsx']) await symlink(join(REPO, 'node_modules', dependency), join(app, 'node_modules', dependency), 'dir')
  // An ES module project, as a TypeScript app with top-level await is.
  await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'bench-app', private: true, type: 'module' }))
  await writeFile(join(app, 'models.ts'), models(app))
  const files: string[] = []
  for (let i = 0; i < FILES; i++) {
    const file = join(app, 'workflows', `flow-${String(i).padStart(4, '0')}.ts`)
    files.push(file)
    await writeFile(file, workflowFile(i))
  }
  for (let i = 0; i < HANGING; i++) await writeFile(join(app, 'workflows', `flow-${String(i * 100 + 50).padStart(4, '0')}-hang.ts`), HANGING_FILE)
  await writeFile(join(app, 'files.json'), JSON.stringify(files))
  await writeFile(join(app, 'naive.mjs'), NAIVE_RUNNER)
  await writeFile(join(app, 'threads.mjs'), THREADS_RUNNER)
  await writeFile(join(app, 'threads-worker.mjs'), THREADS_WORKER)
  return { dir, app, pkg, files }
}

/** The baseline: one process imports all files in sequence. `importMs` excludes node and tsx startup, `wallMs` includes them. */
function naive(dir: string): Promise<Timing & { importMs: number }> {
  return runImports(dir, ['--import', 'tsx', join(dir, 'naive.mjs'), join(dir, 'files.json')])
}

/** {@link THREADS_RUNNER}: the files split over as many bare threads as discovery uses workers. */
function bareThreads(dir: string): Promise<Timing & { importMs: number }> {
  return runImports(dir, [join(dir, 'threads.mjs'), join(dir, 'files.json'), String(availableParallelism())])
}

/** Runs a script that imports files and prints `{ importMs }`. */
function runImports(dir: string, args: string[]): Promise<Timing & { importMs: number }> {
  const started = performance.now()
  const child = spawn(process.execPath, args, { cwd: dir, stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
  return new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code) => {
      const wallMs = performance.now() - started
      if (code !== 0) return reject(new Error(`${args.join(' ')} exited with ${code}`))
      const { importMs } = JSON.parse(out) as { importMs: number }
      resolve({ wallMs, importMs, detail: `process wall ${ms(wallMs)}` })
    })
  })
}

async function discoverIn(discover: typeof DiscoveryModule.discover, root: string, options: DiscoveryOptions, expect: { ok: number; other?: number }): Promise<Timing> {
  const started = performance.now()
  const run = discover({ root, ...options })
  const report = await run.report
  const wallMs = performance.now() - started
  await run.close()
  const ok = report.files.filter((f) => f.status === 'ok').length
  const cached = report.files.filter((f) => f.cached).length
  const other = report.files.length - ok
  if (ok !== expect.ok || other !== (expect.other ?? 0)) {
    const statuses = [...new Set(report.files.map((f) => f.status))].join(', ')
    const firstError = report.files.find((f) => f.status !== 'ok')?.error?.message
    if (firstError !== undefined) console.error(`first problem: ${firstError}`)
    throw new Error(`expected ${expect.ok} ok and ${expect.other ?? 0} other files, got ${ok} ok and ${other} other (${statuses})`)
  }
  const counts = new Map<string, number>()
  for (const file of report.files) counts.set(file.status, (counts.get(file.status) ?? 0) + 1)
  return { wallMs, detail: `${[...counts].map(([status, n]) => `${n} ${status}`).join(', ')}; ${cached} cached` }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] as number
}

/** The run with the median wall time. */
function medianOf<T extends Timing>(results: T[]): T {
  const mid = median(results.map((r) => r.wallMs))
  return results.find((r) => r.wallMs === mid) as T
}

function ms(value: number): string {
  return `${value.toFixed(0)} ms`
}

function row(label: string, value: number, ratio: string, detail: string): void {
  console.log(`  ${label.padEnd(44)} ${ms(value).padStart(10)}  ${ratio.padEnd(22)} ${detail}`)
}

export async function runDiscoveryBench(): Promise<void> {
  // Other work on the machine skews every figure; the load before the run says how much there was.
  const loadBefore = loadavg()[0] ?? 0
  const { dir, app, pkg } = await generate()
  try {
    // The compiled package's discovery, so its workers run the compiled entry, as installed.
    const { discover, DEFAULT_IGNORE } = (await import(pathToFileURL(join(pkg, 'dist', 'src', 'discovery', 'index.js')).href)) as typeof DiscoveryModule
    const discovery = (options: DiscoveryOptions, expect: { ok: number; other?: number }) => discoverIn(discover, app, options, expect)
    const cache = (name: string) => join(dir, '.bench-cache', name)
    // The hanging files sit among the others; every run but the hanging one skips them.
    const withoutHanging: DiscoveryOptions = { ignore: [...DEFAULT_IGNORE, '**/*-hang.ts'] }
    // tsx keeps a transform cache on disk; prime it (for the naive run and for the workers) so
    // every figure below starts from the same state.
    await naive(app)
    await discovery({ ...withoutHanging, cache: false }, { ok: FILES })

    // Rounds interleave the kinds of run, so a change in machine load hits them all alike.
    const runs = { naive: [] as (Timing & { importMs: number })[], bare: [] as (Timing & { importMs: number })[], thread: [] as Timing[], process: [] as Timing[], warm: [] as Timing[] }
    const hangingRuns = new Map<number, Timing[]>(HANG_TIMEOUTS_MS.map((timeoutMs) => [timeoutMs, []]))
    for (let i = 0; i < RUNS; i++) {
      runs.naive.push(await naive(app))
      runs.bare.push(await bareThreads(app))
      runs.thread.push(await discovery({ ...withoutHanging, isolation: 'thread', cacheDir: cache(`thread-${i}`) }, { ok: FILES }))
      // A restart against the cache the cold run just filled.
      runs.warm.push(await discovery({ ...withoutHanging, isolation: 'thread', cacheDir: cache(`thread-${i}`) }, { ok: FILES }))
      runs.process.push(await discovery({ ...withoutHanging, isolation: 'process', cache: false }, { ok: FILES }))
      // As the cold thread run (a fresh cache to fill), plus the hanging files and the deadline.
      for (const timeoutMs of HANG_TIMEOUTS_MS) {
        hangingRuns.get(timeoutMs)?.push(await discovery({ isolation: 'thread', cacheDir: cache(`hanging-${timeoutMs}-${i}`), timeoutMs }, { ok: FILES, other: HANGING }))
      }
    }
    const baseline = medianOf(runs.naive)
    const bare = medianOf(runs.bare)
    const thread = medianOf(runs.thread)
    const processMode = medianOf(runs.process)
    const warm = medianOf(runs.warm)
    const hanging = HANG_TIMEOUTS_MS.map((timeoutMs) => {
      const median = medianOf(hangingRuns.get(timeoutMs) ?? [])
      return { timeoutMs, median, extraMs: median.wallMs - thread.wallMs }
    })

    const load = `1-minute load average ${loadBefore.toFixed(1)} before the run, ${(loadavg()[0] ?? 0).toFixed(1)} after it (the bench's own workers included)`
    console.log(`\ndiscovery: ${FILES} TypeScript workflow files sharing one models module (DataFlow, 3 models), importing the compiled nexflow package; median of ${RUNS} runs, ${availableParallelism()} CPUs`)
    console.log(`  ${load}`)
    row('naive import in one process (baseline)', baseline.importMs, '1.00x', `${baseline.detail}; import time excludes node + tsx startup`)
    row(`floor: the imports split over ${availableParallelism()} bare threads`, bare.importMs, `${(bare.importMs / baseline.importMs).toFixed(2)}x naive`, 'tsx in each thread and nothing else (no manifests, deadlines, cache)')
    const overFloor = (timing: Timing) => `${(timing.wallMs / bare.importMs).toFixed(2)}x the floor`
    row('cold discovery, thread isolation', thread.wallMs, `${(thread.wallMs / baseline.importMs).toFixed(2)}x naive`, `${thread.detail}; ${overFloor(thread)}`)
    row('cold discovery, process isolation', processMode.wallMs, `${(processMode.wallMs / baseline.importMs).toFixed(2)}x naive`, `${processMode.detail}; ${overFloor(processMode)}`)
    row('warm restart (manifest cache), thread', warm.wallMs, `${(warm.wallMs / thread.wallMs).toFixed(3)}x cold thread`, warm.detail)
    for (const { timeoutMs, median, extraMs } of hanging) {
      row(`cold thread + ${HANGING} hanging files, T = ${timeoutMs} ms`, median.wallMs, `${extraMs >= 0 ? '+' : ''}${ms(extraMs)} = ${(extraMs / timeoutMs).toFixed(2)} T`, `${median.detail}; ${HANGING} T would be +${ms(HANGING * timeoutMs)}`)
    }
    const atDefault = hanging[0] as (typeof hanging)[number]
    const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met')
    console.log(
      `  goals: cold <= 1.0x naive: ${verdict(thread.wallMs <= baseline.importMs)} (thread), ${verdict(processMode.wallMs <= baseline.importMs)} (process); ` +
        `warm <= 0.1x cold: ${verdict(warm.wallMs <= 0.1 * thread.wallMs)}; ${HANGING} hanging files add about T (<= 2 T at the default T = ${atDefault.timeoutMs} ms): ${verdict(atDefault.extraMs <= 2 * atDefault.timeoutMs)}`,
    )
    // NEXFLOW_BENCH_VERBOSE=1: every run, not only the medians.
    if (process.env.NEXFLOW_BENCH_VERBOSE !== undefined) {
      const all: [string, Timing[]][] = [...Object.entries(runs), ...[...hangingRuns].map(([t, list]): [string, Timing[]] => [`hanging, T = ${t} ms`, list])]
      for (const [kind, list] of all) console.log(`  ${kind}: ${list.map((r) => ms('importMs' in r ? (r.importMs as number) : r.wallMs)).join(', ')}`)
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await runDiscoveryBench()
