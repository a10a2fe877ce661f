import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { ToolListChangedNotificationSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Nexus, WorkflowBuilder, toolNameOf, type NexusLogger } from '../../src/index.js'

const root = new URL('../../fixtures/mcp/app', import.meta.url).pathname
const bin = new URL('../../bin/nexflow.mjs', import.meta.url).pathname
const dir = mkdtempSync(join(tmpdir(), 'nexflow-mcp-'))
const warnings: string[] = []
const logger: NexusLogger = { info: () => {}, warn: (message) => warnings.push(message) }

function text(result: unknown): string {
  return ((result as CallToolResult).content[0] as { text: string }).text
}

afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('MCP over Streamable HTTP at /mcp', () => {
  let app: Nexus
  let client: Client
  const changes: number[] = []

  beforeAll(async () => {
    process.env.NEXFLOW_MCP_DB = `sqlite://${join(dir, 'http.db')}`
    process.env.NEXFLOW_MCP_LATE_MS = '1500'
    app = new Nexus({ apiPort: 0, root, autoDiscovery: { cache: false, timeoutMs: 5000 }, workers: 2, runTimeoutMs: 1000, logger })
    await app.start()
    // Connected as soon as the port listens, while discovery is still importing the files.
    client = new Client({ name: 'test', version: '1.0.0' })
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      changes.push(Date.now())
    })
    await client.connect(new StreamableHTTPClientTransport(new URL(`${app.url}/mcp`)))
  })

  afterAll(async () => {
    await client?.close()
    await app?.close()
  })

  it('a tool whose workflow is discovered after the client connected arrives with tools/list_changed', async () => {
    await expect.poll(async () => (await client.listTools()).tools.map((tool) => tool.name), { timeout: 20_000 }).toContain('late')
    await expect.poll(() => changes.length, { timeout: 5000 }).toBeGreaterThan(0)
  })

  it('lists one tool per workflow, with a valid name, the description and the declared inputs as inputSchema', async () => {
    await app.ready()
    const { tools } = await client.listTools()
    expect(tools.map((tool) => tool.name).sort()).toEqual(['chatty', 'late', 'notes_add', 'notes_read', 'spin'])
    const add = tools.find((tool) => tool.name === 'notes_add')
    expect(add).toMatchObject({ title: 'notes.add', description: 'Stores a note.', inputSchema: { type: 'object', properties: { id: { type: 'string' }, text: { type: 'string' } }, required: ['id', 'text'], additionalProperties: false } })
    expect(add?.outputSchema).toMatchObject({ type: 'object', required: ['outputs', 'run_id', 'execution_time', 'workflow_id', 'version'] })
    for (const tool of tools) expect(tool.name).toMatch(/^[A-Za-z0-9_-]{1,64}$/)
  })

  it('a tool call runs the workflow in the pool: a row created by one tool is read back by another', async () => {
    const created = await client.callTool({ name: 'notes_add', arguments: { id: 'n1', text: 'hello' } })
    expect(created.isError).toBeFalsy()
    expect(created.structuredContent).toMatchObject({ outputs: { note: { id: 'n1', text: 'hello' } }, workflow_id: 'notes.add' })
    const read = await client.callTool({ name: 'notes_read', arguments: { id: 'n1' } })
    expect(JSON.parse(text(read))).toMatchObject({ outputs: { note: { id: 'n1', text: 'hello', found: true } } })
  })

  it('invalid arguments are a tool result with isError naming each bad input, not a protocol error', async () => {
    const result = await client.callTool({ name: 'notes_add', arguments: { id: 'n2', text: 5, code: '() => process.pid' } })
    expect(result.isError).toBe(true)
    expect(text(result)).toContain('VALIDATION_FAILED')
    expect(text(result)).toContain('text')
    expect(text(result)).toContain('code')
  })

  it('a failed run (a duplicate key) is a tool error with its code', async () => {
    const result = await client.callTool({ name: 'notes_add', arguments: { id: 'n1', text: 'again' } })
    expect(result.isError).toBe(true)
    expect(text(result)).toMatch(/^CONFLICT: /)
  })

  it('a run over its deadline is a tool error, and the server keeps serving', async () => {
    const result = await client.callTool({ name: 'spin', arguments: {} })
    expect(result.isError).toBe(true)
    expect(text(result)).toContain('RUN_TIMEOUT')
    expect((await fetch(`${app.url}/health`)).status).toBe(200)
    expect((await client.callTool({ name: 'chatty', arguments: { word: 'after' } })).structuredContent).toMatchObject({ outputs: { talk: { said: 'after' } } })
  })

  it('serves the workflow://{name} and nexflow://discovery resources', async () => {
    const info = await client.readResource({ uri: 'workflow://notes.add' })
    expect(JSON.parse((info.contents[0] as { text: string }).text)).toMatchObject({ name: 'notes.add', nodes: [{ id: 'note', type: 'NoteCreateNode' }] })
    const discovery = JSON.parse(((await client.readResource({ uri: 'nexflow://discovery' })).contents[0] as { text: string }).text) as { files: { path: string; status: string }[] }
    expect(discovery.files.find((file) => file.path === 'workflows/hangs.ts')?.status).toBe('timeout')
  })

  it('a workflow registered later is announced too; two workflows mapping to one tool name are reported and neither is a tool', async () => {
    const before = changes.length
    const builder = () => new WorkflowBuilder().addNode('Function', 'f', { code: '() => ({})' })
    app.register('clash.name', builder())
    app.register('clash_name', builder())
    await expect.poll(() => changes.length, { timeout: 5000 }).toBeGreaterThan(before)
    const names = (await client.listTools()).tools.map((tool) => tool.name)
    expect(names).not.toContain('clash_name')
    expect(warnings.some((w) => w.includes('"clash.name" and "clash_name"') && w.includes('"clash_name"'))).toBe(true)
  })
})

describe('tool names', () => {
  it('maps every workflow name to a valid MCP tool name', () => {
    expect(toolNameOf('orders.create')).toBe('orders_create')
    expect(toolNameOf('a-b_c')).toBe('a-b_c')
    const long = toolNameOf('x'.repeat(128))
    expect(long).toHaveLength(64)
    expect(long).not.toBe(toolNameOf(`${'x'.repeat(127)}y`))
  })
})

describe('MCP over stdio with nexflow mcp', () => {
  let client: Client
  const stderr: string[] = []

  beforeAll(async () => {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [bin, 'mcp', root, '--timeout-ms', '5000', '--no-cache'],
      env: { ...(process.env as Record<string, string>), NEXFLOW_MCP_DB: `sqlite://${join(dir, 'stdio.db')}`, NEXFLOW_MCP_LATE_MS: '0' },
      stderr: 'pipe',
    })
    transport.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk.toString()))
    client = new Client({ name: 'desktop', version: '1.0.0' })
    await client.connect(transport)
  })

  afterAll(async () => {
    await client?.close()
  })

  it('serves the tools; what user files print goes to stderr and never corrupts the protocol', async () => {
    await expect.poll(async () => (await client.listTools()).tools.map((tool) => tool.name).sort(), { timeout: 20_000 }).toEqual(['chatty', 'late', 'notes_add', 'notes_read', 'spin'])
    const said = await client.callTool({ name: 'chatty', arguments: { word: 'hi' } })
    expect(said.structuredContent).toMatchObject({ outputs: { talk: { said: 'hi' } } })
    const created = await client.callTool({ name: 'notes_add', arguments: { id: 's1', text: 'over stdio' } })
    expect(created.isError).toBeFalsy()
    await expect.poll(() => stderr.join(''), { timeout: 5000 }).toContain('chatty is running: hi')
    expect(stderr.join('')).toContain('MCP on stdio')
  })
})
