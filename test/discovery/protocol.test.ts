import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { discoveredNodeTypeSchema, MAX_JSON_DEPTH, nonJsonObjectAt } from '../../src/protocol/discovery.js'
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
