// `npm run bench:reload`: how long a saved file takes to be served by `nexflow dev`, under load,
// against the baseline of restarting `nexflow start`; and whether any request fails meanwhile.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { createRequire } from 'node:module'

// autocannon ships no types; the part of it this bench uses.
interface LoadResult {
  requests: { total: number }
  non2xx: number
  errors: number
}
interface LoadInstance {
  stop(): void
  on(event: 'done', listener: (result: LoadResult) => void): void
}
const autocannon = createRequire(import.meta.url)('autocannon') as (options: Record<string, unknown>) => LoadInstance

const REPO = fileURLToPath(new URL('..', import.meta.url))
const BIN = join(REPO, 'bin', 'nexflow.mjs')
const BUILDER = JSON.stringify(join(REPO, 'src', 'workflow', 'builder.ts'))
const EDITS = Number(process.env.BENCH_RELOAD_EDITS ?? 50)
const RESTARTS = Number(process.env.BENCH_RELOAD_RESTARTS ?? 5)
// A developer saves every few seconds at most; meanwhile `nexflow dev` boots the worker the next
// reload starts with. 0 saves back to back (each as soon as the previous version is served).
const PAUSE_MS = Number(process.env.BENCH_RELOAD_PAUSE_MS ?? 1500)
// A version not served by then counts as a failure (and ends the bench): never poll forever.
const SERVED_WITHIN_MS = 30_000

const workflowFile = (name: string, version: string) => `import { WorkflowBuilder } from ${BUILDER}
export const workflow = new WorkflowBuilder().addNode('Function', 'f', { code: '() => ({ version: ${JSON.stringify(version)} })' }).build({ name: ${JSON.stringify(name)} })
`

function quantile(samples: number[], q: number): number {
  const sorted = [...samples].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number
}

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024
}

interface Server {
  child: ChildProcess
  url: string
  lines: string[]
}

async function startServer(command: 'start' | 'dev', root: string): Promise<Server> {
  const child = spawn(process.execPath, [BIN, command, root, '--port', '0', '--workers', '1'], { stdio: ['ignore', 'pipe', 'inherit'] })
  const lines: string[] = []
  const url = await new Promise<string>((resolve, reject) => {
    const reader = createInterface({ input: child.stdout as NodeJS.ReadableStream })
    reader.on('line', (line) => {
      lines.push(line)
      const match = /listening on (\S+)/.exec(line)
      if (match !== null) resolve(match[1] as string)
    })
    child.once('exit', (code) => reject(new Error(`nexflow ${command} exited with ${String(code)}`)))
  })
  return { child, url, lines }
}

async function stopServer(server: Server): Promise<void> {
  const exited = new Promise((resolve) => server.child.once('exit', resolve))
  server.child.kill('SIGTERM')
  await exited
}

/** Polls the workflow until it answers `version`; the time from `since` until then. */
async function servedAfter(url: string, version: string, since: number, failures: { count: number }): Promise<number> {
  while (performance.now() - since < SERVED_WITHIN_MS) {
    try {
      const response = await fetch(`${url}/workflows/probe/execute`, { method: 'POST' })
      if (response.status !== 200 && response.status !== 404) failures.count++
      if (response.status === 200) {
        const body = (await response.json()) as { outputs: { f: { version: string } } }
        if (body.outputs.f.version === version) return performance.now() - since
      } else await response.body?.cancel()
    } catch {
      // Not listening yet (restart baseline): keep polling.
    }
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
  failures.count++
  throw new Error(`version ${version} was not served within ${SERVED_WITHIN_MS} ms`)
}

export async function runReloadBench(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'nexflow-bench-reload-'))
  mkdirSync(join(root, 'workflows'))
  writeFileSync(join(root, 'package.json'), '{ "type": "module" }')
  writeFileSync(join(root, 'workflows', 'probe.ts'), workflowFile('probe', 'v0'))
  writeFileSync(join(root, 'workflows', 'steady.ts'), workflowFile('steady', 'steady'))
  try {
    // Baseline: what a save costs without hot reload (stop the server, start it again).
    const restarts: number[] = []
    const restartFailures = { count: 0 }
    for (let i = 1; i <= RESTARTS; i++) {
      const server = await startServer('start', root)
      const since = performance.now()
      writeFileSync(join(root, 'workflows', 'probe.ts'), workflowFile('probe', `restart-${i}`))
      await stopServer(server)
      const next = await startServer('start', root)
      restarts.push(await servedAfter(next.url, `restart-${i}`, since, restartFailures))
      await stopServer(next)
    }

    const server = await startServer('dev', root)
    await new Promise<void>((resolve) => {
      const check = () => (server.lines.some((line) => line.endsWith('; ready')) ? resolve() : setTimeout(check, 20))
      check()
    })
    // A load generator keeps another workflow busy for the whole run: no request may fail.
    const load = autocannon({ url: `${server.url}/workflows/steady/execute`, method: 'POST', connections: 10, duration: 3600 })
    const failures = { count: 0 }
    const reloads: number[] = []
    const rssStart = rssMb(server.child.pid as number)
    for (let i = 1; i <= EDITS; i++) {
      if (PAUSE_MS > 0) await new Promise((resolve) => setTimeout(resolve, PAUSE_MS))
      const since = performance.now()
      writeFileSync(join(root, 'workflows', 'probe.ts'), workflowFile('probe', `v${i}`))
      reloads.push(await servedAfter(server.url, `v${i}`, since, failures))
    }
    const rssEnd = rssMb(server.child.pid as number)
    const done = new Promise<LoadResult>((resolve) => load.on('done', resolve))
    load.stop()
    const result = await done
    await stopServer(server)

    const median = quantile(reloads, 0.5)
    const restartMedian = quantile(restarts, 0.5)
    console.log('\nreload: a saved file until its new version is served')
    console.log(`  nexflow dev, ${EDITS} edits under load (${PAUSE_MS} ms apart)    median ${median.toFixed(0)} ms  p95 ${quantile(reloads, 0.95).toFixed(0)} ms`)
    console.log(`  baseline: restart nexflow start (${RESTARTS}x)   median ${restartMedian.toFixed(0)} ms  p95 ${quantile(restarts, 0.95).toFixed(0)} ms`)
    console.log(`  ratio ${(median / restartMedian).toFixed(2)}x of a restart; goal median < 200 ms: ${median < 200 ? 'met' : 'NOT met'}`)
    console.log(`  load during the edits: ${result.requests.total} requests, ${result.non2xx} non-2xx, ${result.errors} errors, ${failures.count} failed probes; goal zero failed: ${result.non2xx + result.errors + failures.count === 0 ? 'met' : 'NOT met'}`)
    console.log(`  server RSS ${rssStart.toFixed(0)} MB before the edits, ${rssEnd.toFixed(0)} MB after ${EDITS} reloads`)
  } finally {
    rmSync(root, { recursive: true, force: true })
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await runReloadBench()
