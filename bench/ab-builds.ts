// Compares two builds of nexflow's server under the same load, to tell a change's effect from this
// machine's drift: the same build's throughput moves by a third from one hour to the next, so two
// runs one after the other compare hours, not builds. Both servers are started and warmed up,
// then the load goes to each in turn, in short bursts (A B, B A, ...), and the medians of the
// bursts are compared; an idle server costs nothing while the other is loaded.
//
//   npx tsx bench/ab-builds.ts <rev-a> <rev-b>
//
// A revision is a git commit (built from a temporary worktree, with this checkout's node_modules)
// or `.`, the working tree as it is. The load is bench/server.ts's: autocannon, 50 connections,
// a POST per request with a fresh id. Per burst it reads each server's CPU time per request from
// /proc: the server's thread, the execution threads, V8's helper threads (GC, compilers).
// NEXFLOW_AB_ROUNDS (default 6), NEXFLOW_AB_SECONDS (a burst, default 4), NEXFLOW_AB_WORKFLOW
// (create-item, a one-node DataFlow Create on SQLite, or echo, a Function node), and
// NEXFLOW_AB_ARGS_A / NEXFLOW_AB_ARGS_B (more `nexflow start` flags, space-separated), and
// NEXFLOW_AB_NODE_A / NEXFLOW_AB_NODE_B (node's own flags for that server, e.g. --max-semi-space-size=32).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { DataFlow } from '../src/index.js'
import { copyPlainWorkers, CRUD_WORKFLOW, crudModels, ECHO_WORKFLOW, itemShape } from './server.js'

const REPO = fileURLToPath(new URL('..', import.meta.url))
const ROUNDS = Number(process.env.NEXFLOW_AB_ROUNDS ?? 6)
const SECONDS = Number(process.env.NEXFLOW_AB_SECONDS ?? 4)
const WORKFLOW = process.env.NEXFLOW_AB_WORKFLOW ?? 'create-item'
const WARMUP_SECONDS = 8
const CONNECTIONS = 50
/** USER_HZ: the unit of utime and stime in /proc. */
const CLOCK_TICKS_PER_S = 100
/** A thread that took more than this per request is an execution thread; the rest are V8's helpers. */
const WORKER_US = 30

interface LoadResult {
  requests: { average: number }
  latency: { p99: number }
  '2xx': number
  non2xx: number
  errors: number
}
type Autocannon = (options: Record<string, unknown>, done: (error: Error | null, result: LoadResult) => void) => unknown
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon

const load = (url: string, seconds: number): Promise<LoadResult> =>
  new Promise((resolve, reject) => {
    autocannon(
      { url, connections: CONNECTIONS, duration: seconds, method: 'POST', headers: { 'content-type': 'application/json' }, idReplacement: true, body: JSON.stringify({ inputs: { id: '[<id>]', name: 'bench item', qty: 3 } }) },
      (error, result) => (error === null ? resolve(result) : reject(error)),
    )
  })

/** The package built from `rev` (as bench/server.ts builds it), and the worktree to remove after. */
async function build(rev: string, dir: string): Promise<{ pkg: string; worktree?: string }> {
  let source = REPO
  let worktree: string | undefined
  if (rev !== '.') {
    worktree = join(dir, 'source')
    execFileSync('git', ['-C', REPO, 'worktree', 'add', '--detach', worktree, rev], { stdio: 'ignore' })
    await symlink(join(REPO, 'node_modules'), join(worktree, 'node_modules'), 'dir')
    source = worktree
  }
  const pkg = join(dir, 'nexflow')
  try {
    execFileSync(process.execPath, [join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(source, 'tsconfig.build.json'), '--outDir', join(pkg, 'dist')], { stdio: 'pipe' })
  } catch (error) {
    // tsc emits despite type errors; what it emitted is what runs.
    console.error(`${rev}: tsc reported errors:\n${String((error as { stdout?: Buffer }).stdout ?? error)}`)
  }
  await copyFile(join(source, 'package.json'), join(pkg, 'package.json'))
  await mkdir(join(pkg, 'bin'))
  await copyFile(join(source, 'bin', 'nexflow.mjs'), join(pkg, 'bin', 'nexflow.mjs'))
  await copyPlainWorkers(join(source, 'workers'), join(pkg, 'workers'))
  await symlink(join(REPO, 'node_modules'), join(pkg, 'node_modules'), 'dir')
  return worktree === undefined ? { pkg } : { pkg, worktree }
}

/** An app with the two workflows, its own SQLite file, migrated. */
async function app(dir: string, pkg: string): Promise<string> {
  const root = join(dir, 'app')
  await mkdir(join(root, 'node_modules'), { recursive: true })
  await symlink(pkg, join(root, 'node_modules', 'nexflow'), 'dir')
  for (const dependency of ['zod', 'tsx']) await symlink(join(REPO, 'node_modules', dependency), join(root, 'node_modules', dependency), 'dir')
  await writeFile(join(root, 'package.json'), JSON.stringify({ name: 'ab-app', private: true, type: 'module' }))
  const dbFile = join(dir, 'items.db')
  await writeFile(join(root, 'models.ts'), crudModels(dbFile))
  await mkdir(join(root, 'workflows'))
  await writeFile(join(root, 'workflows', 'create-item.ts'), CRUD_WORKFLOW)
  await writeFile(join(root, 'workflows', 'echo.ts'), ECHO_WORKFLOW)
  const db = new DataFlow({ databaseUrl: `sqlite://${dbFile}` })
  db.model('Item', itemShape)
  await db.migrate()
  await db.close()
  return root
}

function start(pkg: string, root: string, args: readonly string[], nodeFlags: readonly string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [...nodeFlags, join(pkg, 'bin', 'nexflow.mjs'), 'start', root, '--port', '0', '--no-cache', '--workers', '2', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] })
  return new Promise((resolve, reject) => {
    let out = ''
    let found = false
    child.stdout?.setEncoding('utf8')
    // Read stdout to the end: a full pipe would block the server's log lines.
    child.stdout?.on('data', (chunk: string) => {
      if (found) return
      out += chunk
      const match = /listening on (http:\/\/\S+)/.exec(out)
      if (match?.[1] === undefined) return
      found = true
      resolve({ child, url: match[1] })
    })
    child.once('exit', (code) => {
      if (!found) reject(new Error(`nexflow start (${pkg}) exited with ${code} before listening`))
    })
  })
}

async function ready(url: string): Promise<void> {
  for (;;) {
    if ((await fetch(`${url}/ready`).catch(() => undefined))?.ok === true) return
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

/** CPU ticks so far of each thread of `pid`. */
async function threadTicks(pid: number): Promise<Map<string, number>> {
  const ticks = new Map<string, number>()
  for (const tid of await readdir(`/proc/${pid}/task`)) {
    const stat = await readFile(`/proc/${pid}/task/${tid}/stat`, 'utf8').catch(() => '')
    if (stat === '') continue
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    ticks.set(tid, Number(fields[11]) + Number(fields[12]))
  }
  return ticks
}

interface Burst {
  rps: number
  p99: number
  /** Microseconds of CPU per request. */
  main: number
  workers: number
  helpers: number
  bad: number
}

async function burst(pid: number, url: string): Promise<Burst> {
  const before = await threadTicks(pid)
  const result = await load(url, SECONDS)
  const after = await threadTicks(pid)
  const answered = Math.max(1, result['2xx'] + result.non2xx)
  const us = (tid: string) => (((after.get(tid) ?? 0) - (before.get(tid) ?? 0)) * 1e6) / CLOCK_TICKS_PER_S / answered
  let workers = 0
  let helpers = 0
  for (const tid of after.keys()) {
    if (tid === String(pid)) continue
    const each = us(tid)
    if (each > WORKER_US) workers += each
    else helpers += each
  }
  return { rps: result.requests.average, p99: result.latency.p99, main: us(String(pid)), workers, helpers, bad: result.non2xx + result.errors }
}

const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN

async function main(): Promise<void> {
  const [revA, revB] = process.argv.slice(2)
  if (revA === undefined || revB === undefined) throw new Error('usage: npx tsx bench/ab-builds.ts <rev-a> <rev-b>   (a git revision, or . for the working tree)')
  const dir = await mkdtemp(join(tmpdir(), 'nexflow-ab-'))
  const servers: { label: string; child: ChildProcess; url: string; bursts: Burst[] }[] = []
  const worktrees: string[] = []
  try {
    for (const [i, rev] of [revA, revB].entries()) {
      const own = join(dir, String(i))
      await mkdir(own)
      const { pkg, worktree } = await build(rev, own)
      if (worktree !== undefined) worktrees.push(worktree)
      const words = (name: string) => (process.env[`${name}_${'AB'[i]}`] ?? '').split(' ').filter(Boolean)
      const args = words('NEXFLOW_AB_ARGS')
      const nodeFlags = words('NEXFLOW_AB_NODE')
      const { child, url } = await start(pkg, await app(own, pkg), args, nodeFlags)
      servers.push({ label: `${'AB'[i]}: ${[...nodeFlags, rev, ...args].join(' ')}`, child, url, bursts: [] })
    }
    for (const server of servers) await ready(server.url)
    const target = (server: { url: string }) => `${server.url}/workflows/${WORKFLOW}/execute`
    for (const server of servers) await load(target(server), WARMUP_SECONDS)
    for (let round = 0; round < ROUNDS; round++) {
      for (const server of round % 2 === 0 ? servers : [...servers].reverse()) server.bursts.push(await burst(server.child.pid as number, target(server)))
    }
    console.log(`A/B: POST /workflows/${WORKFLOW}/execute, ${CONNECTIONS} connections, ${ROUNDS} rounds of ${SECONDS} s bursts after ${WARMUP_SECONDS} s of warm-up each; medians; CPU in us per request`)
    for (const { label, bursts } of servers) {
      const m = (key: keyof Burst) => median(bursts.map((b) => b[key]))
      console.log(
        `  ${label.padEnd(30)} ${m('rps').toFixed(0).padStart(6)} req/s  p99 ${m('p99')} ms  server's thread ${m('main').toFixed(1)}  execution threads ${m('workers').toFixed(1)}  V8 helpers ${m('helpers').toFixed(1)}  non-2xx/errors ${bursts.reduce((sum, b) => sum + b.bad, 0)}  [${bursts.map((b) => b.rps.toFixed(0)).join(' ')}]`,
      )
    }
    const [a, b] = servers as [(typeof servers)[0], (typeof servers)[0]]
    const ratios = b.bursts.map((burst, i) => burst.rps / (a.bursts[i]?.rps ?? Number.NaN))
    console.log(`  B/A req/s per round: ${ratios.map((r) => r.toFixed(2)).join(' ')}; median ${median(ratios).toFixed(3)}`)
  } finally {
    for (const { child } of servers) child.kill('SIGTERM')
    await Promise.all(servers.map(({ child }) => new Promise((resolve) => (child.exitCode !== null ? resolve(undefined) : child.once('exit', resolve)))))
    for (const worktree of worktrees) execFileSync('git', ['-C', REPO, 'worktree', 'remove', '--force', worktree], { stdio: 'ignore' })
    await rm(dir, { recursive: true, force: true })
  }
}

await main()
