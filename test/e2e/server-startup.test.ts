import { writeFileSync } from 'node:fs'
import { once } from 'node:events'
import { connect, createServer } from 'node:net'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { COMMON_FLAGS, killAll, SLOW_MS, startNexflow, tempDir } from './server-helpers.js'

// `nexflow start` listens before it loads the server (see src/cli/commands/start-command.ts): the
// port answers /health at once, requests that come meanwhile are served once it has loaded, and
// options that could be invalid are still checked before anything listens.

const dir = tempDir('nexflow-startup-')
afterAll(async () => {
  await killAll()
  dir.remove()
})

describe('nexflow start: listening before the server has loaded', { timeout: SLOW_MS }, () => {
  it('answers /health at once and serves the requests that came while it loaded', async () => {
    const server = startNexflow([dir.path, ...COMMON_FLAGS, '--no-discovery'])
    const url = await server.listening()
    // Sent together the moment the URL is printed: /workflows waits for the server, never refused.
    const [health, workflows, openapi] = await Promise.all([fetch(`${url}/health`), fetch(`${url}/workflows`), fetch(`${url}/openapi.json`)])
    expect(health.status).toBe(200)
    expect(await health.json()).toMatchObject({ status: 'ok', phase: expect.stringMatching(/^(starting|serving)$/), discovery: { state: 'off' } })
    expect(workflows.status).toBe(200)
    expect(await workflows.json()).toEqual({ workflows: [] })
    expect(openapi.status).toBe(200)
    expect(await (await fetch(`${url}/health`)).json()).toMatchObject({ status: 'ok', phase: 'serving' })
    expect((await server.stop()).code).toBe(0)
  })
})

describe('nexflow start: a signal while the server loads', { timeout: SLOW_MS }, () => {
  it('SIGTERM right after the listening line: the request that came first is served, then a graceful stop, exit 0', async () => {
    const server = startNexflow([dir.path, ...COMMON_FLAGS, '--no-discovery'])
    const url = new URL(await server.listening())
    // The request is in the kernel before the signal is sent: "came first" means sent, not just
    // begun (a fetch connects later, and on a busy machine the server may have loaded by then).
    const socket = connect(Number(url.port), url.hostname)
    socket.setEncoding('utf8')
    let reply = ''
    socket.on('data', (chunk: string) => (reply += chunk))
    const replied = once(socket, 'end')
    await once(socket, 'connect')
    await new Promise<void>((resolve, reject) => socket.write('GET /workflows HTTP/1.1\r\nHost: nexflow\r\nConnection: close\r\n\r\n', (error) => (error ? reject(error) : resolve())))
    // Whether it is still loading (its handlers are set before the line is printed) or already
    // serving, the stop answers the request it holds before the connections are cut.
    server.signal('SIGTERM')
    await replied
    expect(reply, server.output).toMatch(/^HTTP\/1\.1 200 /)
    const exit = await server.exit()
    expect(exit.code, server.output).toBe(0)
    expect(server.stderr).toMatch(/nexflow: SIGTERM; shutting down/)
    expect(server.stderr).toMatch(/nexflow: stopped/)
  })
})

describe('nexflow start: options that could be invalid are checked before listening', { timeout: SLOW_MS }, () => {
  async function startExpectingExit(args: string[], env: Record<string, string | undefined> = {}): Promise<{ code: number | null; stderr: string; stdout: string }> {
    const server = startNexflow(args, { env })
    const exit = await server.exit()
    return { code: exit.code, stderr: server.stderr, stdout: server.stdout }
  }

  it('NODE_ENV=production without keys and without a config file: exit 2, nothing listened', async () => {
    const { code, stderr, stdout } = await startExpectingExit([dir.path, ...COMMON_FLAGS], { NODE_ENV: 'production', NEXFLOW_API_KEYS: undefined })
    expect(code).toBe(2)
    expect(stderr).toMatch(/^nexflow start: NODE_ENV=production requires authentication and none is configured/m)
    expect(stdout).not.toContain('listening')
  })

  it('a malformed NEXFLOW_API_KEYS or NEXFLOW_DURABILITY_URL: exit 2, nothing listened', async () => {
    const keys = await startExpectingExit([dir.path, ...COMMON_FLAGS], { NEXFLOW_API_KEYS: 'short' })
    expect(keys.code).toBe(2)
    expect(keys.stderr).toMatch(/^nexflow start: Invalid NEXFLOW_API_KEYS: key 1/m)
    expect(keys.stdout).not.toContain('listening')
    const durability = await startExpectingExit([dir.path, ...COMMON_FLAGS], { NEXFLOW_DURABILITY_URL: 'mysql://localhost/db' })
    expect(durability.code).toBe(2)
    expect(durability.stderr).toMatch(/^nexflow start: Invalid NEXFLOW_DURABILITY_URL/m)
    expect(durability.stdout).not.toContain('listening')
  })

  it('a root that is a file: exit 2 naming it, nothing listened', async () => {
    const file = join(dir.path, 'not-a-folder.txt')
    writeFileSync(file, 'hello')
    const { code, stderr, stdout } = await startExpectingExit([file, ...COMMON_FLAGS])
    expect(code).toBe(2)
    expect(stderr).toMatch(/^nexflow start: Invalid discovery option `root`: .*not-a-folder\.txt" is not an existing folder/m)
    expect(stdout).not.toContain('listening')
  })

  it('a bad flag: exit 2 with the usage hint, nothing listened', async () => {
    const { code, stderr, stdout } = await startExpectingExit([dir.path, '--port', '70000'])
    expect(code).toBe(2)
    expect(stderr).toMatch(/^nexflow start: --port: expected a whole number from 0 to 65535, got "70000"/m)
    expect(stdout).not.toContain('listening')
  })

  it('a port in use: exit 2 naming the port and the flag', async () => {
    const taken = createServer()
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', () => resolve()))
    const { port } = taken.address() as { port: number }
    try {
      const { code, stderr, stdout } = await startExpectingExit([dir.path, '--port', String(port), '--no-cache'])
      expect(code).toBe(2)
      expect(stderr).toMatch(new RegExp(`^nexflow start: Port ${port} on 127\\.0\\.0\\.1 is in use; pick another with apiPort \\(--port\\)`, 'm'))
      expect(stdout).not.toContain('listening')
    } finally {
      await new Promise((resolve) => taken.close(resolve))
    }
  })
})
