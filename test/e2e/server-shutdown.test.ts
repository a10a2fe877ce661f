// Graceful shutdown of `nexflow start`: SIGTERM lets the run in flight finish (its caller gets its
// 200), then the process says `nexflow: stopped` and exits 0. A second SIGTERM while a run is
// stuck does not wait for it: the process exits at once with a non-zero code.
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { COMMON_FLAGS, execute, getJson, killAll, SERVER_FIXTURES, SLOW_MS, startNexflow, waitForReady, waitUntil, type NexflowProcess } from './server-helpers.js'

const ROOT = join(SERVER_FIXTURES, 'shutdown')

let server: NexflowProcess | undefined

afterEach(async () => {
  await server?.stop()
  server = undefined
}, SLOW_MS)
afterAll(killAll)

/** Starts the server on the fixture and waits until it is ready to run. */
async function start(): Promise<{ server: NexflowProcess; url: string }> {
  server = startNexflow([ROOT, ...COMMON_FLAGS, '--workers', '1', '--run-timeout-ms', '60000'])
  const url = await server.listening()
  await waitForReady(url)
  return { server, url }
}

/** Resolves once the server counts one run in flight: the run is on a worker. */
function runInFlight(url: string): Promise<true> {
  return waitUntil('a run in flight', async () => ((await getJson(`${url}/health`)).json.runs_in_flight === 1 ? true : undefined))
}

describe('nexflow start: shutdown', { timeout: SLOW_MS }, () => {
  it('SIGTERM lets the run in flight finish with 200, then prints "nexflow: stopped" and exits 0', async () => {
    const { server, url } = await start()
    const inFlight = execute(url, 'spin', { inputs: { ms: 1500 } })
    await runInFlight(url)
    server.signal('SIGTERM')
    await server.waitFor('stderr', /nexflow: SIGTERM; shutting down/)
    const answer = await inFlight
    expect(answer.status).toBe(200)
    expect(answer.json.outputs.spin).toEqual({ spun: 1500 })
    expect(await server.exit()).toEqual({ code: 0, signal: null })
    expect(server.stderr).toMatch(/^nexflow: stopped$/m)
    // Gone: nothing listens on the port any more.
    await expect(fetch(`${url}/health`)).rejects.toThrow()
  })

  it('a second SIGTERM while a run is stuck forces the exit, with a non-zero code', async () => {
    const { server, url } = await start()
    const inFlight = execute(url, 'stuck', {}).then(
      (answer) => answer.status,
      (error: unknown) => error,
    )
    await runInFlight(url)
    server.signal('SIGTERM')
    await server.waitFor('stderr', /nexflow: SIGTERM; shutting down/)
    // The first signal waits for the stuck run (up to shutdownTimeoutMs, 10 s by default, then
    // exits 0); the second does not wait: 143, as for a process killed by SIGTERM.
    server.signal('SIGTERM')
    const exit = await server.exit()
    expect(exit.code).not.toBe(0)
    expect(exit.code).toBe(143)
    expect(server.stderr).toMatch(/nexflow: SIGTERM again; stopping now/)
    expect(server.stderr).not.toMatch(/nexflow: stopped/)
    // The stuck run's caller gets no answer: its connection is cut.
    expect(await inFlight).toBeInstanceOf(Error)
  })
})
