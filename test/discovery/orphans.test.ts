import { spawn } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { fileAppears } from '../file-appears.js'
import { REPO, tempProject } from './helpers.js'

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** Polls `check` until it holds or `ms` pass (a process that is not our child has no exit event to await). */
async function eventually(check: () => boolean, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((resolve) => setTimeout(resolve, 50))) if (check()) return true
  return check()
}

describe('process isolation and a main process that dies', () => {
  const project = tempProject({
    'package.json': '{ "type": "module" }',
    // Starts a grandchild, says who is running, then spins: it never reads its IPC channel again.
    'workflows/spin.ts': `import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
const sleeper = spawn('sleep', ['300'], { stdio: 'ignore' })
writeFileSync(process.env.NEXFLOW_ORPHAN_MARKER as string, JSON.stringify({ child: process.pid, grandchild: sleeper.pid }))
for (;;) {}
`,
  })
  const marker = join(project.root, 'running.json')
  const main = join(project.root, 'main.mts')
  writeFileSync(
    main,
    `import { discover } from ${JSON.stringify(join(REPO, 'src', 'discovery', 'index.ts'))}
await discover({ root: ${JSON.stringify(project.root)}, cache: false, isolation: 'process', timeoutMs: 120_000 }).report
`,
  )
  afterAll(() => project.remove())

  it('a child process stuck in a loop does not outlive a main process killed without its exit hook (SIGKILL)', async () => {
    const parent = spawn(process.execPath, ['--import', 'tsx', main], { cwd: REPO, env: { ...process.env, NEXFLOW_ORPHAN_MARKER: marker }, stdio: 'ignore' })
    const parentExit = new Promise((resolve) => parent.on('exit', resolve))
    let pids: { child: number; grandchild: number } | undefined
    try {
      await fileAppears(marker, { nonEmpty: true })
      pids = JSON.parse(readFileSync(marker, 'utf8')) as { child: number; grandchild: number }
      parent.kill('SIGKILL')
      await parentExit
      expect(await eventually(() => !alive(pids!.child) && !alive(pids!.grandchild), 5000)).toBe(true)
    } finally {
      parent.kill('SIGKILL')
      // Without the watchdog they would spin forever: end them here (by pid, they are this test's).
      if (pids !== undefined) for (const pid of [pids.grandchild, pids.child]) if (alive(pid)) process.kill(pid, 'SIGKILL')
    }
  })
})
