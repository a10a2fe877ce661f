import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Nexus, WorkflowBuilder, type NexusLogger } from '../../src/index.js'
import { runCli } from './run-cli.js'

// `nexflow list` and `nexflow run` against a server that requires an API key: the real CLI in a
// child process, the server in this one.
const KEY = 'cli-key-0123456789abcdef'
const quiet: NexusLogger = { info: () => {}, warn: () => {} }
let app: Nexus
let url: string

beforeAll(async () => {
  app = new Nexus({ apiPort: 0, autoDiscovery: false, workers: 1, logger: quiet, auth: { apiKeys: [KEY] } })
  app.register('greet', new WorkflowBuilder().addNode('Function', 'greet', { code: '({ name }) => ({ text: `hello ${name}` })', name: '${name}' }))
  await app.start()
  url = app.url as string
})

afterAll(async () => {
  await app?.close()
})

// The child must not pick up a key from the environment of whoever runs the tests.
const noKey = { NEXFLOW_API_KEY: undefined }

describe('the CLI sends an API key', () => {
  it('without a key, list and run exit 1 with the 401 and say how to pass one', async () => {
    const list = await runCli(['list', '--url', url], { env: noKey })
    expect(list.code).toBe(1)
    expect(list.stderr).toBe('nexflow list: UNAUTHORIZED: Authentication required: send an API key in X-API-Key or Authorization: Bearer <key>, or a JWT in Authorization: Bearer <token> (pass the key with --api-key, or set NEXFLOW_API_KEY)\n')
    const run = await runCli(['run', 'greet', '--url', url, '--param', 'name=Ada'], { env: noKey })
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('UNAUTHORIZED')
  })

  it('--api-key, or NEXFLOW_API_KEY, is sent and the commands succeed; the flag wins over the variable', async () => {
    const list = await runCli(['list', '--url', url, '--api-key', KEY], { env: noKey })
    expect([list.code, list.stderr]).toEqual([0, ''])
    const run = await runCli(['run', 'greet', '--url', url, '--param', 'name=Ada'], { env: { NEXFLOW_API_KEY: KEY } })
    expect([run.code, run.stderr]).toEqual([0, ''])
    expect(JSON.parse(run.stdout)).toMatchObject({ outputs: { greet: { text: 'hello Ada' } } })
    const wrongFlag = await runCli(['list', '--url', url, '--api-key', 'wrong-key-0123456789'], { env: { NEXFLOW_API_KEY: KEY } })
    expect(wrongFlag.code).toBe(1)
    expect(wrongFlag.stderr).toContain('The API key is not valid')
  })

  it('--api-key with --local, or with spaces, is a usage error', async () => {
    const local = await runCli(['run', 'greet', '--local', '--api-key', KEY], { env: noKey })
    expect(local.code).toBe(2)
    expect(local.stderr).toContain('--api-key and --local exclude each other')
    const spaced = await runCli(['list', '--url', url, '--api-key', 'a key'], { env: noKey })
    expect(spaced.code).toBe(2)
    expect(spaced.stderr).toContain('--api-key: expected the key as given to the server')
  })
})
