import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { TableCodec } from '../../src/dataflow/codec.js'
import { Params, type SqlDialect } from '../../src/dataflow/dialects/dialect.js'
import { mysqlDialect } from '../../src/dataflow/dialects/mysql/mysql-dialect.js'
import { postgresDialect } from '../../src/dataflow/dialects/postgres/postgres-dialect.js'
import { sqliteDialect } from '../../src/dataflow/dialects/sqlite/sqlite-dialect.js'
import { compileFilter } from '../../src/dataflow/filter.js'
import { defineModelSpec } from '../../src/dataflow/model.js'

const spec = defineModelSpec('User', { id: z.string(), email: z.string(), fullName: z.string().optional(), age: z.number().int().optional(), when: z.date().optional(), big: z.bigint().optional() })

function compile(sql: SqlDialect, filter: unknown) {
  const params = new Params(sql)
  const text = compileFilter(filter, new TableCodec(spec, sql), params)
  return { text, values: params.values }
}

describe.each([sqliteDialect, postgresDialect, mysqlDialect])('filter compilation: $name', (sql) => {
  it('binds every value and quotes only known columns', () => {
    const hostile = "x' OR '1'='1"
    const { text, values } = compile(sql, {
      email: hostile,
      fullName: { $in: [hostile, 'b'], $ne: hostile },
      $or: [{ age: { $gte: 1 } }, { $not: { email: { $like: `%${hostile}` } } }],
      full_name: { $regex: hostile },
    })
    expect(text).not.toContain(hostile)
    expect(text).not.toContain("'")
    expect(values.filter((v) => typeof v === 'string' && v.includes("OR '1'='1"))).toHaveLength(5)
    expect(text).toContain(sql.quote('full_name'))
    const placeholders = sql.name === 'postgres' ? text.match(/\$\d+/g) : text.match(/\?/g)
    expect(placeholders).toHaveLength(values.length)
  })

  it('numbers PostgreSQL placeholders in order', () => {
    const { text } = compile(sql, { email: 'a', age: { $in: [1, 2] } })
    if (sql.name === 'postgres') expect(text).toBe('("email" = $1 AND "age" IN ($2, $3))')
    else expect(text).toMatch(/^\(.email. = \? AND .age. IN \(\?, \?\)\)$/)
  })

  it('converts values to the column kind (dates, bigints) before binding', () => {
    const { values } = compile(sql, { when: { $gt: '2024-01-01T00:00:00Z' }, big: '9007199254740993' })
    expect(values[0] instanceof Date || values[0] === '2024-01-01T00:00:00.000Z').toBe(true)
    expect(String(values[1])).toBe('9007199254740993')
  })

  it('returns nothing for an empty filter', () => {
    expect(compile(sql, undefined).text).toBe('')
    expect(compile(sql, {}).text).toBe('')
    expect(compile(sql, { email: undefined }).text).toBe('')
  })

  it('compiles filters that restrict nothing to nothing, leaving no stray bound values', () => {
    // Regression: `$and: []` and `$or: [{}, ...]` compiled to an always-true condition, which the
    // operations could not tell from a real filter (see the contract test on empty filters).
    for (const filter of [{ $and: [] }, { $and: [{}, { email: undefined }] }, { $or: [{}, { email: 'a' }] }, { $and: [{ $or: [{ age: 1 }, { $and: [] }] }] }]) {
      expect(compile(sql, filter), JSON.stringify(filter)).toEqual({ text: '', values: [] })
    }
    const { text, values } = compile(sql, { $or: [{ email: 'dropped' }, {}], age: 3 })
    expect(values).toEqual([3])
    expect(text).toBe(`${sql.quote('age')} = ${sql.placeholder(1)}`)
    expect(compile(sql, { $or: [] }).text).toBe('1 = 0')
    expect(compile(sql, { $not: {} }).text).toBe('1 = 0')
  })

  it('refuses keys it does not know, before building any SQL', () => {
    for (const key of ['nope', 'email; DROP TABLE users', '$where', '__proto__x']) {
      expect(() => compile(sql, { [key]: 1 })).toThrow(/Invalid filter/)
    }
    expect(() => compile(sql, 'email = 1')).toThrow(/expected an object/)
    expect(() => compile(sql, [{ email: 'a' }])).toThrow(/expected an object/)
    let deep: Record<string, unknown> = { email: 'a' }
    for (let i = 0; i < 40; i++) deep = { $and: [deep] }
    expect(() => compile(sql, deep)).toThrow(/deeper than/)
  })
})
