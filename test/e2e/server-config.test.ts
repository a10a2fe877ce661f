// `nexflow start` reads nexflow.config.{json,ts} at the root: a low `runTimeoutMs` there bounds
// runs (504 RUN_TIMEOUT); a config file that throws, hangs, or holds an unknown key stops the
// command with exit code 2 and a message naming the file (and the key).
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { COMMON_FLAGS, execute, killAll, SERVER_FIXTURES, SLOW_MS, startNexflow, waitForReady, WAIT_MS, type NexflowProcess } from './server-helpers.js'

afterAll(killAll)

describe('nexflow start: runTimeoutMs from nexflow.config.json', { timeout: SLOW_MS }, () => {
  const root = join(SERVER_FIXTURES, 'config-run-timeout')
  let server: NexflowProcess
  let url: string

  beforeAll(async () => {
    // The working directory is the root: the config file is found there and named relative to it.
    server = startNexflow(['.', ...COMMON_FLAGS, '--workers', '1'], { cwd: root })
    url = await server.listening()
    await waitForReady(url)
  }, SLOW_MS)

  afterAll(async () => {
    await server?.stop()
  }, SLOW_MS)

  it('says which config file it uses', () => {
    expect(server.stderr).toMatch(/^nexflow: using nexflow\.config\.json$/m)
  })

  it('a run over the configured runTimeoutMs (1000 ms) is 504 RUN_TIMEOUT, and runs are served again once its worker is replaced', async () => {
    const started = performance.now()
    const { status, json } = await execute(url, 'spin', { inputs: { ms: 20_000 } })
    expect(status).toBe(504)
    expect(json.error).toMatchObject({ code: 'RUN_TIMEOUT', details: { timeoutMs: 1000 } })
    // Stopped at the configured deadline, not the 30 s default nor the 20 s spin.
    expect(performance.now() - started).toBeLessThan(15_000)
    // The next run waits for the replacement worker to boot; that wait is not its run time.
    expect((await execute(url, 'spin', { inputs: { ms: 10 } })).status).toBe(200)
  })

  // Regression: the run deadline started when the request was handed to the pool, so a run
  // queued behind one that timed out (or waiting for the replacement worker to boot) was answered
  // 504 although it never started. The deadline now counts from when a worker begins the run.
  it('a short run queued behind a run that times out is served', async () => {
    const slow = execute(url, 'spin', { inputs: { ms: 20_000 } })
    await expect.poll(async () => (await (await fetch(`${url}/health`)).json()) as { runs_in_flight: number }, { timeout: WAIT_MS, interval: 20 }).toMatchObject({ runs_in_flight: 1 })
    const quick = await execute(url, 'spin', { inputs: { ms: 10 } })
    expect((await slow).status).toBe(504)
    expect(quick.json).toMatchObject({ outputs: { spin: { spun: 10 } } })
  })
})

describe.concurrent('nexflow start: a config file it cannot use is exit code 2, naming it', { timeout: SLOW_MS }, () => {
  /** Runs `nexflow start` on a fixture root until it exits. */
  async function startExpectingExit(folder: string, extra: string[] = []): Promise<{ code: number | null; stderr: string; stdout: string }> {
    const server = startNexflow(['.', ...COMMON_FLAGS, ...extra], { cwd: join(SERVER_FIXTURES, folder) })
    const exit = await server.exit()
    return { code: exit.code, stderr: server.stderr, stdout: server.stdout }
  }

  it('a nexflow.config.ts that throws', async () => {
    const { code, stderr, stdout } = await startExpectingExit('config-throws')
    expect(code).toBe(2)
    expect(stderr).toMatch(/^nexflow start: nexflow\.config\.ts threw: Error: config exploded at import/m)
    // What the file printed before throwing explains it.
    expect(stderr).toContain('loading a config file that throws')
    expect(stdout).not.toContain('listening')
  })

  it('a nexflow.config.ts that hangs, stopped at the deadline', async () => {
    const { code, stderr, stdout } = await startExpectingExit('config-hangs', ['--timeout-ms', '1500'])
    expect(code).toBe(2)
    expect(stderr).toMatch(/^nexflow start: nexflow\.config\.ts did not finish loading within 1500 ms/m)
    expect(stdout).not.toContain('listening')
  })

  it('an unknown key, named with the option it resembles', async () => {
    const { code, stderr, stdout } = await startExpectingExit('config-unknown-key')
    expect(code).toBe(2)
    expect(stderr).toMatch(/^nexflow start: .*nexflow\.config\.json: Unknown Nexus option `runTimeoutMS` \(did you mean `runTimeoutMs`\?\)/m)
    expect(stdout).not.toContain('listening')
  })
})
