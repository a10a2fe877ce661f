import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { settledOutcomeSchema } from '../../src/discovery/outcome.js'
import { discoveredNodeTypeSchema, FAILURE_STATUSES, FILE_STATUSES, IMPORT_FAILURE_STATUSES, isFailure, isPassing, LIMIT_BOUND_STATUSES, MAX_JSON_DEPTH, nonJsonObjectAt, PASSING_STATUSES } from '../../src/protocol/discovery.js'
import { workerToMainMessageSchema } from '../../src/protocol/discovery-messages.js'
import { jsonValueSchema } from '../../src/protocol/json.js'

function nested(depth: number): Record<string, unknown> {
  let value: unknown = 0
  for (let i = 1; i < depth; i++) value = i % 2 === 0 ? [value] : { v: value }
  return { v: value }
}

describe('manifest JSON values', () => {
  const shared = z.record(z.string(), jsonValueSchema)
  const samples: unknown[] = [
    {},
    { a: 'x', b: 1.5, c: true, d: null, e: [1, 'two', [false], { f: {} }] },
    Object.assign(Object.create(null) as object, { a: 1 }),
    { n: Number.NaN },
    { n: Number.POSITIVE_INFINITY },
    { u: undefined },
    { d: new Date(0) },
    { m: new Map() },
    { f: () => 1 },
    { c: new (class Thing {})() },
    { deep: [[[[{ ok: [1, 2, { no: Number.NaN }] }]]]] },
    [1, 2],
    'text',
    null,
    new Date(0),
  ]

  it.each(samples.map((sample, index) => [index, sample]))('sample %i: accepted exactly when the shared JSON schema accepts it', (_index, sample) => {
    expect(nonJsonObjectAt(sample) === undefined).toBe(shared.safeParse(sample).success)
  })

  it('says where a value is not plain JSON', () => {
    expect(nonJsonObjectAt({ a: [1, { b: Number.NaN }] })).toBe('.a[1].b')
    expect(nonJsonObjectAt([1])).toBe('')
    expect(discoveredNodeTypeSchema.safeParse({ type: 't', description: '', exportName: 'x', paramsSchema: { p: { q: new Date(0) } } }).error?.issues[0]?.message).toContain('at .p.q: expected plain JSON')
  })

  it(`accepts ${MAX_JSON_DEPTH} levels, refuses more, and never recurses (100000 levels is refused, not a stack overflow)`, () => {
    expect(nonJsonObjectAt(nested(MAX_JSON_DEPTH))).toBeUndefined()
    expect(nonJsonObjectAt(nested(MAX_JSON_DEPTH + 1))).toMatch(/^\.v/)
    expect(nonJsonObjectAt(nested(100_000))).toMatch(/^\.v/)
  })
})

describe('file statuses', () => {
  it('come from one table: the worker, the cache and the check all accept exactly its subsets', () => {
    expect([...PASSING_STATUSES, ...FAILURE_STATUSES, 'conflict'].sort()).toEqual([...FILE_STATUSES].sort())
    expect(LIMIT_BOUND_STATUSES).toEqual(['timeout', 'stuck', 'oom', 'exited', 'crashed'])
    expect(IMPORT_FAILURE_STATUSES).toEqual(['error', 'invalid'])
    const failedMessage = (status: string) => workerToMainMessageSchema.safeParse({ type: 'failed', taskId: 0, status, error: { name: 'Error', message: 'x' }, importMs: 0, imports: [] }).success
    const failedOutcome = (status: string) => settledOutcomeSchema.safeParse({ kind: 'failed', status, error: { name: 'Error', message: 'x' }, durationMs: 0, imports: [] }).success
    for (const status of FILE_STATUSES) {
      expect(failedMessage(status)).toBe(IMPORT_FAILURE_STATUSES.some((s) => s === status))
      expect(failedOutcome(status)).toBe(FAILURE_STATUSES.some((s) => s === status))
      expect(isPassing(status)).toBe(status === 'ok' || status === 'empty')
      expect(isFailure(status)).toBe(!isPassing(status) && status !== 'conflict')
    }
  })
})
