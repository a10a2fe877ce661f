// `$regex` refuses patterns that backtrack catastrophically, before any SQL runs, on every dialect.
// Regression: on SQLite `{ $regex: '^(a+)+$' }` against 26 `a`s blocked the thread for 7.6 s.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { TableCodec } from '../../src/dataflow/codec.js'
import { Params } from '../../src/dataflow/dialects/dialect.js'
import { mysqlDialect } from '../../src/dataflow/dialects/mysql/mysql-dialect.js'
import { postgresDialect } from '../../src/dataflow/dialects/postgres/postgres-dialect.js'
import { sqliteDialect } from '../../src/dataflow/dialects/sqlite/sqlite-dialect.js'
import { regexRunsInLinearTime } from '../../src/dataflow/dialects/sqlite/linear-regex.js'
import { SqliteDriver } from '../../src/dataflow/dialects/sqlite/sqlite-driver.js'
import { compileFilter } from '../../src/dataflow/filter.js'
import { defineModelSpec } from '../../src/dataflow/model.js'
import { MAX_REGEX_CHOICES, MAX_REGEX_LENGTH } from '../../src/dataflow/safe-regex.js'
import { DataFlow, NexflowError, NodeRegistry, ValidationError } from '../../src/index.js'
import { provision, suiteTitle, TARGETS, type Provisioned, type TargetKind } from './targets.js'

/** Each refused pattern with what its message must say. */
const refused: [string, string, RegExp][] = [
  ['nested quantifier', '^(a+)+$', /repeats a group that contains a quantifier \("\(a\+\)\+"\)/],
  ['repeated alternation', '(a|aa)+$', /repeats a group that contains an alternation \("\(a\|aa\)\+"\)/],
  ['star of a star', '(a*)*b', /repeats a group that contains a quantifier \("\(a\*\)\*"\)/],
  ['counted repeat of a quantifier', '(.*a){20}', /repeats a group that contains a quantifier \("\(\.\*a\)\{20\}"\)/],
  ['quantifier nested two groups deep', '((a)+b)*', /repeats a group that contains a quantifier/],
  ['alternation nested in a repeated group', '((a|b)c)+', /repeats a group that contains an alternation/],
  ['back-reference', '(a)\\1', /uses a back-reference \("\\\\1"\)/],
  ['named back-reference', '(?<x>a)\\k<x>', /uses a back-reference/],
  ['lookahead', 'a(?=b)', /uses a lookahead \("\(\?="\)/],
  ['negative lookahead', 'a(?!b)', /uses a lookahead/],
  ['lookbehind', '(?<=a)b', /uses a lookbehind/],
  ['over-long pattern', 'a'.repeat(MAX_REGEX_LENGTH + 1), new RegExp(`is ${MAX_REGEX_LENGTH + 1} characters long; the limit is ${MAX_REGEX_LENGTH}`)],
  ['too many choice points', '(a|a)'.repeat(MAX_REGEX_CHOICES + 1), new RegExp(`has ${MAX_REGEX_CHOICES + 1} quantifiers and alternations; the limit is ${MAX_REGEX_CHOICES}`)],
  ['invalid pattern', '(a', /is not a valid regular expression: .*Unterminated group/],
]

/** Patterns that stay accepted: a repeated group without quantifiers or `|`, an optional alternation, escaped parentheses. */
const accepted = ['^ada@', '[0-9]{3}-[0-9]{4}', 'foo|bar', '^a+$', '(ab){3}', '(\\.com|\\.org)?$', '\\(a+\\)+', '[(]+x', 'a'.repeat(MAX_REGEX_LENGTH), '(a|b)'.repeat(MAX_REGEX_CHOICES)]

const spec = defineModelSpec('Person', { id: z.string(), email: z.string() })

describe.each([sqliteDialect, postgresDialect, mysqlDialect])('$regex validation: $name', (sql) => {
  const compile = (pattern: string) => compileFilter({ email: { $regex: pattern } }, new TableCodec(spec, sql), new Params(sql))

  it.each(refused)('refuses a %s, naming the field and the reason', (_label, pattern, reason) => {
    let caught: unknown
    try {
      compile(pattern)
    } catch (error) {
      caught = error
    }
    expect(caught).toBeInstanceOf(ValidationError)
    const error = caught as ValidationError
    expect(error.code).toBe('VALIDATION_FAILED')
    expect(error.httpStatus).toBe(400)
    expect(error.message).toContain('$regex on field "email"')
    expect(error.message).toMatch(reason)
    expect(error.details).toEqual({ field: 'email', operator: '$regex' })
  })

  it('accepts patterns that cannot backtrack catastrophically, and binds them', () => {
    for (const pattern of accepted) expect(compile(pattern), pattern).toBe(`${sql.quote('email')} ${sql.name === 'postgres' ? '~ $1' : 'REGEXP ?'}`)
  })
})

function regexSuite(kind: TargetKind) {
  let target: Provisioned
  let db: DataFlow
  beforeEach(async () => {
    target = await provision(kind)
    db = new DataFlow({ databaseUrl: target.url, registry: new NodeRegistry(), slowQueryMs: null })
  })
  afterEach(async () => {
    await db.close()
    await target.cleanup()
  })

  const seeded = async () => {
    const Person = db.model('Person', { id: z.string(), email: z.string() })
    const rows = { p1: 'ada@x.io', p2: 'call 555-1234', p3: 'foo', p4: 'a bar', p5: 'aaaa', p6: 'a'.repeat(30), p7: 'Ada@x.io' }
    await Person.bulkCreate({ data: Object.entries(rows).map(([id, email]) => ({ id, email })) })
    return Person
  }
  const ids = (result: { records: { id: unknown }[] }) => result.records.map((r) => r.id).sort()

  it('safe patterns find the right rows', async () => {
    const Person = await seeded()
    const cases: [string, string[]][] = [
      ['^ada@', ['p1']],
      ['[0-9]{3}-[0-9]{4}', ['p2']],
      ['foo|bar', ['p3', 'p4']],
      ['^a+$', ['p5', 'p6']],
    ]
    for (const [pattern, expected] of cases) {
      expect(ids(await Person.list({ filter: { email: { $regex: pattern } }, limit: 100 })), pattern).toEqual(expected)
    }
  })

  it('refuses a catastrophic pattern over 30 `a`s at once instead of hanging', async () => {
    const Person = await seeded()
    const listed = Person.list({ filter: { email: { $regex: '^(a+)+$' } } })
    await expect(listed).rejects.toBeInstanceOf(ValidationError)
    await expect(listed).rejects.toThrow(/\$regex on field "email": the pattern repeats a group that contains a quantifier/)
    // Inside $or and $not too, and for count and bulk deletes.
    await expect(Person.count({ filter: { $or: [{ id: 'p1' }, { $not: { email: { $regex: '(a|aa)+$' } } }] } })).rejects.toBeInstanceOf(ValidationError)
    await expect(Person.bulkDelete({ filter: { email: { $regex: '(a)\\1' } }, confirmed: true })).rejects.toBeInstanceOf(ValidationError)
    expect((await Person.count()).count).toBe(7)
  })
}

for (const kind of TARGETS) {
  describe.skipIf(kind.base === undefined)(suiteTitle(kind, 'DataFlow $regex'), () => regexSuite(kind))
}

describe('SQLite REGEXP function', () => {
  let dir: string
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nexflow-regex-'))
  })
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  // Regression: `.*.*.*x` passes the shape rules (star height 1), and a backtracking engine spends
  // about n^3 steps on it: 5 s for one 400-character value, hours for 50,000.
  it('runs a polynomial pattern against a 50,000-character value in linear time', async () => {
    expect(regexRunsInLinearTime()).toBe(true)
    const driver = new SqliteDriver(join(dir, 'app.db'))
    await driver.open()
    try {
      const value = 'a'.repeat(50_000)
      for (const pattern of ['.*.*.*x', 'a*a*a*b', '\\w+\\w+\\w+!', 'a*b']) {
        const started = performance.now()
        expect(await driver.all('SELECT ? REGEXP ? AS hit', [value, pattern]), pattern).toEqual([{ hit: 0 }])
        // Linear: tens of ms. A generous bound; the backtracking engine would not finish at all.
        expect(performance.now() - started, pattern).toBeLessThan(2000)
      }
      expect(await driver.all('SELECT ? REGEXP ? AS hit', [`${value}x`, '.*.*.*x'])).toEqual([{ hit: 1 }])
    } finally {
      await driver.close()
    }
  })

  it('and through a DataFlow filter, where a count the linear engine cannot unroll is refused naming the field', async () => {
    const db = new DataFlow({ databaseUrl: `sqlite:${join(dir, 'flow.db')}`, registry: new NodeRegistry(), slowQueryMs: null })
    try {
      const Person = db.model('Person', { id: z.string(), email: z.string() })
      await Person.bulkCreate({ data: [{ id: 'long', email: 'a'.repeat(50_000) }, { id: 'x', email: 'ax' }] })
      const started = performance.now()
      expect((await Person.list({ filter: { email: { $regex: '.*.*.*x' } } })).records.map((r) => r.id)).toEqual(['x'])
      expect(performance.now() - started).toBeLessThan(2000)
      await expect(Person.list({ filter: { email: { $regex: 'a{17}' } } })).rejects.toThrow(/\$regex on field "email": the pattern cannot run in linear time on SQLite/)
      await expect(Person.list({ filter: { email: { $regex: 'a{16}' } } })).resolves.toMatchObject({ records: [{ id: 'long' }] })
    } finally {
      await db.close()
    }
    // PostgreSQL and MySQL run their own engines: the count is theirs to accept.
    expect(compileFilter({ email: { $regex: 'a{17}' } }, new TableCodec(spec, postgresDialect), new Params(postgresDialect))).toContain('~')
  })

  it('refuses a catastrophic pattern even when SQL reaches it without a filter', async () => {
    const driver = new SqliteDriver(join(dir, 'app.db'))
    await driver.open()
    try {
      expect(await driver.all('SELECT ? REGEXP ? AS hit', ['ada@x.io', '^ada@'])).toEqual([{ hit: 1 }])
      const error: unknown = await driver.all('SELECT ? REGEXP ? AS hit', ['a'.repeat(30), '^(a+)+$']).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(NexflowError)
      expect((error as NexflowError).code).toBe('VALIDATION_FAILED')
      expect((error as Error).message).toContain('repeats a group that contains a quantifier')
    } finally {
      await driver.close()
    }
  })
})
