// Discovery against importing the same files naively. Generates 1000 TypeScript workflow files
// that share one models module (a DataFlow with three models) into a temporary folder, then
// measures, in one run: cold discovery in thread and in process isolation, a warm restart from
// the manifest cache, the naive baseline (one node process importing every file in sequence,
// as the source system's server did), and the cost of 10 hanging files at timeout T.
// Run: npx tsx bench/discovery.ts
import { spawn } from 'node:child_process'
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import { availableParallelism, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { DEFAULT_IGNORE, discover, type DiscoveryOptions } from '../src/discovery/index.js'

const FILES = 1000
const HANGING = 10
const HANG_TIMEOUT_MS = 2000
const RUNS = Number(process.env.NEXFLOW_BENCH_RUNS ?? 3)

const SRC_INDEX = fileURLToPath(new URL('../src/index.ts', import.meta.url))

// Defining models does no I/O: discovery never opens this database file.
const models = (dir: string) => `import { z } from 'zod'
import { DataFlow } from ${JSON.stringify(SRC_INDEX)}

export const db = new DataFlow({ databaseUrl: ${JSON.stringify(`sqlite://${join(dir, 'bench.db')}`)}, applicationId: 'bench' })
export const User = db.model('User', { id: z.string(), email: z.string().email(), fullName: z.string().optional(), active: z.boolean().default(true) })
export const Order = db.model('Order', { userId: z.string(), total: z.number(), status: z.enum(['new', 'paid', 'shipped']) })
export const Invoice = db.model('Invoice', { orderId: z.number().int(), amount: z.number(), paidAt: z.date().optional() })
`

function workflowFile(i: number): string {
  return `import { WorkflowBuilder } from ${JSON.stringify(SRC_INDEX)}
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

interface Timing {
  wallMs: number
  detail: string
}

async function generate(): Promise<{ dir: string; files: string[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'nexflow-bench-discovery-'))
  await mkdir(join(dir, 'workflows'))
  // Like an app's own dependencies: zod for the models, tsx for the naive run.
  await symlink(fileURLToPath(new URL('../node_modules', import.meta.url)), join(dir, 'node_modules'), 'dir')
  // An ES module project, as a TypeScript app with top-level await is.
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'bench-app', private: true, type: 'module' }))
  await writeFile(join(dir, 'models.ts'), models(dir))
  const files: string[] = []
  for (let i = 0; i < FILES; i++) {
    const file = join(dir, 'workflows', `flow-${String(i).padStart(4, '0')}.ts`)
    files.push(file)
    await writeFile(file, workflowFile(i))
  }
  for (let i = 0; i < HANGING; i++) await writeFile(join(dir, 'workflows', `flow-${String(i * 100 + 50).padStart(4, '0')}-hang.ts`), HANGING_FILE)
  await writeFile(join(dir, 'files.json'), JSON.stringify(files))
  await writeFile(join(dir, 'naive.mjs'), NAIVE_RUNNER)
  return { dir, files }
}

/** The baseline: one process imports all files in sequence. `importMs` excludes node and tsx startup, `wallMs` includes them. */
function naive(dir: string): Promise<Timing & { importMs: number }> {
  const started = performance.now()
  const child = spawn(process.execPath, ['--import', 'tsx', join(dir, 'naive.mjs'), join(dir, 'files.json')], { cwd: dir, stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
  return new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code) => {
      const wallMs = performance.now() - started
      if (code !== 0) return reject(new Error(`naive import exited with ${code}`))
      const { importMs } = JSON.parse(out) as { importMs: number }
      resolve({ wallMs, importMs, detail: `process wall ${ms(wallMs)}` })
    })
  })
}

async function discovery(root: string, options: DiscoveryOptions, expect: { ok: number; other?: number }): Promise<Timing> {
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
  const { dir } = await generate()
  try {
    const cache = (name: string) => join(dir, '.bench-cache', name)
    // The hanging files sit among the others; every run but the hanging one skips them.
    const withoutHanging: DiscoveryOptions = { ignore: [...DEFAULT_IGNORE, '**/*-hang.ts'] }
    // tsx keeps a transform cache on disk; prime it (for the naive run and for the workers) so
    // every figure below starts from the same state.
    await naive(dir)
    await discovery(dir, { ...withoutHanging, cache: false }, { ok: FILES })

    // Rounds interleave the kinds of run, so a change in machine load hits them all alike.
    const runs = { naive: [] as (Timing & { importMs: number })[], thread: [] as Timing[], process: [] as Timing[], warm: [] as Timing[], hanging: [] as Timing[] }
    for (let i = 0; i < RUNS; i++) {
      runs.naive.push(await naive(dir))
      runs.thread.push(await discovery(dir, { ...withoutHanging, isolation: 'thread', cacheDir: cache(`thread-${i}`) }, { ok: FILES }))
      // A restart against the cache the cold run just filled.
      runs.warm.push(await discovery(dir, { ...withoutHanging, isolation: 'thread', cacheDir: cache(`thread-${i}`) }, { ok: FILES }))
      runs.process.push(await discovery(dir, { ...withoutHanging, isolation: 'process', cache: false }, { ok: FILES }))
      // As the cold thread run (a fresh cache to fill), plus the hanging files and the deadline.
      runs.hanging.push(await discovery(dir, { isolation: 'thread', cacheDir: cache(`hanging-${i}`), timeoutMs: HANG_TIMEOUT_MS }, { ok: FILES, other: HANGING }))
    }
    const baseline = medianOf(runs.naive)
    const thread = medianOf(runs.thread)
    const processMode = medianOf(runs.process)
    const warm = medianOf(runs.warm)
    const hanging = medianOf(runs.hanging)
    const extraMs = hanging.wallMs - thread.wallMs

    const load = `1-minute load average ${loadBefore.toFixed(1)} before the run, ${(loadavg()[0] ?? 0).toFixed(1)} after it (the bench's own workers included)`
    console.log(`\ndiscovery: ${FILES} TypeScript workflow files sharing one models module (DataFlow, 3 models); median of ${RUNS} runs, ${availableParallelism()} CPUs`)
    console.log(`  ${load}`)
    row('naive import in one process (baseline)', baseline.importMs, '1.00x', `${baseline.detail}; import time excludes node + tsx startup`)
    row('cold discovery, thread isolation', thread.wallMs, `${(thread.wallMs / baseline.importMs).toFixed(2)}x naive`, thread.detail)
    row('cold discovery, process isolation', processMode.wallMs, `${(processMode.wallMs / baseline.importMs).toFixed(2)}x naive`, processMode.detail)
    row('warm restart (manifest cache), thread', warm.wallMs, `${(warm.wallMs / thread.wallMs).toFixed(3)}x cold thread`, warm.detail)
    row(`cold thread + ${HANGING} hanging files, T = ${HANG_TIMEOUT_MS} ms`, hanging.wallMs, `${extraMs >= 0 ? '+' : ''}${ms(extraMs)} = ${(extraMs / HANG_TIMEOUT_MS).toFixed(2)} T`, `${hanging.detail}; ${HANGING} T would be +${ms(HANGING * HANG_TIMEOUT_MS)}`)
    const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met')
    console.log(
      `  goals: cold <= 1.0x naive: ${verdict(thread.wallMs <= baseline.importMs)} (thread), ${verdict(processMode.wallMs <= baseline.importMs)} (process); ` +
        `warm <= 0.1x cold: ${verdict(warm.wallMs <= 0.1 * thread.wallMs)}; ${HANGING} hanging files add about T (<= 2 T): ${verdict(extraMs <= 2 * HANG_TIMEOUT_MS)}`,
    )
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await runDiscoveryBench()
