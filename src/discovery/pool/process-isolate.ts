import { fork, type ChildProcess } from 'node:child_process'
import { OutputTail, type Isolate, type IsolateEvents, type IsolateSpec } from './isolate.js'

/** Child processes alive right now, killed if the main process exits first (no orphans). */
const live = new Set<ChildProcess>()
let exitHookInstalled = false

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return
  try {
    // Negative pid: the whole process group, so grandchildren (`execSync('sleep')`) die too. Also
    // after the child itself exited: a pid is not reused while its process group has members.
    process.kill(-child.pid, 'SIGKILL')
  } catch {
    // ESRCH: the group is gone already.
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.on('exit', () => {
    for (const child of live) killGroup(child)
  })
}

const CLOSE_WAIT_MS = 200

/** V8's last words when `--max-old-space-size` is exceeded. */
const OUT_OF_MEMORY = /JavaScript heap out of memory|Reached heap limit|Allocation failed/

/**
 * A child process started detached (its own process group) and killed as a group with SIGKILL:
 * it contains what a thread cannot, native hangs and native crashes included.
 */
export function spawnProcess(spec: IsolateSpec, events: IsolateEvents): Isolate {
  installExitHook()
  const child = fork(spec.bootstrap, [spec.entry, JSON.stringify(spec.init)], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    env: { ...process.env, NEXFLOW_DISCOVERY: '1' },
    execArgv: [`--max-old-space-size=${spec.maxMemoryMb}`],
    serialization: 'json',
  })
  live.add(child)
  const output = new OutputTail(spec.outputTailBytes)
  // V8 prints its out-of-memory message just before aborting; keep stderr apart to see it.
  const stderr = new OutputTail(spec.outputTailBytes)
  child.stdout?.on('data', output.push)
  child.stderr?.on('data', (chunk: Buffer) => {
    output.push(chunk)
    stderr.push(chunk)
  })
  child.on('message', (message: unknown) => events.message(message))
  let exitReported = false
  const reportExit = (code: number | null, signal: NodeJS.Signals | null) => {
    if (exitReported) return
    exitReported = true
    live.delete(child)
    events.exit({ code, signal, oom: OUT_OF_MEMORY.test(stderr.peek()) })
  }
  // Wait for 'close' (stdio drained, so V8's out-of-memory message has arrived), but not for
  // long: a grandchild that escaped the group could hold the pipes open.
  child.on('exit', (code, signal) => {
    killGroup(child)
    setTimeout(() => reportExit(code, signal), CLOSE_WAIT_MS).unref()
  })
  child.on('close', (code, signal) => reportExit(code, signal))
  child.on('error', () => {
    // Spawning failed or the process could not be signalled; if it never ran, report its exit.
    if (child.pid === undefined) reportExit(null, null)
  })

  return {
    description: `process ${child.pid ?? '?'}`,
    send: (message) => {
      if (child.connected) child.send(message)
    },
    kill: () => killGroup(child),
    ref: () => {
      child.ref()
      child.channel?.ref()
    },
    unref: () => {
      child.unref()
      child.channel?.unref()
    },
    takeOutput: () => output.take(),
  }
}
