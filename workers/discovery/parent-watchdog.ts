import { Worker } from 'node:worker_threads'

/**
 * Runs on its own thread, which nothing a user module does can block. Plain CommonJS, evaluated
 * as is (no tsx, no loader hooks).
 */
const WATCHDOG = `
const { workerData } = require('node:worker_threads')
setInterval(() => {
  // Reparented: the main process is gone. The whole group goes, grandchildren too.
  if (process.ppid !== workerData.ppid) process.kill(-workerData.group, 'SIGKILL')
}, workerData.intervalMs)
`

/**
 * Ends this child process, with its process group, soon after the main process is gone.
 *
 * Why: discovery starts child processes detached (their own process group, so a timeout can kill
 * a file's grandchildren with it), so nothing ends them with the main process. A main process
 * that exits normally kills them in its exit hook, and an idle child exits when its IPC channel
 * closes; but a main process that dies without running its exit hook (SIGKILL, the OOM killer, a
 * signal nobody handles) left a child stuck in a loop or a native call behind, forever.
 */
export function watchParent(intervalMs = 250): void {
  const watchdog = new Worker(WATCHDOG, {
    eval: true,
    workerData: { ppid: process.ppid, group: process.pid, intervalMs },
    // Not the parent's flags or loaders: it needs none.
    execArgv: [],
    resourceLimits: { maxOldGenerationSizeMb: 8, maxYoungGenerationSizeMb: 2 },
    name: 'nexflow-discovery-watchdog',
  })
  // It must not keep this process alive, nor look like something an import left running.
  watchdog.unref()
}
