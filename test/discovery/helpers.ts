import { execFileSync } from 'node:child_process'
import { closeSync, constants, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import type { DiscoveryReport, FileResult } from '../../src/discovery/index.js'

export const REPO = fileURLToPath(new URL('../../', import.meta.url))
export const FIXTURES = join(REPO, 'fixtures')
/** The TypeScript entry of nexflow, for generated projects outside the repository to import. */
export const SRC_INDEX = join(REPO, 'src', 'index.ts')

/** The final result of each file, by path relative to the root. */
export function byPath(report: DiscoveryReport): Record<string, FileResult> {
  return Object.fromEntries(report.files.map((file) => [file.relativePath, file]))
}

/** A temporary folder with the given files (relative path -> content); `remove()` deletes it. */
export function tempProject(files: Record<string, string>, prefix = 'nexflow-discovery-'): { root: string; write(path: string, content: string): void; remove(): void } {
  const root = mkdtempSync(join(tmpdir(), prefix))
  const write = (path: string, content: string) => {
    mkdirSync(dirname(join(root, path)), { recursive: true })
    writeFileSync(join(root, path), content)
  }
  for (const [path, content] of Object.entries(files)) write(path, content)
  return { root, write, remove: () => rmSync(root, { recursive: true, force: true }) }
}

interface ProcessRow {
  pid: number
  ppid: number
  args: string
}

/** Every process descended from this one (children, grandchildren...). */
export function descendants(): ProcessRow[] {
  const rows = execFileSync('ps', ['-eo', 'pid=,ppid=,args='], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((line) => /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(line))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => ({ pid: Number(match[1]), ppid: Number(match[2]), args: match[3] as string }))
  const mine = new Set([process.pid])
  for (let grew = true; grew; ) {
    grew = false
    for (const row of rows) {
      if (!mine.has(row.pid) && mine.has(row.ppid)) {
        mine.add(row.pid)
        grew = true
      }
    }
  }
  return rows.filter((row) => row.pid !== process.pid && mine.has(row.pid))
}

/** Kills (by pid) the processes this test process started whose command line contains `text`, deepest first. */
export function killDescendants(text: string): number {
  const victims = descendants().filter((row) => row.args.includes(text))
  for (const victim of victims.reverse()) {
    try {
      process.kill(victim.pid, 'SIGKILL')
    } catch {
      // already gone
    }
  }
  return victims.length
}

/** Discovery worker processes still running under this process. */
export function liveWorkerProcesses(): ProcessRow[] {
  return descendants().filter((row) => row.args.includes('workers/bootstrap.mjs'))
}

/** The FIFO nobody writes to and the locked database two fixtures block on, and how to let them go. */
export function blockers() {
  const dir = mkdtempSync(join(tmpdir(), 'nexflow-hostile-'))
  const fifo = join(dir, 'fifo')
  execFileSync('mkfifo', [fifo])
  const dbFile = join(dir, 'locked.db')
  const holder = new Database(dbFile)
  holder.exec('CREATE TABLE t (x INTEGER)')
  holder.exec('BEGIN EXCLUSIVE')
  process.env.NEXFLOW_HOSTILE_FIFO = fifo
  process.env.NEXFLOW_HOSTILE_SQLITE = dbFile
  let released = false
  return {
    /** Ends the native calls a stuck thread is in, so it can finally exit. */
    release() {
      if (released) return
      released = true
      killDescendants('sleep 30')
      try {
        // Non-blocking: with no reader left (process isolation), this fails instead of waiting.
        closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK))
      } catch {
        // ENXIO: nobody is reading
      }
      // Well before the 30 s busy timeout: the waiting insert then succeeds. (A busy timeout that
      // runs out in a terminated thread aborts the process.)
      if (holder.open) holder.exec('COMMIT')
    },
    remove() {
      if (holder.open) holder.close()
      delete process.env.NEXFLOW_HOSTILE_FIFO
      delete process.env.NEXFLOW_HOSTILE_SQLITE
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
