import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isMainThread, threadId } from 'node:worker_threads'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { discover } from '../../src/discovery/index.js'
import { FIXTURES } from './helpers.js'

// The rule: the thread that calls discover() never imports a user module.
describe('discovery never evaluates a user module on the calling thread', () => {
  let dir: string
  let log: string

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'nexflow-proof-'))
    log = join(dir, 'evaluations.jsonl')
    process.env.NEXFLOW_PROOF_LOG = log
  })
  afterEach(() => {
    delete process.env.NEXFLOW_PROOF_LOG
    rmSync(dir, { recursive: true, force: true })
  })

  const evaluations = () =>
    readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { pid: number; threadId: number; isMainThread: boolean; discovery: string | null })

  it('in thread isolation: evaluated once, in another thread of this process, with NEXFLOW_DISCOVERY=1', async () => {
    const report = await discover({ root: join(FIXTURES, 'discovery', 'thread-proof'), cache: false }).report
    expect(report.files).toMatchObject([{ relativePath: 'workflows/proof.ts', status: 'ok', workflows: ['proof'] }])
    expect(isMainThread).toBe(true)
    expect(evaluations()).toEqual([{ pid: process.pid, threadId: expect.any(Number), isMainThread: false, discovery: '1' }])
    expect(evaluations()[0]?.threadId).not.toBe(threadId)
    expect(process.env.NEXFLOW_DISCOVERY).toBeUndefined()
  })

  it('in process isolation: evaluated once, in another process', async () => {
    const report = await discover({ root: join(FIXTURES, 'discovery', 'thread-proof'), cache: false, isolation: 'process' }).report
    expect(report.files).toMatchObject([{ status: 'ok' }])
    const [record, ...more] = evaluations()
    expect(more).toEqual([])
    expect(record?.pid).not.toBe(process.pid)
    expect(record?.discovery).toBe('1')
  })
})
