import type { DiscoveryRun } from '../discovery/index.js'
import type { CommandIo } from './commands/io.js'
import { hardExit } from './hard-exit.js'

/** Resolves once everything written to `stream` so far has been handed to the system. */
export function flush(stream: NodeJS.WritableStream): Promise<void> {
  return new Promise((resolve) => stream.write('', () => resolve()))
}

/**
 * Ends the process once the output is out, when the command owns it: a thread stuck in native
 * code cannot be joined, and Node joins every thread on a normal exit, so the owner of the
 * process exits hard. Embedded callers (tests, other tools) just get the code back.
 */
export async function finish(code: number, io: CommandIo): Promise<number> {
  if (!io.ownsProcess) return code
  await Promise.all([flush(io.out), flush(io.err)])
  process.exitCode = code
  // Listeners get their 'exit' event as they would from process.exit().
  process.emit('exit', code)
  return hardExit(code)
}

/** Closes a discovery run, waiting at most `ms` for its workers to wind down. */
export async function closeWithin(run: DiscoveryRun, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  await Promise.race([
    run.close().catch(() => undefined),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms)
      timer.unref()
    }),
  ])
  clearTimeout(timer)
}
