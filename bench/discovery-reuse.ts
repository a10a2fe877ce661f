// An experiment for a design that is not built: execution workers that keep what discovery
// imported. bench/server's first start of 1000 workflow files costs three import passes on two
// cores (discovery's, then each execution worker's warm-up), against the one pass of a plain
// import. This measures, with the real discovery worker and the warm-up's way of importing, what
// the same files cost the threads when the discovery threads carry on as execution workers and
// import only the files the other thread discovered:
// - now: two discovery threads import the files (half each, one file at a time, as discovery
//   does), stop; two fresh threads import every file (16 in flight, as the warm-up does);
// - kept: the two discovery threads then import the other thread's half, 16 in flight;
// - restart: two fresh threads import every file (a start whose manifests all come from the cache);
// against bench/server's naive baseline (one process imports each file and runs its workflow).
// Threads only: no HTTP server, no manifest checks on the main thread, no runs (bench/server
// measures those). Run: npx tsx bench/discovery-reuse.ts (NEXFLOW_BENCH_RUNS=n rounds, default 3).
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { Worker } from 'node:worker_threads'
import { buildPackage, flowsApp, naive } from './server.js'

const RUNS = Number(process.env.NEXFLOW_BENCH_RUNS ?? 3)
const THREADS = 2

/** The thread's entry (bootstrap.mjs imports it before registering tsx: it ends in .js). */
const ENTRY = `import { parentPort, workerData } from 'node:worker_threads'
import { pathToFileURL } from 'node:url'
import { startDiscoveryWorker } from './dist/workers/discovery/worker.js'

export function start() {
  const post = parentPort.postMessage.bind(parentPort)
  const worker = workerData.discover ? startDiscoveryWorker(workerData.init, post) : undefined
  if (worker === undefined) post({ type: 'ready' })
  parentPort.on('message', async (message) => {
    if (message.type !== 'warm') return worker?.receive(message)
    let next = 0
    const importer = async () => {
      while (next < message.files.length) await import(pathToFileURL(message.files[next++]).href)
    }
    await Promise.all(Array.from({ length: 16 }, importer))
    post({ type: 'warmed' })
  })
}
`

interface Sample {
  wallMs: number
  discoveryMs?: number
  cpuS: number
}

class Thread {
  readonly worker: Worker
  readonly ready: Promise<void>

  constructor(pkg: string, root: string, discover: boolean) {
    this.worker = new Worker(join(pkg, 'workers', 'bootstrap.mjs'), {
      workerData: { entry: pathToFileURL(join(pkg, 'reuse-entry.js')).href, init: { root, hooksUrl: pathToFileURL(join(pkg, 'workers', 'discovery', 'loader-hooks.mjs')).href, maxManifestBytes: 16 << 20 }, discover },
      env: { ...process.env, ...(discover ? { NEXFLOW_DISCOVERY: '1' } : { NEXFLOW_EXECUTION: '1' }) },
      execArgv: [],
      stdout: true,
    })
    this.worker.stdout.resume()
    this.ready = this.#next((message) => message.type === 'ready')
  }

  #next(match: (message: { type: string }) => boolean, count = 1): Promise<void> {
    return new Promise((resolve, reject) => {
      let left = count
      const onMessage = (message: { type: string }) => {
        if (!match(message) || --left > 0) return
        this.worker.off('message', onMessage)
        resolve()
      }
      this.worker.on('message', onMessage)
      this.worker.once('error', reject)
    })
  }

  /** Discovery's way: one import request per file, each answered with a manifest. */
  async discover(files: readonly string[]): Promise<void> {
    await this.ready
    const done = this.#next((message) => message.type === 'imported' || message.type === 'failed', files.length)
    files.forEach((file, taskId) => this.worker.postMessage({ type: 'import', taskId, file }))
    await done
  }

  /** The warm-up's way. */
  async warm(files: readonly string[]): Promise<void> {
    await this.ready
    const done = this.#next((message) => message.type === 'warmed')
    this.worker.postMessage({ type: 'warm', files })
    await done
  }
}

async function measure(run: () => Promise<number | undefined>): Promise<Sample> {
  const cpu = process.cpuUsage()
  const started = performance.now()
  const discoveryMs = await run()
  const wallMs = performance.now() - started
  const used = process.cpuUsage(cpu)
  return { wallMs, cpuS: (used.user + used.system) / 1e6, ...(discoveryMs === undefined ? {} : { discoveryMs }) }
}

const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN

export async function runDiscoveryReuseBench(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'nexflow-reuse-'))
  try {
    const pkg = await buildPackage(dir)
    await writeFile(join(pkg, 'reuse-entry.js'), ENTRY)
    const app = await flowsApp(join(dir, 'flows'), pkg, false)
    const files = JSON.parse(await readFile(join(app, 'files.json'), 'utf8')) as string[]
    const halves = Array.from({ length: THREADS }, (_, t) => files.filter((_, i) => i % THREADS === t))
    const others = halves.map((_, t) => files.filter((_, i) => i % THREADS !== t))
    // tsx compiles each file once into its disk cache: every scenario below starts from it.
    await naive(app)

    /** Discovery's threads, each given its half; resolves once every file is reported. */
    const discoverHalves = async () => {
      const started = performance.now()
      const threads = halves.map(() => new Thread(pkg, app, true))
      await Promise.all(threads.map((thread, t) => thread.discover(halves[t] ?? [])))
      return { threads, discoveryMs: performance.now() - started }
    }
    /** Fresh threads, as the execution pool starts them, each importing every file. */
    const warmFresh = async () => {
      const threads = halves.map(() => new Thread(pkg, app, false))
      await Promise.all(threads.map((thread) => thread.warm(files)))
      await Promise.all(threads.map((thread) => thread.worker.terminate()))
    }
    const scenarios = {
      naive: async () => {
        await naive(app)
        return undefined
      },
      now: async () => {
        const { threads, discoveryMs } = await discoverHalves()
        await Promise.all(threads.map((thread) => thread.worker.terminate()))
        await warmFresh()
        return discoveryMs
      },
      kept: async () => {
        const { threads, discoveryMs } = await discoverHalves()
        await Promise.all(threads.map((thread, t) => thread.warm(others[t] ?? [])))
        await Promise.all(threads.map((thread) => thread.worker.terminate()))
        return discoveryMs
      },
      restart: async () => {
        await warmFresh()
        return undefined
      },
    }
    const samples = new Map<keyof typeof scenarios, Sample[]>(Object.keys(scenarios).map((name) => [name as keyof typeof scenarios, []]))
    for (let round = 0; round < RUNS; round++) {
      for (const [name, run] of Object.entries(scenarios)) samples.get(name as keyof typeof scenarios)?.push(await measure(run))
    }

    const naiveMs = median((samples.get('naive') ?? []).map((sample) => sample.wallMs))
    console.log(`discovery reuse (an experiment; not built): ${files.length} workflow files, ${THREADS} threads, ${availableParallelism()} CPUs, median of ${RUNS} rounds`)
    const rows: [keyof typeof scenarios, string][] = [
      ['naive', 'naive: one process imports + runs each (baseline)'],
      ['now', 'now: discovery threads, then fresh threads import every file'],
      ['kept', 'kept: the discovery threads import the rest'],
      ['restart', 'restart: fresh threads import every file (cache)'],
    ]
    for (const [name, label] of rows) {
      const list = samples.get(name) ?? []
      const wall = median(list.map((sample) => sample.wallMs))
      const discovery = list[0]?.discoveryMs === undefined ? '' : `; discovery ${median(list.map((sample) => sample.discoveryMs ?? 0)).toFixed(0)} ms`
      const cpu = name === 'naive' ? '' : `; CPU ${median(list.map((sample) => sample.cpuS)).toFixed(2)} s`
      console.log(`  ${label.padEnd(62)} ${wall.toFixed(0).padStart(6)} ms  ${(wall / naiveMs).toFixed(2)}x naive${discovery}${cpu}  (${list.map((sample) => sample.wallMs.toFixed(0)).join(', ')})`)
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await runDiscoveryReuseBench()
