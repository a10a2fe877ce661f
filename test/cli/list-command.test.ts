import { createServer } from 'node:net'
import { PassThrough } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { main } from '../../src/cli/main.js'
import { Nexus, WorkflowBuilder, type NexusLogger } from '../../src/index.js'
import { runCli } from './run-cli.js'

// `nexflow list` end to end: the real CLI in a child process against a live server in this
// process (registered workflows made of built-in nodes, run in its pool).
const quiet: NexusLogger = { info: () => {}, warn: () => {} }
let app: Nexus
let url: string

beforeAll(async () => {
  app = new Nexus({ apiPort: 0, autoDiscovery: false, workers: 1, logger: quiet })
  app.register('greet', new WorkflowBuilder().addNode('Function', 'greet', { code: '({ name }) => ({ text: `hello ${name}` })', name: '${name}' }).build({ name: 'greet', description: 'Greets name.' }))
  app.register('ping', new WorkflowBuilder().addNode('Function', 'pong', { code: '() => ({ pong: true })' }))
  await app.start()
  url = app.url as string
})

afterAll(async () => {
  await app?.close()
})

/** A port nothing listens on: taken from the system, then released. */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

function capture(tty = false) {
  const stream = Object.assign(new PassThrough(), { isTTY: tty })
  let text = ''
  stream.on('data', (chunk: Buffer) => (text += chunk.toString()))
  return { stream, text: () => text }
}

describe('nexflow list', () => {
  it('prints GET /workflows on one line when piped, and exits 0', async () => {
    const result = await runCli(['list', '--url', url])
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    expect(result.stdout.trimEnd().split('\n')).toHaveLength(1)
    const body = JSON.parse(result.stdout) as { workflows: { name: string; description: string; input_schema: unknown; endpoints: { execute: string } }[] }
    expect(body.workflows.map((w) => w.name)).toEqual(['greet', 'ping'])
    expect(body.workflows[0]).toMatchObject({ description: 'Greets name.', input_schema: { properties: { name: {} }, required: ['name'] }, endpoints: { execute: '/workflows/greet/execute' } })
  })

  it('takes the server from NEXFLOW_URL, and --url over it', async () => {
    const fromEnv = await runCli(['list'], { env: { NEXFLOW_URL: `${url}/` } })
    expect(fromEnv.code).toBe(0)
    expect((JSON.parse(fromEnv.stdout) as { workflows: unknown[] }).workflows).toHaveLength(2)
    const port = await closedPort()
    const flagWins = await runCli(['list', '--url', url], { env: { NEXFLOW_URL: `http://127.0.0.1:${port}` } })
    expect(flagWins.code).toBe(0)
  })

  it('indents the JSON for a terminal', async () => {
    const out = capture(true)
    expect(await main(['list', '--url', url], out.stream, capture().stream)).toBe(0)
    expect(out.text()).toMatch(/^\{\n {2}"workflows": \[\n/)
    expect(JSON.parse(out.text())).toMatchObject({ workflows: [{ name: 'greet' }, { name: 'ping' }] })
  })

  it('exits 1 naming the URL when no server answers, and prints nothing on stdout', async () => {
    const port = await closedPort()
    const result = await runCli(['list', '--url', `http://127.0.0.1:${port}`])
    expect(result.code).toBe(1)
    expect(result.stdout).toBe('')
    expect(result.stderr).toBe(
      `nexflow list: cannot reach http://127.0.0.1:${port}/workflows (connect ECONNREFUSED 127.0.0.1:${port}); is \`nexflow start\` running? Pass its address with --url or NEXFLOW_URL\n`,
    )
  })

  it('exits 2 for bad usage: an unknown flag (with the closest and the list), an argument, a URL that is not http', async () => {
    const unknown = await runCli(['list', '--ur', url])
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toBe('nexflow list: unknown flag --ur (did you mean --url?); the flags of nexflow list are --help, --url, --api-key\nRun "nexflow list --help" for usage.\n')
    const extra = await runCli(['list', 'greet'])
    expect(extra.code).toBe(2)
    expect(extra.stderr).toContain('nexflow list: unexpected argument "greet": nexflow list takes no arguments')
    const badEnv = await runCli(['list'], { env: { NEXFLOW_URL: 'localhost:8000' } })
    expect(badEnv.code).toBe(2)
    expect(badEnv.stderr).toContain('nexflow list: NEXFLOW_URL: expected the base URL of a nexflow server (http:// or https://, no query), got "localhost:8000"')
  })

  it('has --help', async () => {
    const result = await runCli(['list', '--help'])
    expect(result.code).toBe(0)
    expect(result.stdout).toContain('Usage: nexflow list [options]')
    expect(result.stdout).toContain('--url <base>')
  })
})
