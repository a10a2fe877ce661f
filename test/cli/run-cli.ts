import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export const REPO = fileURLToPath(new URL('../../', import.meta.url))
const BIN = fileURLToPath(new URL('../../bin/nexflow.mjs', import.meta.url))

export interface CliResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  ms: number
}

/**
 * Runs the real CLI (`node bin/nexflow.mjs ...`) from the repository root, stdin empty unless given. It gets its own
 * process group, killed when it exits: a file stuck in `execSync('sleep')` leaves its `sleep`
 * running after the CLI is gone, and tests leave no processes behind.
 */
export interface RunCliOptions {
  env?: Record<string, string | undefined>
  killAfterMs?: number
  closeStdout?: boolean
  /** Ctrl-C once this settles. */
  interruptWhen?: Promise<unknown>
  /** Ctrl-C as soon as stderr matches (an event, not a delay). */
  interruptOn?: RegExp
  /** Piped to its stdin (else stdin is closed). */
  stdin?: string
}

export function runCli(args: readonly string[], options: RunCliOptions = {}): Promise<CliResult> {
  const started = performance.now()
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ...options.env }
  // GitHub's own value would change annotation paths when the suite runs in Actions.
  if (options.env === undefined || !('GITHUB_WORKSPACE' in options.env)) delete env.GITHUB_WORKSPACE
  const child = spawn(process.execPath, [BIN, ...args], { cwd: REPO, env, detached: true, stdio: ['pipe', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  // A reader that goes away at once, as `nexflow check | head -0` would.
  if (options.closeStdout === true) child.stdout.destroy()
  else child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  let interrupted = false
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
    if (!interrupted && options.interruptOn?.test(stderr) === true) {
      interrupted = true
      child.kill('SIGINT')
    }
  })
  child.stdin.end(options.stdin ?? '')
  const killGroup = () => {
    try {
      process.kill(-(child.pid as number), 'SIGKILL')
    } catch {
      // the group is already empty
    }
  }
  // Ctrl-C, as a terminal sends it.
  void options.interruptWhen?.then(() => child.kill('SIGINT'))
  // A CLI that does not exit is a failed test, not a hung suite.
  const watchdog = setTimeout(killGroup, options.killAfterMs ?? 25_000)
  let ms = 0
  return new Promise((resolve, reject) => {
    child.on('error', reject)
    // Timed at exit; anything the CLI left in its group could hold the pipes open past it.
    child.on('exit', () => {
      ms = performance.now() - started
      clearTimeout(watchdog)
      killGroup()
    })
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr, ms }))
  })
}
