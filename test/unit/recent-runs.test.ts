import { describe, expect, it } from 'vitest'
import { boundedPayload, jsonPayload, RecentRuns, recordOfRun, runFromJson, RUN_PAYLOAD_MAX_BYTES, type FinishedRun, type RunRecord } from '../../src/server/runs/recent-runs.js'

const finished = (n: number, startedAt = Date.UTC(2026, 0, 1, 0, 0, n)): FinishedRun => ({
  runId: `r${n}`,
  workflow: 'w',
  mode: 'sync',
  status: 'completed',
  startedAt,
  durationMs: 5,
  inputs: JSON.stringify({ n }),
})

const run = (n: number, startedAt = Date.UTC(2026, 0, 1, 0, 0, n)): RunRecord => ({
  run_id: `r${n}`,
  workflow: 'w',
  mode: 'sync',
  status: 'completed',
  started_at: new Date(startedAt).toISOString(),
  duration_ms: 5,
  inputs: { n },
})

describe('RecentRuns (GET /runs without a durable store)', () => {
  it('lists the newest first, at most the limit, and keeps only the last `capacity` runs', () => {
    const runs = new RecentRuns(3)
    expect(runs.list(10)).toEqual([])
    for (let n = 1; n <= 5; n++) runs.record(finished(n))
    expect(runs.list(10).map((r) => r.run_id)).toEqual(['r5', 'r4', 'r3'])
    expect(runs.list(2).map((r) => r.run_id)).toEqual(['r5', 'r4'])
    // Listed in the shape GET /runs answers.
    expect(JSON.parse(JSON.stringify(runs.list(1)[0]))).toEqual(run(5))
  })

  it('a finished run becomes a record with ISO times, a rounded duration, and its error when it has one', () => {
    const error = { code: 'RUN_TIMEOUT', message: 'too slow' }
    const record = recordOfRun({ ...finished(1), status: 'timeout', durationMs: 1.23456, outputs: undefined, error })
    expect(JSON.parse(JSON.stringify(record))).toEqual({ ...run(1), status: 'timeout', duration_ms: 1.23, error })
  })

  it('counts the runs that finished in the last minute', () => {
    const runs = new RecentRuns(10)
    const now = Date.UTC(2026, 0, 1, 0, 5, 0)
    runs.record(finished(1, now - 120_000))
    runs.record(finished(2, now - 30_000))
    runs.record(finished(3, now - 1_000))
    expect(runs.countSince(60_000, now)).toBe(2)
  })

  it('keeps inputs and outputs up to the size bound, and a note of the size beyond it', () => {
    expect(boundedPayload({ a: 1 }, 100)).toEqual({ a: 1 })
    expect(boundedPayload({ big: 'x'.repeat(200) }, 100)).toEqual({ truncated: true, bytes: 210 })
    expect(boundedPayload({ n: 10n }, 100)).toEqual({ n: '10' })
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    expect(boundedPayload(cyclic)).toEqual({ unserializable: true })
  })

  it('a run recorded from JSON text is parsed when read, serializes as plain data, and keeps no text over the bound', () => {
    const { inputs: _inputs, ...fields } = run(1)
    const record = runFromJson(fields, '{"n":1}', '{"f":{"v":2}}')
    expect(JSON.parse(JSON.stringify(record))).toEqual({ ...fields, inputs: { n: 1 }, outputs: { f: { v: 2 } } })
    expect(record.inputs).toBe(record.inputs)
    const big = runFromJson(fields, '{}', JSON.stringify({ big: 'x'.repeat(RUN_PAYLOAD_MAX_BYTES) }))
    expect(big.outputs).toEqual({ truncated: true, bytes: RUN_PAYLOAD_MAX_BYTES + 10 })
    expect(runFromJson(fields, '{}')).not.toHaveProperty('outputs')
    expect(jsonPayload('{"a":')).toEqual({ unparsable: true })
  })
})
