import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

const hardExitUrl = new URL('../../src/cli/hard-exit.ts', import.meta.url).href

/** Runs a module in a fresh node (own process group, so its grandchildren can be cleaned up). */
function runScript(source: string): Promise<{ code: number | null; ms: number; stdout: string; stderr: string }> {
  const started = performance.now()
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', source], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  return new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code) => {
      // The `sleep` a stuck thread started outlives its process: end it with the group.
      try {
        process.kill(-(child.pid as number), 'SIGKILL')
      } catch {
        // already gone
      }
      resolve({ code, ms: performance.now() - started, stdout, stderr })
    })
  })
}

describe('hardExit', () => {
  it('ends the process with its code while a worker thread is blocked in a native call', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nexflow-hard-exit-'))
    try {
      // process.exit() here would wait the full 20 s for the thread to be joined. The shell writes
      // the marker as it starts, when the thread is certainly blocked in execSync: an event, not a delay.
      const result = await runScript(`
        import { watch } from 'node:fs'
        import { Worker } from 'node:worker_threads'
        import { hardExit } from ${JSON.stringify(hardExitUrl)}
        const dir = ${JSON.stringify(dir)}
        const watcher = watch(dir, () => {
          watcher.close()
          void worker.terminate()
          process.stdout.write('reports written\\n')
          hardExit(7)
        })
        const source = "const { workerData } = require('node:worker_threads'); require('node:child_process').execSync('echo > blocked; sleep 20', { cwd: workerData })"
        const worker = new Worker(source, { eval: true, execArgv: [], workerData: dir })
      `)
      expect(result.code).toBe(7)
      expect(result.stdout).toBe('reports written\n')
      expect(result.stderr).toBe('')
      expect(result.ms).toBeLessThan(8000)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
