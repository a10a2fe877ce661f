// `nexflow run --async` and `--idempotency-key`: the real CLI in a child process against a
// server in this process (its durability store in a temporary root).
import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Nexus, WorkflowBuilder, type NexusLogger } from '../../src/index.js'
import { pollStatus, tempRoot } from '../server/durability-helpers.js'
import { runCli } from './run-cli.js'

const quiet: NexusLogger = { info: () => {}, warn: () => {} }
const root = tempRoot()
let app: Nexus
let url: string

beforeAll(async () => {
  app = new Nexus({ apiPort: 0, root: root.path, autoDiscovery: false, workers: 1, runTimeoutMs: 10_000, logger: quiet })
  app.register('greet', new WorkflowBuilder().addNode('Function', 'greet', { code: '({ name }) => ({ text: `hello ${name}` })', name: '${name}' }))
  await app.start()
  url = app.url as string
})

afterAll(async () => {
  await app?.close()
  root.remove()
})

describe('nexflow run --async, --idempotency-key', () => {
  it('--async prints { execution_id, status: "pending" } and exits 0; the run completes', async () => {
    const result = await runCli(['run', 'greet', '--url', url, '--async', '--param', 'name=Ada'])
    expect(result.code).toBe(0)
    const answer = JSON.parse(result.stdout) as { execution_id: string; status: string }
    expect(answer.status).toBe('pending')
    const done = await pollStatus(url, 'greet', answer.execution_id, (status) => status === 'completed')
    expect(done.outputs).toEqual({ greet: { text: 'hello Ada' } })
  })

  it('--idempotency-key: the same command twice prints the same answer; an invalid key is a usage error (2)', async () => {
    const key = randomUUID()
    const first = await runCli(['run', 'greet', '--url', url, '--idempotency-key', key, '--param', 'name=Bo'])
    const second = await runCli(['run', 'greet', '--url', url, '--idempotency-key', key, '--param', 'name=Bo'])
    expect([first.code, second.code]).toEqual([0, 0])
    expect(second.stdout).toBe(first.stdout)
    const bad = await runCli(['run', 'greet', '--url', url, '--idempotency-key', 'x'.repeat(300)])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('--idempotency-key')
  })
})
