// `nexflow start` as a child process, for the end-to-end server tests: spawn it, wait for what it
// prints, talk to it over real HTTP, and make sure it is gone (with its whole process group) when
// the test file ends, passed or failed.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const REPO = fileURLToPath(new URL('../../', import.meta.url))
export const BIN = join(REPO, 'bin', 'nexflow.mjs')
/** One folder per scenario of these tests. */
export const SERVER_FIXTURES = join(REPO, 'fixtures', 'server')

export interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
}

export interface StartOptions {
  /** The child's working directory (default: the repository). */
  cwd?: string
  /** Added to this process's environment. */
  env?: Record<string, string | undefined>
}

/**
 * The bound of every wait on the server (its start, its readiness, an exit): generous, because a
 * CI machine running several suites at once can be many times slower than a quiet one. A bound,
 * never a pause: each wait ends as soon as its event happens.
 */
export const WAIT_MS = 60_000
/** Timeout of the hooks and tests that start a server and wait on it. */
export const SLOW_MS = 2 * WAIT_MS

/** Every child started by this test file and not yet gone: killed by {@link killAll}. */
const live = new Set<NexflowProcess>()

/** A `nexflow start` child. Its output is kept; waits are bounded and reject with that output. */
export class NexflowProcess {
  readonly child: ChildProcess
  readonly exited: Promise<Exit>
  stdout = ''
  stderr = ''
  #exit: Exit | undefined
  /** Re-checked on every chunk of output and on exit. */
  readonly #watchers = new Set<() => void>()

  constructor(args: readonly string[], options: StartOptions = {}) {
    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ...options.env }
    // Its own process group: killing the group also kills anything it started.
    this.child = spawn(process.execPath, [BIN, ...args], { cwd: options.cwd ?? REPO, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
    live.add(this)
    const notify = () => {
      for (const watcher of [...this.#watchers]) watcher()
    }
    this.child.stdout?.on('data', (chunk: Buffer) => {
      this.stdout += chunk.toString()
      notify()
    })
    this.child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString()
      notify()
    })
    this.exited = new Promise<Exit>((resolve) => {
      // 'close': the process exited and its output has been read to the end.
      this.child.once('close', (code, signal) => {
        this.#exit = { code, signal }
        live.delete(this)
        this.#killGroup()
        resolve(this.#exit)
        notify()
      })
      this.child.once('error', () => {
        this.#exit = { code: null, signal: null }
        live.delete(this)
        resolve(this.#exit)
        notify()
      })
    })
  }

  get pid(): number {
    return this.child.pid as number
  }

  /** What it printed, for failure messages. */
  get output(): string {
    return `--- stdout ---\n${this.stdout}--- stderr ---\n${this.stderr}`
  }

  /**
   * Resolves with the first match of `pattern` in the stream, as soon as it is printed. Rejects
   * when the process exits without printing it, or after `timeoutMs` (a bound, not a pause).
   */
  waitFor(stream: 'stdout' | 'stderr', pattern: RegExp, timeoutMs = WAIT_MS): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const done = () => {
        this.#watchers.delete(check)
        clearTimeout(timer)
      }
      const check = () => {
        const match = pattern.exec(this[stream])
        if (match !== null) {
          done()
          resolve(match)
        } else if (this.#exit !== undefined) {
          done()
          reject(new Error(`nexflow start exited (${JSON.stringify(this.#exit)}) without printing ${pattern} on ${stream}\n${this.output}`))
        }
      }
      const timer = setTimeout(() => {
        done()
        reject(new Error(`nexflow start did not print ${pattern} on ${stream} within ${timeoutMs} ms\n${this.output}`))
      }, timeoutMs)
      this.#watchers.add(check)
      check()
    })
  }

  /** The server's base URL, once it prints that it listens. */
  async listening(timeoutMs = WAIT_MS): Promise<string> {
    const match = await this.waitFor('stdout', /^nexflow: listening on (http:\/\/\S+)/m, timeoutMs)
    return match[1] as string
  }

  /** Resolves with its exit, or rejects if it is still running after `timeoutMs`. */
  exit(timeoutMs = WAIT_MS): Promise<Exit> {
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`nexflow start did not exit within ${timeoutMs} ms\n${this.output}`)), timeoutMs)
    })
    return Promise.race([this.exited, late]).finally(() => clearTimeout(timer))
  }

  /** Sends a signal to the CLI process itself (not its group), as a terminal or an orchestrator would. */
  signal(signal: NodeJS.Signals): void {
    if (this.#exit === undefined) this.child.kill(signal)
  }

  /** Graceful stop (SIGTERM); SIGKILL to the group if it has not exited after `graceMs`. */
  async stop(graceMs = 15_000): Promise<Exit> {
    if (this.#exit !== undefined) return this.#exit
    this.signal('SIGTERM')
    try {
      return await this.exit(graceMs)
    } catch {
      this.kill()
      return this.exited
    }
  }

  /** SIGKILL to the whole process group, now. */
  kill(): void {
    this.#killGroup()
  }

  #killGroup(): void {
    try {
      process.kill(-this.pid, 'SIGKILL')
    } catch {
      // the group is already empty
    }
  }
}

/** Starts `nexflow start <args>`; see {@link NexflowProcess}. */
export function startNexflow(args: readonly string[], options: StartOptions = {}): NexflowProcess {
  return new NexflowProcess(['start', ...args], options)
}

/** Kills every child still running (for afterAll), and waits until each is gone. */
export async function killAll(): Promise<void> {
  const children = [...live]
  for (const child of children) child.kill()
  await Promise.all(children.map((child) => child.exited))
}

// A test process that dies without running its hooks must not leave servers behind.
process.once('exit', () => {
  for (const child of live) child.kill()
})

/** A temporary folder; `remove()` deletes it (safe to call twice). */
export function tempDir(prefix = 'nexflow-server-'): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix))
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) }
}

// Answers are read loosely: each test asserts the shape it cares about.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = Record<string, any>

export interface Answer {
  status: number
  json: Json
}

export async function getJson(url: string): Promise<Answer> {
  const response = await fetch(url)
  return { status: response.status, json: (await response.json()) as Json }
}

/** POST /workflows/<name>/execute with `body` (an object is sent as JSON, a string as is). */
export async function execute(base: string, name: string, body: unknown): Promise<Answer> {
  const response = await fetch(`${base}/workflows/${name}/execute`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) })
  return { status: response.status, json: (await response.json()) as Json }
}

/**
 * Polls `probe` every `intervalMs` until it returns something other than `undefined`, and
 * resolves with it; rejects after `timeoutMs`, saying what it waited for. For hooks, where
 * `expect.poll` is not available.
 */
export async function waitUntil<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = WAIT_MS, intervalMs = 100): Promise<T> {
  const deadline = performance.now() + timeoutMs
  let last: Error | undefined
  for (;;) {
    try {
      const value = await probe()
      if (value !== undefined) return value
    } catch (error) {
      last = error instanceof Error ? error : new Error(String(error))
    }
    if (performance.now() >= deadline) throw new Error(`waited ${timeoutMs} ms for ${what}${last === undefined ? '' : ` (last error: ${last.message})`}`)
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
  }
}

/** Resolves once GET /ready answers 200. */
export function waitForReady(base: string, timeoutMs = WAIT_MS): Promise<true> {
  return waitUntil(`${base}/ready to answer 200`, async () => ((await fetch(`${base}/ready`)).status === 200 ? true : undefined), timeoutMs)
}

/** Server-level flags every test passes: a free port, and no manifest cache (nothing written into fixture folders, every file really imported). */
export const COMMON_FLAGS = ['--port', '0', '--no-cache'] as const

/** Drops the durability schemas a test made (nexflow's and pg-boss's `<schema>_boss`). */
export async function dropDurabilitySchemas(url: string | undefined, schemas: readonly string[]): Promise<void> {
  if (url === undefined || schemas.length === 0) return
  const { default: pg } = await import('pg')
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    for (const schema of schemas) {
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
      await client.query(`DROP SCHEMA IF EXISTS ${schema}_boss CASCADE`)
    }
  } finally {
    await client.end()
  }
}
