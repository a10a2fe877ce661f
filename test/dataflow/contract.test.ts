// The DataFlow contract: the same cases on every dialect. SQLite always runs; PostgreSQL and MySQL
// run when NEXFLOW_TEST_POSTGRES_URL / NEXFLOW_TEST_MYSQL_URL are set, and say they skipped otherwise.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { DataFlow, LocalRuntime, NexflowError, NodeRegistry, WorkflowBuilder, type DataFlowOptions } from '../../src/index.js'
import { holdMigrationLock, provision, rawQuery, suiteTitle, TARGETS, type Provisioned, type TargetKind } from './targets.js'

const userShape = {
  id: z.string(),
  email: z.string().email(),
  name: z.string().optional(),
  age: z.number().int().optional(),
  score: z.number().optional(),
  active: z.boolean().default(true),
  role: z.enum(['admin', 'user']).default('user'),
}
const userIndexes = [{ fields: ['email'], unique: true }]

const people = [
  { id: 'u1', email: 'a@x.io', name: 'Ada', age: 36, score: 9.5, active: true, role: 'admin' as const },
  { id: 'u2', email: 'b@x.io', name: 'Bob', age: 25, score: 7, active: false },
  { id: 'u3', email: 'c@x.io', age: 41 },
  { id: 'u4', email: 'd@x.io', name: 'bobby', score: 3.25 },
]

async function expectCode(promise: Promise<unknown>, code: string): Promise<NexflowError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error, `expected a ${code} error`).toBeInstanceOf(NexflowError)
  expect((error as NexflowError).code).toBe(code)
  return error as NexflowError
}

function contract(kind: TargetKind) {
  let target: Provisioned
  let opened: DataFlow[] = []

  beforeEach(async () => {
    target = await provision(kind)
  })
  afterEach(async () => {
    await Promise.all(opened.map((db) => db.close()))
    opened = []
    await target.cleanup()
  })

  /** A DataFlow on this test's database, with its own node registry, closed after the test. */
  const open = (options: DataFlowOptions = {}) => {
    const db = new DataFlow({ databaseUrl: target.url, registry: new NodeRegistry(), slowQueryMs: null, ...options })
    opened.push(db)
    return db
  }
  const users = (db: DataFlow) => db.model('User', userShape, { indexes: userIndexes })
  const seeded = async (options: DataFlowOptions = {}) => {
    const db = open(options)
    const User = users(db)
    await User.bulkCreate({ data: people })
    return { db, User }
  }
  const ids = (result: { records: { id: unknown }[] }) => result.records.map((r) => r.id).sort()

  describe('nodes in workflows', () => {
    it('runs all 11 generated nodes through LocalRuntime', async () => {
      const db = open()
      users(db)
      const runtime = new LocalRuntime({ registry: db.registry })
      const run = async (type: string, params: Record<string, unknown>) => {
        const wf = new WorkflowBuilder({ registry: db.registry }).addNode(type, 'n', params).build({ name: `wf-${type}` })
        const { results } = await runtime.execute(wf)
        return results.n as Record<string, unknown>
      }
      expect(db.registry.types()).toEqual(expect.arrayContaining(['UserCreateNode', 'UserReadNode', 'UserUpdateNode', 'UserDeleteNode', 'UserListNode', 'UserCountNode', 'UserUpsertNode', 'UserBulkCreateNode', 'UserBulkUpdateNode', 'UserBulkDeleteNode', 'UserBulkUpsertNode']))

      const created = await run('UserCreateNode', { id: 'w1', email: 'w1@x.io', age: 30 })
      expect(created).toMatchObject({ id: 'w1', email: 'w1@x.io', age: 30, active: true, role: 'user' })
      expect(created.created_at).toBeInstanceOf(Date)
      expect(created.updated_at).toBeInstanceOf(Date)
      // One write, one time: both timestamps are the same instant.
      expect((created.updated_at as Date).getTime()).toBe((created.created_at as Date).getTime())

      expect(await run('UserReadNode', { id: 'w1' })).toMatchObject({ id: 'w1', found: true })
      expect(await run('UserReadNode', { conditions: { email: 'w1@x.io' } })).toMatchObject({ id: 'w1', found: true })
      expect(await run('UserReadNode', { id: 'nope', raiseOnNotFound: false })).toEqual({ id: 'nope', found: false })
      // raiseOnNotFound defaults to true: a failed leaf node is recorded as failed.
      expect(await run('UserReadNode', { id: 'nope' })).toMatchObject({ failed: true, error: expect.stringContaining('not found') })

      expect(await run('UserUpdateNode', { filter: { id: 'w1' }, fields: { name: 'Wanda' } })).toMatchObject({ id: 'w1', name: 'Wanda', updated: true })
      expect(await run('UserUpdateNode', { filter: { id: 'nope' }, fields: { name: 'X' } })).toEqual({ updated: false })

      expect(await run('UserBulkCreateNode', { data: [{ id: 'w2', email: 'w2@x.io' }, { id: 'w3', email: 'w3@x.io' }] })).toEqual({ processed: 2, inserted: 2, success: true })
      expect(await run('UserListNode', { filter: { email: { $like: 'w%' } }, orderBy: '-email', limit: 2 })).toMatchObject({ count: 2, limit: 2, records: [{ id: 'w3' }, { id: 'w2' }] })
      expect(await run('UserCountNode', {})).toEqual({ count: 3 })
      expect(await run('UserUpsertNode', { where: { email: 'w4@x.io' }, create: { id: 'w4' }, update: { name: 'Four' } })).toMatchObject({ created: true, action: 'created', record: { id: 'w4' } })
      expect(await run('UserBulkUpsertNode', { data: [{ id: 'w4', email: 'w4@x.io', name: 'Fourth' }, { id: 'w5', email: 'w5@x.io' }] })).toEqual({ processed: 2, upserted: 2, inserted: 1, updated: 1, success: true })
      expect(await run('UserBulkUpdateNode', { filter: { id: { $in: ['w4', 'w5'] } }, fields: { active: false } })).toEqual({ processed: 2, updated: 2, success: true })
      expect(await run('UserDeleteNode', { id: 'w5' })).toEqual({ id: 'w5', deleted: true })
      expect(await run('UserBulkDeleteNode', { filter: { active: false } })).toEqual({ processed: 1, deleted: 1, success: true })
      expect(await run('UserCountNode', {})).toEqual({ count: 3 })
    })

    it('feeds one node into another and injects workflow inputs by param name', async () => {
      const db = open()
      users(db)
      const wf = new WorkflowBuilder({ registry: db.registry })
        .addNode('UserCreateNode', 'create', { id: 'c1' })
        .addNode('UserReadNode', 'read')
        .addConnection('create', 'id', 'read', 'id')
        .build({ name: 'create-then-read' })
      const { results } = await new LocalRuntime({ registry: db.registry }).execute(wf, { parameters: { email: 'in@x.io' } })
      expect(results.read).toMatchObject({ id: 'c1', email: 'in@x.io', found: true })
    })

    it('rejects invalid node params before any I/O, naming the param', async () => {
      const db = open()
      users(db)
      // Given as an input: build() with a registry refuses a bad config value already.
      const wf = new WorkflowBuilder({ registry: db.registry }).addNode('UserCreateNode', 'c', { id: 'x', email: '${email}' }).build({ name: 'bad' })
      const { results } = await new LocalRuntime({ registry: db.registry }).execute(wf, { parameters: { email: 'not-an-email' } })
      expect(results.c).toMatchObject({ failed: true, errorType: 'ValidationError', error: expect.stringContaining('email') })
    })
  })

  describe('direct calls', () => {
    it('create, read, update, delete, list, count and upsert', async () => {
      const db = open()
      const User = users(db)
      const ada = await User.create({ id: 'u1', email: 'a@x.io', name: 'Ada' })
      expect(ada).toMatchObject({ id: 'u1', email: 'a@x.io', name: 'Ada', active: true, role: 'user' })
      expect(ada).not.toHaveProperty('age')
      expect(await User.read('u1')).toMatchObject({ id: 'u1', found: true })
      expect(await User.read({ conditions: { name: 'Ada' } })).toMatchObject({ id: 'u1', found: true })
      await expectCode(User.read('u9'), 'RECORD_NOT_FOUND')
      expect(await User.update({ id: 'u1', fields: { age: 37, name: null } })).toMatchObject({ id: 'u1', age: 37, updated: true })
      expect(await User.read('u1')).not.toHaveProperty('name')
      const updated = await User.read('u1')
      if (!updated.found) throw new Error('expected found')
      expect(updated.updated_at.getTime()).toBeGreaterThanOrEqual(ada.updated_at.getTime())
      expect(updated.created_at.getTime()).toBe(ada.created_at.getTime())
      expect(await User.list()).toMatchObject({ count: 1, limit: 10 })
      expect(await User.count()).toEqual({ count: 1 })
      expect(await User.delete('u1')).toEqual({ id: 'u1', deleted: true })
      expect(await User.delete('u1')).toEqual({ id: 'u1', deleted: false })
      expect(await User.delete({ filter: { email: 'zz@x.io' } })).toEqual({ id: null, deleted: false })
    })

    it('generates integer keys when the model declares no string id', async () => {
      const db = open()
      const Note = db.model('Note', { text: z.string() })
      const first = await Note.create({ text: 'one' })
      const second = await Note.create({ text: 'two' })
      expect(typeof first.id).toBe('number')
      expect(second.id).toBeGreaterThan(first.id)
      expect(await Note.read(first.id)).toMatchObject({ text: 'one', found: true })
      const bulk = await Note.bulkCreate({ data: [{ text: 'a' }, { text: 'b' }, { text: 'c' }], returnIds: true })
      expect(bulk.ids).toHaveLength(3)
      const listed = await Note.list({ filter: { id: { $in: bulk.ids as number[] } }, orderBy: 'id' })
      expect(listed.records.map((r) => r.text)).toEqual(['a', 'b', 'c'])
      expect(db.modelNames()).toEqual(['Note'])
      expect(Note.tableName).toBe('notes')
    })

    it('generates integer keys past the ones callers supplied (imports, fixtures)', async () => {
      // Regression: PostgreSQL's identity sequence did not move past caller-supplied keys, so the
      // next generated key collided with an imported one (CONFLICT) on PostgreSQL only.
      const db = open()
      const Note = db.model('Note', { text: z.string() }, { indexes: [{ fields: ['text'], unique: true }] })
      await Note.bulkCreate({ data: [{ id: 1, text: 'a' }, { id: 2, text: 'b' }] })
      await Note.create({ id: 5, text: 'c' })
      const generated = await Note.create({ text: 'd' })
      expect(generated.id).toBeGreaterThan(5)
      const bulk = await Note.bulkCreate({ data: [{ text: 'e' }, { text: 'f' }], returnIds: true })
      expect(bulk.ids?.every((id) => id > generated.id)).toBe(true)
      await Note.bulkUpsert({ data: [{ id: 40, text: 'g' }] })
      await Note.upsert({ where: { text: 'h' }, create: { id: 41 } })
      expect((await Note.create({ text: 'i' })).id).toBeGreaterThan(41)
      expect(await Note.count()).toEqual({ count: 9 })
    })

    it('pages with limit, offset and every orderBy form; countOnly gives the total', async () => {
      const { User } = await seeded()
      expect((await User.list({ orderBy: [{ age: -1 }], limit: 2 })).records.map((r) => r.id)).toEqual(['u3', 'u1'])
      expect((await User.list({ filter: { age: { $null: false } }, orderBy: [{ age: -1 }] })).records.map((r) => r.id)).toEqual(['u3', 'u1', 'u2'])
      expect((await User.list({ orderBy: 'email', limit: 2, offset: 1 })).records.map((r) => r.id)).toEqual(['u2', 'u3'])
      expect((await User.list({ orderBy: '-email', limit: 1 })).records.map((r) => r.id)).toEqual(['u4'])
      expect((await User.list({ orderBy: ['role', '-email'] })).records.map((r) => r.id)).toEqual(['u1', 'u4', 'u3', 'u2'])
      expect(await User.list({ countOnly: true, limit: 1 })).toEqual({ records: [], count: 4, total: 4, limit: 1, hasMore: true })
      expect(await User.list({ limit: 0 })).toEqual({ records: [], count: 0, limit: 0, hasMore: true })
    })
  })

  describe('filters', () => {
    const cases: [string, Record<string, unknown>, string[]][] = [
      ['plain value is $eq', { email: 'a@x.io' }, ['u1']],
      ['$eq', { age: { $eq: 25 } }, ['u2']],
      ['null is IS NULL', { name: null }, ['u3']],
      ['$ne includes empty fields', { name: { $ne: 'Bob' } }, ['u1', 'u3', 'u4']],
      ['$ne null', { name: { $ne: null } }, ['u1', 'u2', 'u4']],
      ['$gt', { age: { $gt: 36 } }, ['u3']],
      ['$gte', { age: { $gte: 36 } }, ['u1', 'u3']],
      ['$lt', { age: { $lt: 36 } }, ['u2']],
      ['$lte', { score: { $lte: 7 } }, ['u2', 'u4']],
      ['$in', { role: { $in: ['admin'] } }, ['u1']],
      ['$in with null', { name: { $in: ['Ada', null] } }, ['u1', 'u3']],
      ['$in empty', { name: { $in: [] } }, []],
      ['$nin', { role: { $nin: ['admin'] } }, ['u2', 'u3', 'u4']],
      ['$nin includes empty fields', { name: { $nin: ['Ada'] } }, ['u2', 'u3', 'u4']],
      ['$like is case-sensitive', { name: { $like: 'B%' } }, ['u2']],
      ['$like with _', { email: { $like: '_@x.io' } }, ['u1', 'u2', 'u3', 'u4']],
      ['$ilike', { name: { $ilike: 'b%' } }, ['u2', 'u4']],
      ['$regex', { name: { $regex: '^[A-Z]' } }, ['u1', 'u2']],
      ['$exists true', { score: { $exists: true } }, ['u1', 'u2', 'u4']],
      ['$exists false', { score: { $exists: false } }, ['u3']],
      ['$null true', { age: { $null: true } }, ['u4']],
      ['$null false', { age: { $null: false } }, ['u1', 'u2', 'u3']],
      ['boolean', { active: false }, ['u2']],
      ['several operators on one field', { age: { $gte: 30, $lt: 40 } }, ['u1']],
      ['several fields', { active: true, role: 'user' }, ['u3', 'u4']],
      ['$and', { $and: [{ active: true }, { role: 'user' }] }, ['u3', 'u4']],
      ['$or', { $or: [{ age: { $gt: 40 } }, { email: 'b@x.io' }] }, ['u2', 'u3']],
      ['$or empty', { $or: [] }, []],
      ['$not', { $not: { active: true } }, ['u2']],
      ['nested', { $or: [{ $and: [{ role: 'admin' }, { age: 36 }] }, { $not: { $or: [{ active: true }, { age: 41 }] } }] }, ['u1', 'u2']],
      ['column name works as field name', { email: { $in: ['c@x.io', 'd@x.io'] }, id: { $ne: 'u3' } }, ['u4']],
      ['dates as ISO strings', { created_at: { $gte: '2000-01-01T00:00:00Z' } }, ['u1', 'u2', 'u3', 'u4']],
    ]

    it('supports every operator, the same on every dialect', async () => {
      const { User } = await seeded()
      for (const [label, filter, expected] of cases) {
        expect(ids(await User.list({ filter, limit: 100 })), label).toEqual(expected)
        expect((await User.count({ filter })).count, label).toBe(expected.length)
      }
    })

    it('$like and $ilike read "\\" as an escape on every dialect', async () => {
      // Regression: SQLite (GLOB for $like, LIKE without ESCAPE for $ilike) took "\" literally while
      // PostgreSQL and MySQL read it as an escape, so 'a\_b' found different rows; and a pattern
      // ending in a lone "\" was a DATABASE_ERROR on PostgreSQL only.
      const db = open()
      const Pattern = db.model('Pattern', { id: z.string(), s: z.string() })
      const rows = { p1: 'a_b', p2: 'a\\_b', p3: 'axb', p4: 'A_B', p5: 'a%b', p6: 'a\\b', p7: 'a*b', p8: 'a[b]', p9: 'a?b' }
      await Pattern.bulkCreate({ data: Object.entries(rows).map(([id, s]) => ({ id, s })) })
      const cases: [Record<string, string>, string[]][] = [
        [{ $like: 'a\\_b' }, ['p1']],
        [{ $like: 'a\\\\_b' }, ['p2']],
        [{ $like: 'a\\%b' }, ['p5']],
        [{ $like: 'a\\\\b' }, ['p6']],
        [{ $like: 'a\\xb' }, ['p3']],
        [{ $like: 'a_b' }, ['p1', 'p3', 'p5', 'p6', 'p7', 'p9']],
        [{ $like: 'a*b' }, ['p7']],
        [{ $like: 'a?b' }, ['p9']],
        [{ $like: 'a[b]' }, ['p8']],
        [{ $like: '%\\\\%' }, ['p2', 'p6']],
        [{ $ilike: 'a\\_b' }, ['p1', 'p4']],
        [{ $ilike: 'A\\%B' }, ['p5']],
        [{ $ilike: '%\\\\_%' }, ['p2', 'p6']],
        [{ $ilike: '%\\\\\\_%' }, ['p2']],
      ]
      for (const [condition, expected] of cases) {
        expect(ids(await Pattern.list({ filter: { s: condition }, limit: 100 })), JSON.stringify(condition)).toEqual(expected)
      }
      for (const pattern of ['a\\', 'a\\\\\\']) {
        for (const op of ['$like', '$ilike']) {
          const error = await expectCode(Pattern.list({ filter: { s: { [op]: pattern } } }), 'VALIDATION_FAILED')
          expect(error.message).toContain('escape')
        }
      }
    })

    it('rejects unknown fields and operators, naming them', async () => {
      const { User } = await seeded()
      const bad: [Record<string, unknown>, string][] = [
        [{ nope: 1 }, 'no field "nope"'],
        [{ age: { $foo: 1 } }, 'unknown operator "$foo"'],
        [{ $where: 'true' }, 'unknown operator "$where"'],
        [{ age: 'thirty' }, 'expects an integer'],
        [{ active: 'yes' }, 'expects true or false'],
        [{ name: { $in: 'Ada' } }, 'takes an array'],
        [{ age: { $like: '3%' } }, 'applies to text fields'],
        [{ name: { $regex: '(' } }, 'not a valid regular expression'],
        [{ $and: {} }, '$and takes an array'],
        [{ age: { $gt: null } }, 'needs a value'],
        [{ age: {} }, 'empty condition'],
      ]
      for (const [filter, message] of bad) {
        const error = await expectCode(User.list({ filter }), 'VALIDATION_FAILED')
        expect(error.message, JSON.stringify(filter)).toContain(message)
      }
    })
  })

  describe('hostile input', () => {
    it('binds values and rejects keys: SQL in filters never runs', async () => {
      const { User } = await seeded()
      const hostileKeys = ["email = '' OR 1=1 --", 'email; DROP TABLE users; --', 'email"', 'email`', '1=1', "id') OR ('1'='1"]
      for (const key of hostileKeys) {
        const error = await expectCode(User.list({ filter: { [key]: 'x' } }), 'VALIDATION_FAILED')
        expect(error.message).toContain('has no field')
      }
      const hostileValues = ["' OR '1'='1", "a@x.io' --", "'; DROP TABLE users; --", '" OR ""="', '\\', "\\' OR 1=1 --", '%']
      for (const value of hostileValues) {
        expect((await User.list({ filter: { email: value } })).records).toEqual([])
        expect((await User.list({ filter: { email: { $in: [value, 'nobody'] } } })).records).toEqual([])
        expect((await User.list({ filter: { name: { $regex: value.replace(/[\\()[\]]/g, '') || 'x', $eq: value } } })).records).toEqual([])
      }
      expect((await User.list({ filter: { email: { $like: "%' OR 1=1 --" } } })).records).toEqual([])
      await expectCode(User.list({ filter: { email: { $in: [{ $gt: '' }] } } as never }), 'VALIDATION_FAILED')
      await expectCode(User.list({ filter: { age: '1 OR 1=1' } as never }), 'VALIDATION_FAILED')
      await expectCode(User.list({ orderBy: 'email; DROP TABLE users' }), 'VALIDATION_FAILED')
      await expectCode(User.list({ orderBy: [{ 'email DESC, (SELECT 1)': 1 }] }), 'VALIDATION_FAILED')
      await expectCode(User.bulkCreate({ data: [{ id: 'h1', email: 'h@x.io', 'email) VALUES (1); --': 'x' } as never] }), 'VALIDATION_FAILED')
      await expectCode(User.update({ id: 'u1', fields: { 'name = 1, id': 'x' } as never }), 'VALIDATION_FAILED')
      await expectCode(User.upsert({ where: { email: 'q@x.io' }, create: { id: 'q', "x') --": 1 } as never }), 'VALIDATION_FAILED')
      // Hostile text is stored and read back verbatim.
      const nasty = "Robert'); DROP TABLE users; -- \" ` \\ %_ \u2603"
      await User.create({ id: "id'1", email: 'n@x.io', name: nasty })
      expect(await User.read("id'1")).toMatchObject({ name: nasty, found: true })
      expect((await User.list({ filter: { name: nasty } })).records).toHaveLength(1)
      expect((await User.count()).count).toBe(5)
      expect(() => open().model('User; DROP TABLE users', { a: z.string() })).toThrow(/model name/)
      expect(() => open().model('Evil', { 'a; DROP': z.string() })).toThrow(/plain identifier/)
      expect(() => open().model('Evil', { a: z.string() }, { tableName: 'users; DROP TABLE x' })).toThrow(/plain identifier/)
    })

    it('rejects "__proto__", "constructor" and other Object.prototype names as field names, also in JSON params', async () => {
      // Regression: zod's record schema silently drops an own "__proto__" key, so the filter
      // {"__proto__": {...}} reached the compiler as {}: List returned every record, and
      // BulkDelete with confirmed: true deleted them all.
      const { db, User } = await seeded()
      const filters = ['{"__proto__": {"email": "a@x.io"}}', '{"email": "a@x.io", "__proto__": {"id": "u2"}}', '{"constructor": "x"}', '{"toString": "x"}', '{"hasOwnProperty": "x"}', '{"$or": [{"__proto__": {"id": "u1"}}]}']
      for (const json of filters) {
        const filter = JSON.parse(json) as Record<string, unknown>
        expect((await expectCode(User.list({ filter }), 'VALIDATION_FAILED')).message, json).toMatch(/has no field "(__proto__|constructor|toString|hasOwnProperty)"/)
        await expectCode(User.bulkDelete({ filter, confirmed: true }), 'VALIDATION_FAILED')
        await expectCode(User.bulkUpdate({ filter, fields: { name: 'x' }, confirmed: true }), 'VALIDATION_FAILED')
        await expectCode(User.upsert({ where: filter, update: { name: 'x' } }), 'VALIDATION_FAILED')
      }
      await expectCode(User.list({ orderBy: JSON.parse('[{"__proto__": -1}]') as never }), 'VALIDATION_FAILED')
      await expectCode(User.list({ orderBy: [{ email: 'sideways' }] as never }), 'VALIDATION_FAILED')
      await expectCode(User.upsert({ where: { email: 'new@x.io' }, create: JSON.parse('{"id": "p1", "__proto__": {"role": "admin"}}') as never }), 'VALIDATION_FAILED')
      // A workflow carries params as JSON too: the node fails rather than deleting everything.
      const wf = new WorkflowBuilder({ registry: db.registry }).addNode('UserBulkDeleteNode', 'd', JSON.parse('{"filter": {"__proto__": {"id": "u1"}}, "confirmed": true}') as Record<string, unknown>).build({ name: 'proto' })
      const { results } = await new LocalRuntime({ registry: db.registry }).execute(wf)
      expect(results.d).toMatchObject({ failed: true })
      expect(await User.count()).toEqual({ count: 4 })
    })
  })

  describe('types', () => {
    const typesShape = {
      label: z.string(),
      count: z.number().int(),
      ratio: z.number(),
      flag: z.boolean(),
      off: z.boolean(),
      when: z.date(),
      kind: z.enum(['a', 'b']),
      big: z.bigint(),
      doc: z.object({ nested: z.object({ list: z.array(z.number()) }), text: z.string(), nil: z.null() }),
      list: z.array(z.union([z.string(), z.number()])),
      bytes: z.instanceof(Uint8Array),
      maybe: z.string().nullable(),
      optional: z.string().optional(),
    }
    const sample = {
      label: 'héllo ☃',
      count: 9_007_199_254_740_991,
      ratio: 0.1 + 0.2,
      flag: true,
      off: false,
      when: new Date('2024-02-29T23:59:58.123Z'),
      kind: 'b' as const,
      big: 2n ** 62n + 7n,
      doc: { nested: { list: [1, 2.5, -3] }, text: 'quote " and \\', nil: null },
      list: ['x', 1],
      bytes: new Uint8Array([0, 255, 1, 128]),
      maybe: null,
    }

    function expectSample(row: Record<string, unknown>) {
      expect(row.label).toBe(sample.label)
      expect(row.count).toBe(sample.count)
      expect(row.ratio).toBe(sample.ratio)
      expect(row.flag).toBe(true)
      expect(row.off).toBe(false)
      expect(row.when).toBeInstanceOf(Date)
      expect((row.when as Date).toISOString()).toBe(sample.when.toISOString())
      expect(row.kind).toBe('b')
      expect(row.big).toBe(sample.big)
      expect(row.doc).toEqual(sample.doc)
      expect(row.list).toEqual(sample.list)
      expect(row.bytes).toBeInstanceOf(Uint8Array)
      expect([...(row.bytes as Uint8Array)]).toEqual([0, 255, 1, 128])
      expect(row.maybe).toBeNull()
      expect(row).not.toHaveProperty('optional')
      expect(row.created_at).toBeInstanceOf(Date)
    }

    it('round-trips every kind through create, read, list and bulk create', async () => {
      const db = open()
      const Sample = db.model('Sample', typesShape)
      expectSample(await Sample.create(sample))
      const read = await Sample.read({ conditions: { label: sample.label } })
      expectSample(read)
      await Sample.bulkCreate({ data: [{ ...sample, label: 'second', optional: 'here' }] })
      const listed = await Sample.list({ orderBy: 'id' })
      expect(listed.records).toHaveLength(2)
      expectSample(listed.records[0] as Record<string, unknown>)
      expect(listed.records[1]?.optional).toBe('here')
      // Typed comparisons work on each kind.
      expect((await Sample.count({ filter: { big: { $gt: 2n ** 62n } } })).count).toBe(2)
      expect((await Sample.count({ filter: { when: { $lt: new Date('2024-03-01T00:00:00Z') } } })).count).toBe(2)
      expect((await Sample.count({ filter: { flag: true, off: false, kind: 'b', ratio: { $gt: 0.3 } } })).count).toBe(2)
      expect((await Sample.count({ filter: { maybe: null, doc: { $exists: true } } })).count).toBe(2)
      // Long text fits on every dialect (MySQL's TEXT would stop at 64 KB).
      const long = 'x'.repeat(100_000)
      await Sample.create({ ...sample, label: 'long', optional: long })
      expect((await Sample.read({ conditions: { label: 'long' } })) as Record<string, unknown>).toMatchObject({ optional: long })
    })

    it('round-trips JSON fields holding a string, a number, false or an array, through every read path', async () => {
      // Regression: mysql2 parses MariaDB's JSON columns itself, so the dialect parsed them a
      // second time: a JSON string failed to read ("is not valid JSON"), and '"quoted"' came back
      // as 'quoted'.
      const db = open()
      const Doc = db.model('Doc', { id: z.string(), body: z.json() })
      const values = ['plain text', '"quoted"', '{"looks":"like json"}', '', 42, 0, false, [1, 'two', null], { a: { b: ['c'] } }]
      const data = values.map((body, i) => ({ id: `d${i}`, body }))
      for (const row of data.slice(0, 3)) expect(await Doc.create(row), JSON.stringify(row.body)).toMatchObject(row)
      await Doc.bulkCreate({ data: data.slice(3) })
      expect((await Doc.list({ orderBy: 'id', limit: 100 })).records.map((r) => r.body)).toEqual(values)
      expect(await Doc.read('d1')).toMatchObject({ body: '"quoted"' })
      expect((await Doc.upsert({ where: { id: 'd0' }, update: { body: 'updated text' } })).record).toMatchObject({ body: 'updated text' })
    })

    it('accepts the JSON forms of dates, bigints and bytes (what workflows carry)', async () => {
      const db = open()
      const Sample = db.model('Sample', typesShape)
      const wf = new WorkflowBuilder({ registry: db.registry })
        .addNode('SampleCreateNode', 'c', { ...sample, when: sample.when.toISOString(), big: String(sample.big), bytes: Buffer.from(sample.bytes).toString('base64') })
        .build({ name: 'json-forms' })
      const { results } = await new LocalRuntime({ registry: db.registry }).execute(wf)
      expectSample(results.c as Record<string, unknown>)
      expect((await Sample.count({ filter: { when: sample.when.toISOString(), big: String(sample.big) } })).count).toBe(1)
    })
  })

  describe('soft delete', () => {
    it('marks deleted_at, hides deleted records unless asked, and deletes once', async () => {
      const db = open()
      const Doc = db.model('Doc', { id: z.string(), title: z.string() }, { softDelete: true })
      await Doc.bulkCreate({ data: [{ id: 'd1', title: 'one' }, { id: 'd2', title: 'two' }, { id: 'd3', title: 'three' }] })
      expect(await Doc.read('d1')).toMatchObject({ deleted_at: null, found: true })
      expect(await Doc.delete('d1')).toEqual({ id: 'd1', deleted: true })
      expect(await Doc.delete('d1')).toEqual({ id: 'd1', deleted: false })
      await expectCode(Doc.read('d1'), 'RECORD_NOT_FOUND')
      expect(await Doc.read({ id: 'd1', raiseOnNotFound: false })).toEqual({ id: 'd1', found: false })
      const deleted = await Doc.read({ id: 'd1', includeDeleted: true })
      expect(deleted).toMatchObject({ id: 'd1', found: true })
      expect((deleted as { deleted_at: unknown }).deleted_at).toBeInstanceOf(Date)
      expect(ids(await Doc.list())).toEqual(['d2', 'd3'])
      expect(ids(await Doc.list({ includeDeleted: true }))).toEqual(['d1', 'd2', 'd3'])
      expect(await Doc.count()).toEqual({ count: 2 })
      expect(await Doc.count({ includeDeleted: true })).toEqual({ count: 3 })
      expect(await Doc.update({ id: 'd1', fields: { title: 'ghost' } })).toEqual({ id: 'd1', updated: false })
      expect(await Doc.bulkDelete({ filter: { title: { $in: ['one', 'two'] } } })).toEqual({ processed: 1, deleted: 1, success: true })
      expect(await Doc.count()).toEqual({ count: 1 })
      // The rows are still there.
      expect(await rawQuery(kind, target.url, 'SELECT id FROM docs ORDER BY id')).toHaveLength(3)
    })
  })

  describe('upsert', () => {
    it('creates, then updates the record matched by where or conflictOn', async () => {
      const db = open()
      const User = users(db)
      const first = await User.upsert({ where: { email: 'a@x.io' }, create: { id: 'u1', name: 'Ada' }, update: { name: 'Ada L.' } })
      expect(first).toMatchObject({ created: true, action: 'created', record: { id: 'u1', email: 'a@x.io', name: 'Ada' } })
      const second = await User.upsert({ where: { email: 'a@x.io' }, create: { id: 'u1', name: 'Ada' }, update: { name: 'Ada L.' } })
      expect(second).toMatchObject({ created: false, action: 'updated', record: { id: 'u1', name: 'Ada L.' } })
      const third = await User.upsert({ where: { id: 'u1' }, conflictOn: ['email'], create: { email: 'a@x.io' }, update: { age: 36 } })
      expect(third).toMatchObject({ created: false, action: 'updated', record: { id: 'u1', age: 36, name: 'Ada L.' } })
      // Updating needs no complete record.
      expect(await User.upsert({ where: { email: 'a@x.io' }, update: { age: 40 } })).toMatchObject({ created: false, record: { id: 'u1', age: 40 } })
      expect(await User.count()).toEqual({ count: 1 })
      // A new record must be complete: missing required fields are a validation error.
      await expectCode(User.upsert({ where: { email: 'b@x.io' } }), 'VALIDATION_FAILED')
      // A different key colliding on a unique field is a conflict.
      await expectCode(User.upsert({ where: { id: 'u2' }, create: { email: 'a@x.io' } }), 'CONFLICT')
    })

    it('creates exactly one record when concurrent upserts race for the same key', async () => {
      const db = open({ connectionPoolSize: 5 })
      const User = users(db)
      await User.count() // migrate first, so the race is about the rows
      const results = await Promise.all(Array.from({ length: 6 }, (_, i) => User.upsert({ where: { email: 'race@x.io' }, create: { id: `r${i}` }, update: { age: i } })))
      expect(results.filter((r) => r.created)).toHaveLength(1)
      expect(results.filter((r) => r.action === 'updated')).toHaveLength(5)
      expect(await User.count()).toEqual({ count: 1 })
    })

    it('bulk-upserts on the key or a unique index, counting inserts and updates', async () => {
      const { User } = await seeded()
      const result = await User.bulkUpsert({ data: [{ id: 'u1', email: 'a@x.io', name: 'Ada 2' }, { id: 'u9', email: 'z@x.io' }], returnIds: true })
      expect(result).toMatchObject({ processed: 2, upserted: 2, inserted: 1, updated: 1, success: true })
      expect(result.ids?.sort()).toEqual(['u1', 'u9'])
      expect(await User.read('u1')).toMatchObject({ name: 'Ada 2', age: 36 })
      const byEmail = await User.bulkUpsert({ data: [{ id: 'ignored', email: 'b@x.io', name: 'Bob 2' }], conflictOn: ['email'] })
      expect(byEmail).toMatchObject({ inserted: 0, updated: 1 })
      expect(await User.read('u2')).toMatchObject({ name: 'Bob 2' })
      await expectCode(User.bulkUpsert({ data: [{ id: 'x', email: 'x@x.io' }], conflictOn: ['name'] }), 'VALIDATION_FAILED')
      expect(await User.count()).toEqual({ count: 5 })
    })

    it('bulk-upserts rows that give no value for the conflict target as new records, each one', async () => {
      // Regression: rows were deduplicated by their conflict key, and every row without one had
      // the same (empty) key: a BulkUpsert of 3 new rows of a generated-key model kept only the
      // last, silently, reporting processed: 1.
      const db = open()
      const Note = db.model('Note', { text: z.string(), code: z.string().optional() }, { indexes: [{ fields: ['code'], unique: true }] })
      expect(await Note.bulkUpsert({ data: [{ text: 'a' }, { text: 'b' }, { text: 'c' }], conflictOn: ['id'] })).toMatchObject({ processed: 3, inserted: 3, updated: 0 })
      expect(await Note.bulkCreate({ data: [{ text: 'd' }, { text: 'e' }], conflictResolution: 'update', conflictOn: ['id'] })).toMatchObject({ processed: 2, inserted: 2 })
      // On a unique field, rows without a value never conflict (NULLs are distinct); rows with one still merge, the last winning.
      const byCode = await Note.bulkUpsert({ data: [{ text: 'f' }, { text: 'g', code: 'x' }, { text: 'h' }, { text: 'i', code: 'x' }] })
      expect(byCode).toMatchObject({ processed: 3, inserted: 3, updated: 0 })
      expect((await Note.list({ orderBy: 'text', limit: 100 })).records.map((r) => r.text)).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'h', 'i'])
    })

    it('bulk-creates with conflictResolution skip and update', async () => {
      const { User } = await seeded()
      const skipped = await User.bulkCreate({ data: [{ id: 'u1', email: 'a@x.io', name: 'changed' }, { id: 'u7', email: 'g@x.io' }], conflictResolution: 'skip' })
      expect(skipped).toMatchObject({ processed: 2, inserted: 1, skipped: 1, success: true })
      expect(await User.read('u1')).toMatchObject({ name: 'Ada' })
      const updated = await User.bulkCreate({ data: [{ id: 'u1', email: 'a@x.io', name: 'changed' }, { id: 'u8', email: 'h@x.io' }], conflictResolution: 'update' })
      expect(updated).toMatchObject({ processed: 2, inserted: 1, updated: 1, success: true })
      expect(await User.read('u1')).toMatchObject({ name: 'changed' })
    })

    it('with conflictResolution skip and returnIds, counts and returns only the rows it inserted', async () => {
      // Regression: on MariaDB, INSERT ... ON DUPLICATE KEY UPDATE ... RETURNING also returns the
      // rows it skipped, so they were counted as inserted and their keys returned; on MySQL
      // (no RETURNING) the keys were guessed from the first generated one.
      const { db, User } = await seeded()
      const texts = await User.bulkCreate({ data: [{ id: 'u1', email: 'new1@x.io' }, { id: 'n1', email: 'n1@x.io' }, { id: 'n2', email: 'b@x.io' }], conflictResolution: 'skip', returnIds: true })
      expect(texts).toEqual({ processed: 3, inserted: 1, skipped: 2, ids: ['n1'], success: true })
      const Note = db.model('Note', { text: z.string() }, { indexes: [{ fields: ['text'], unique: true }] })
      await Note.create({ text: 'x' })
      const generated = await Note.bulkCreate({ data: [{ text: 'y' }, { text: 'x' }, { text: 'z' }], conflictResolution: 'skip', returnIds: true })
      expect(generated).toMatchObject({ processed: 3, inserted: 2, skipped: 1 })
      const stored = await Note.list({ filter: { text: { $in: ['y', 'z'] } }, orderBy: 'text' })
      expect(generated.ids).toEqual(stored.records.map((r) => r.id))
    })
  })

  describe('bulk operations', () => {
    it('are all-or-nothing: a failure in a later batch leaves no row of the earlier ones', async () => {
      const db = open()
      const User = users(db)
      await User.create({ id: 'existing', email: 'e@x.io' })
      const data = Array.from({ length: 2500 }, (_, i) => ({ id: `b${i}`, email: `b${i}@x.io` }))
      // Row 2345 (batch 24 of 25) collides with the row created above.
      data[2345] = { id: 'existing', email: 'dup@x.io' }
      await expectCode(User.bulkCreate({ data, batchSize: 100 }), 'CONFLICT')
      expect(await User.count()).toEqual({ count: 1 })
      // A duplicate inside the data itself, in the last batch.
      const again = Array.from({ length: 700 }, (_, i) => ({ id: `c${i}`, email: `c${i}@x.io` }))
      again[650] = { id: 'c3', email: 'c3-again@x.io' }
      await expectCode(User.bulkCreate({ data: again, batchSize: 200 }), 'CONFLICT')
      expect(await User.count()).toEqual({ count: 1 })
      // Invalid data fails validation before anything is written.
      await expectCode(User.bulkCreate({ data: [{ id: 'ok', email: 'ok@x.io' }, { id: 'bad', email: 'bad' }] }), 'VALIDATION_FAILED')
      expect(await User.count()).toEqual({ count: 1 })
    })

    it('gives the connection back when a transaction fails: a pool of one keeps serving', async () => {
      const db = open({ connectionPoolSize: 1 })
      const User = users(db)
      await User.bulkCreate({ data: [{ id: 'u1', email: 'a@x.io' }, { id: 'u2', email: 'b@x.io' }] })
      for (let i = 0; i < 3; i++) {
        await expectCode(User.bulkCreate({ data: [{ id: `n${i}`, email: `n${i}@x.io` }, { id: 'u1', email: 'dup@x.io' }], batchSize: 1 }), 'CONFLICT')
        await expectCode(User.upsert({ where: { id: `z${i}` }, create: { email: 'a@x.io' } }), 'CONFLICT')
        await expectCode(User.update({ id: 'u1', fields: { email: 'b@x.io' } }), 'CONFLICT')
        // The second item collides after the first was written: neither is kept.
        await expectCode(User.bulkUpdate({ data: [{ id: 'u1', name: 'changed' }, { id: 'u2', email: 'a@x.io' }] }), 'CONFLICT')
      }
      let timer: NodeJS.Timeout | undefined
      const exhausted = new Promise((resolve) => (timer = setTimeout(() => resolve('pool exhausted'), 5000)))
      expect(await Promise.race([User.list({ orderBy: 'id' }), exhausted])).toMatchObject({ count: 2, records: [{ id: 'u1', email: 'a@x.io' }, { id: 'u2', email: 'b@x.io' }] })
      clearTimeout(timer)
      expect(await User.read('u1')).not.toHaveProperty('name')
    })

    it('inserts many rows across batches', async () => {
      const db = open()
      const User = users(db)
      const data = Array.from({ length: 3001 }, (_, i) => ({ id: `b${i}`, email: `b${i}@x.io`, age: i }))
      expect(await User.bulkCreate({ data, batchSize: 500 })).toEqual({ processed: 3001, inserted: 3001, success: true })
      expect(await User.count({ filter: { age: { $gte: 3000 } } })).toEqual({ count: 1 })
      expect(await User.bulkCreate({ data: [] })).toEqual({ processed: 0, inserted: 0, success: true })
    })

    it('refuses to update or delete everything unless confirmed', async () => {
      const { User } = await seeded()
      for (const filter of [undefined, {}]) {
        const updateError = await expectCode(User.bulkUpdate({ filter, fields: { active: false } }), 'VALIDATION_FAILED')
        expect(updateError.message).toContain('confirmed: true')
        const deleteError = await expectCode(User.bulkDelete({ filter }), 'VALIDATION_FAILED')
        expect(deleteError.message).toContain('confirmed: true')
      }
      expect(await User.count({ filter: { active: true } })).toEqual({ count: 3 })
      expect(await User.bulkUpdate({ filter: {}, fields: { active: false }, confirmed: true })).toEqual({ processed: 4, updated: 4, success: true })
      expect(await User.count({ filter: { active: true } })).toEqual({ count: 0 })
      expect(await User.bulkUpdate({ data: [{ id: 'u1', name: 'A' }, { id: 'u2', age: 1 }, { id: 'nope', age: 2 }] })).toEqual({ processed: 3, updated: 2, success: true })
      expect(await User.read('u1')).toMatchObject({ name: 'A' })
      expect(await User.bulkDelete({ ids: ['u1', 'u2'] })).toEqual({ processed: 2, deleted: 2, success: true })
      expect(await User.bulkDelete({ filter: {}, confirmed: true })).toEqual({ processed: 2, deleted: 2, success: true })
      expect(await User.count()).toEqual({ count: 0 })
    })

    it('a filter that names no condition (undefined values, an empty $and) is empty: it never picks an arbitrary record or skips the confirmation', async () => {
      // Regression: `{ email: undefined }` (a JS caller's missing value) compiled to no WHERE at
      // all while counting as non-empty, so Update/Delete/Upsert hit the first row, Read returned
      // it, and BulkUpdate/BulkDelete changed every row without `confirmed: true`.
      const { User } = await seeded()
      const before = await User.list({ orderBy: 'id', limit: 100 })
      for (const filter of [{ email: undefined }, { $and: [] }, { $and: [{ name: undefined }] }, { $or: [{}, { email: 'a@x.io' }] }, { $not: { $and: [] }, email: undefined }]) {
        const label = JSON.stringify(filter)
        if (!('$not' in filter)) {
          expect((await expectCode(User.update({ filter, fields: { name: 'HACKED' } }), 'VALIDATION_FAILED')).message, label).toContain('needs "filter"')
          expect((await expectCode(User.delete({ filter }), 'VALIDATION_FAILED')).message, label).toContain('needs "id" or "filter"')
          expect((await expectCode(User.read({ conditions: filter }), 'VALIDATION_FAILED')).message, label).toContain('needs "id" or "conditions"')
          expect((await expectCode(User.upsert({ where: filter, update: { name: 'HACKED' } }), 'VALIDATION_FAILED')).message, label).toContain('non-empty "where"')
          expect((await expectCode(User.bulkUpdate({ filter, fields: { name: 'HACKED' } }), 'VALIDATION_FAILED')).message, label).toContain('confirmed: true')
          expect((await expectCode(User.bulkDelete({ filter }), 'VALIDATION_FAILED')).message, label).toContain('confirmed: true')
        } else {
          // NOT (everything) matches nothing: a restriction, so nothing is touched.
          expect(await User.bulkDelete({ filter }), label).toEqual({ processed: 0, deleted: 0, success: true })
        }
      }
      expect(await User.list({ orderBy: 'id', limit: 100 })).toEqual(before)
      // An id next to an undefined condition still finds that record.
      expect(await User.update({ id: 'u2', filter: { email: undefined }, fields: { age: 26 } })).toMatchObject({ id: 'u2', age: 26, updated: true })
    })
  })

  describe('migrations', () => {
    it('without autoMigrate, a missing table is MIGRATION_REQUIRED with the DDL; migrate() fixes it', async () => {
      const db = open({ autoMigrate: false })
      const User = users(db)
      const error = await expectCode(User.count(), 'MIGRATION_REQUIRED')
      expect(error.message).toContain('CREATE TABLE')
      expect(error.message).toContain('users')
      expect(error.message).toContain('db.migrate()')
      const plan = await db.migrationPlan()
      expect(plan.statements[0]).toMatch(/^CREATE TABLE/)
      expect(plan.statements.some((s) => s.startsWith('CREATE UNIQUE INDEX'))).toBe(true)
      expect(error.details.statements).toEqual(plan.statements)
      const applied = await db.migrate()
      expect(applied.statements).toEqual(plan.statements)
      expect((await db.migrationPlan()).statements).toEqual([])
      expect(await User.count()).toEqual({ count: 0 })
    })

    it('adds the columns and indexes a model gained, keeping the data', async () => {
      const v1 = open()
      const ItemV1 = v1.model('Item', { id: z.string(), title: z.string() })
      await ItemV1.bulkCreate({ data: [{ id: 'i1', title: 'one' }, { id: 'i2', title: 'two' }] })
      await v1.close()

      const shapeV2 = { id: z.string(), title: z.string(), price: z.number().optional(), tags: z.array(z.string()).default([]) }
      const strict = open({ autoMigrate: false })
      const ItemStrict = strict.model('Item', shapeV2, { indexes: [{ fields: ['title'] }] })
      const error = await expectCode(ItemStrict.list(), 'MIGRATION_REQUIRED')
      expect(error.message).toMatch(/ALTER TABLE .*items.* ADD COLUMN .*price/)
      expect(error.message).toMatch(/CREATE INDEX/)

      const v2 = open()
      const ItemV2 = v2.model('Item', shapeV2, { indexes: [{ fields: ['title'] }] })
      const plan = await v2.migrationPlan()
      expect(plan.statements).toHaveLength(3)
      expect(plan.statements.every((s) => /^(ALTER TABLE .* ADD COLUMN|CREATE INDEX)/.test(s))).toBe(true)
      const old = await ItemV2.list({ orderBy: 'id' })
      expect(old.records.map((r) => r.title)).toEqual(['one', 'two'])
      expect(old.records[0]).not.toHaveProperty('price')
      await ItemV2.create({ id: 'i3', title: 'three', price: 9.5, tags: ['new'] })
      expect(await ItemV2.read('i3')).toMatchObject({ price: 9.5, tags: ['new'] })
      const recorded = await rawQuery(kind, target.url, "SELECT table_name, checksum, statements FROM dataflow_migrations WHERE table_name = 'items' ORDER BY id")
      expect(recorded).toHaveLength(2)
      for (const row of recorded) expect(String(row.checksum)).toMatch(/^[0-9a-f]{64}$/)
      expect(String(recorded[1]?.statements)).toContain('ADD COLUMN')
      // Nothing left to do, and a second migrate records nothing new.
      expect((await v2.migrate()).statements).toEqual([])
      expect(await rawQuery(kind, target.url, "SELECT id FROM dataflow_migrations WHERE table_name = 'items'")).toHaveLength(2)
    })

    it('serializes concurrent migrators: both succeed, each change is applied and recorded once', async () => {
      const shapes = { A: { x: z.string() }, B: { y: z.number() }, C: { z: z.boolean() } }
      const make = () => {
        const db = open()
        for (const [name, shape] of Object.entries(shapes)) db.model(name, shape, { indexes: [{ fields: [Object.keys(shape)[0] as string] }] })
        return db
      }
      const [one, two] = [make(), make()]
      const [a, b] = await Promise.all([one.migrate(), two.migrate()])
      expect(a.statements.length + b.statements.length).toBe(6)
      const recorded = await rawQuery(kind, target.url, 'SELECT table_name FROM dataflow_migrations ORDER BY id')
      expect(recorded.map((r) => r.table_name).sort()).toEqual(['as', 'bs', 'cs'])
      await one.getModel('A')?.create({ x: 'from one' })
      expect(await two.getModel('A')?.list()).toMatchObject({ count: 1 })
    })

    it('waits at most migrationLockTimeoutMs for another migrator', async () => {
      const release = await holdMigrationLock(kind, target.url)
      try {
        const db = open({ migrationLockTimeoutMs: 300 })
        db.model('Locked', { v: z.string() })
        const started = performance.now()
        const error = await expectCode(db.migrate(), 'MIGRATION_LOCK_TIMEOUT')
        expect(error.message).toContain('migrationLockTimeoutMs')
        expect(performance.now() - started).toBeLessThan(5000)
      } finally {
        await release()
      }
    })

    it('with skipMigration, never inspects the schema; a missing table is still reported clearly', async () => {
      const db = open({ skipMigration: true })
      const User = users(db)
      const error = await expectCode(User.count(), 'MIGRATION_REQUIRED')
      expect(error.message).toContain('db.migrate()')
      await db.migrate()
      expect(await User.count()).toEqual({ count: 0 })
    })
  })

  describe('model persistence', () => {
    it('stores definitions so a second app can load the models the first defined', async () => {
      const first = open({ applicationId: 'app-one' })
      const Product = first.model('Product', { sku: z.string(), price: z.number(), tags: z.array(z.string()).optional(), launched: z.date() }, { indexes: [{ fields: ['sku'], unique: true }] })
      await Product.create({ sku: 'p-1', price: 3.5, launched: new Date('2024-01-01T00:00:00Z') })

      const second = open({ applicationId: 'app-two' })
      const loaded = await second.loadModels({ applicationId: 'app-one' })
      expect(loaded.map((m) => m.name)).toEqual(['Product'])
      expect(second.registry.has('ProductListNode')).toBe(true)
      expect(second.toManifest().models[0]).toEqual(first.toManifest().models[0])
      const listed = await second.getModel('Product')?.list()
      expect(listed?.records[0]).toMatchObject({ sku: 'p-1', price: 3.5, launched: new Date('2024-01-01T00:00:00Z') })
      expect(await second.loadModels({ applicationId: 'nobody' })).toEqual([])
      // One row per (application, model), updated when the definition changes.
      await second.migrate()
      const rows = await rawQuery(kind, target.url, "SELECT application_id, model_name FROM dataflow_model_registry WHERE model_name = 'Product' ORDER BY application_id")
      expect(rows.map((r) => r.application_id)).toEqual(['app-one', 'app-two'])
    })

    it('skipRegistry never touches dataflow_model_registry', async () => {
      const db = open({ skipRegistry: true })
      db.model('Quiet', { v: z.string() })
      await db.migrate()
      await expect(rawQuery(kind, target.url, 'SELECT * FROM dataflow_model_registry')).rejects.toThrow()
      await expectCode(db.loadModels(), 'CONFIG_INVALID')
      const again = open()
      expect(await again.loadModels()).toEqual([])
    })
  })

  describe('caching and metrics', () => {
    it('serves List/Read/Count from the cache until a write to the model', async () => {
      const { db, User } = await seeded({ enableCaching: true, cacheTtlMs: 60_000, enableMetrics: true })
      expect((await User.count()).count).toBe(4)
      // A write behind DataFlow's back is not seen while cached...
      await rawQuery(kind, target.url, "INSERT INTO users (id, email, active, role, created_at, updated_at) VALUES ('raw', 'raw@x.io', TRUE, 'user', '2024-01-01 00:00:00', '2024-01-01 00:00:00')")
      expect((await User.count()).count).toBe(4)
      expect(db.metrics().cache.hits).toBeGreaterThanOrEqual(1)
      // ...and any write through DataFlow drops the model's entries.
      await User.create({ id: 'u5', email: 'e@x.io' })
      expect((await User.count()).count).toBe(6)
      const listed = await User.list({ limit: 100 })
      listed.records.length = 0 // mutating a result must not change the cache
      expect((await User.list({ limit: 100 })).records).toHaveLength(6)
      expect(db.metrics().nodes.UserListNode?.cacheHits).toBe(1)
    })

    it('counts calls, errors and latencies per node', async () => {
      const { db, User } = await seeded({ enableMetrics: true })
      await User.read('u1')
      await User.read('u2')
      await User.read('nope').catch(() => undefined)
      const metrics = db.metrics()
      expect(metrics.enabled).toBe(true)
      const read = metrics.nodes.UserReadNode
      expect(read).toMatchObject({ calls: 3, errors: 1, cacheHits: 0 })
      expect(read?.histogram.counts.reduce((a, b) => a + b, 0)).toBe(3)
      expect(read?.histogram.counts).toHaveLength((read?.histogram.boundsMs.length ?? 0) + 1)
      expect(metrics.nodes.UserBulkCreateNode?.calls).toBe(1)
      expect(JSON.parse(JSON.stringify(metrics))).toEqual(metrics)
    })
  })
}

for (const kind of TARGETS) {
  describe.skipIf(kind.base === undefined)(suiteTitle(kind, 'DataFlow contract'), () => contract(kind))
}
