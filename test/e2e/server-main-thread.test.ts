// The main-thread rule, checked from outside: `nexflow start` never evaluates a user's workflow file
// or runs its node on the server's own thread. The fixture appends where it is evaluated, and where
// its node runs, to $NEXFLOW_TEST_RECORD; after discovery and one execute every line must come
// from a worker thread of the server's process.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { COMMON_FLAGS, execute, killAll, SERVER_FIXTURES, SLOW_MS, startNexflow, tempDir, waitForReady, type NexflowProcess } from './server-helpers.js'

afterAll(killAll)

interface WhereLine {
  what: string
  isMainThread: boolean
  threadId: number
  pid: number
  discovery: string | null
  execution: string | null
}

describe('nexflow start: user code never runs on the server thread', { timeout: SLOW_MS }, () => {
  const dir = tempDir('nexflow-server-main-thread-')
  const recordFile = join(dir.path, 'record.jsonl')
  let server: NexflowProcess
  let url: string

  const records = (): WhereLine[] =>
    readFileSync(recordFile, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as WhereLine)

  beforeAll(async () => {
    server = startNexflow([join(SERVER_FIXTURES, 'main-thread'), ...COMMON_FLAGS], { env: { NEXFLOW_TEST_RECORD: recordFile } })
    url = await server.listening()
    // Ready: discovered, and the execution workers have imported the file ahead of the first run.
    await waitForReady(url)
  }, SLOW_MS)

  afterAll(async () => {
    await server?.stop()
    dir.remove()
  }, SLOW_MS)

  it('evaluates the file in a discovery worker and in execution workers, and runs its node in one, never on the main thread', async () => {
    const { status, json } = await execute(url, 'where', { inputs: { label: 'first' } })
    expect(status).toBe(200)
    expect(json.outputs.where).toMatchObject({ isMainThread: false, pid: server.pid })
    expect(json.outputs.where.threadId).toBeGreaterThan(0)

    const lines = records()
    expect(lines.length).toBeGreaterThanOrEqual(3)
    for (const line of lines) {
      expect(line, JSON.stringify(line)).toMatchObject({ isMainThread: false, pid: server.pid })
      expect(line.threadId).toBeGreaterThan(0)
    }
    // Evaluated where each kind of worker says it is, and nowhere else.
    const modules = lines.filter((line) => line.what === 'module')
    expect(modules.some((line) => line.discovery === '1')).toBe(true)
    expect(modules.some((line) => line.execution === '1')).toBe(true)
    expect(modules.every((line) => line.discovery === '1' || line.execution === '1')).toBe(true)
    // The node ran once, in an execution worker that had imported the file.
    const nodes = lines.filter((line) => line.what === 'node:first')
    expect(nodes).toHaveLength(1)
    expect(nodes[0]).toMatchObject({ execution: '1', threadId: json.outputs.where.threadId })
    expect(modules.some((line) => line.execution === '1' && line.threadId === nodes[0]?.threadId)).toBe(true)
  })
})
