// Regression (issue 9): a List result did not say whether more rows followed the page, nor how
// many matched in all; a caller had to ask for one more page to find out. Runs on every dialect
// whose URL is set, like the contract suite.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { parseDatabaseUrl } from '../../src/dataflow/database-url.js'
import { createDriver } from '../../src/dataflow/dialects/create-driver.js'
import { DataFlow, LocalRuntime, NodeRegistry, WorkflowBuilder, type DataFlowOptions } from '../../src/index.js'
import { provision, suiteTitle, TARGETS, type Provisioned, type TargetKind } from './targets.js'

const shape = { id: z.string(), n: z.number().int(), even: z.boolean() }
const rows = Array.from({ length: 25 }, (_, i) => ({ id: `r${String(i).padStart(2, '0')}`, n: i, even: i % 2 === 0 }))

function listSuite(kind: TargetKind) {
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

  const open = (options: DataFlowOptions = {}) => {
    const db = new DataFlow({ databaseUrl: target.url, registry: new NodeRegistry(), slowQueryMs: null, ...options })
    opened.push(db)
    return db
  }
  const seeded = async (options: DataFlowOptions = {}) => {
    const db = open(options)
    const Row = db.model('Row', shape)
    await Row.bulkCreate({ data: rows })
    return { db, Row }
  }

  it('says whether more rows follow the page (default limit 10)', async () => {
    const { Row } = await seeded()
    const first = await Row.list({ orderBy: 'n' })
    expect(first).toMatchObject({ count: 10, limit: 10, hasMore: true })
    expect(first.records.map((r) => r.n)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    expect(first).not.toHaveProperty('total')
    expect(await Row.list({ orderBy: 'n', offset: 10 })).toMatchObject({ count: 10, hasMore: true })
    const last = await Row.list({ orderBy: 'n', offset: 20 })
    expect(last).toMatchObject({ count: 5, hasMore: false })
    expect(last.records.map((r) => r.n)).toEqual([20, 21, 22, 23, 24])
    // Exactly at the end: the page is full, and nothing follows it.
    expect(await Row.list({ orderBy: 'n', offset: 15 })).toMatchObject({ count: 10, hasMore: false })
    expect(await Row.list({ orderBy: 'n', offset: 40 })).toMatchObject({ count: 0, records: [], hasMore: false })
    expect(await Row.list({ limit: 0 })).toMatchObject({ count: 0, records: [], hasMore: true })
  })

  it('counts every match with includeTotal, with the same filter', async () => {
    const { Row } = await seeded()
    const page = await Row.list({ filter: { even: true }, orderBy: '-n', limit: 5, offset: 10, includeTotal: true })
    expect(page).toMatchObject({ count: 3, limit: 5, hasMore: false, total: 13 })
    expect(page.records.map((r) => r.n)).toEqual([4, 2, 0])
    expect(await Row.list({ filter: { n: { $gte: 100 } }, includeTotal: true })).toMatchObject({ count: 0, total: 0, hasMore: false })
    expect(await Row.list({ filter: { even: false }, countOnly: true })).toEqual({ records: [], count: 12, total: 12, limit: 10, hasMore: true })
  })

  it('reads the page in one query: hasMore costs no second one, includeTotal costs one', async () => {
    const statements: string[] = []
    const logger = { warn: (message: string) => statements.push(message) }
    const { Row } = await seeded({ slowQueryMs: 0, logger, autoMigrate: true })
    await Row.count() // the schema check is done before counting
    const selects = () => statements.filter((m) => /: SELECT .* FROM .*rows/.test(m) && !/information_schema|pragma_|pg_indexes/.test(m))
    statements.length = 0
    await Row.list({ limit: 5 })
    expect(selects()).toEqual([expect.stringMatching(/LIMIT 6 OFFSET 0/)])
    statements.length = 0
    await Row.list({ limit: 5, includeTotal: true })
    expect(selects()).toEqual([expect.stringMatching(/LIMIT 6 OFFSET 0/), expect.stringContaining('SELECT COUNT(*)')])
  })

  it('the generated List node returns hasMore and total too', async () => {
    const { db } = await seeded()
    const workflow = new WorkflowBuilder({ registry: db.registry }).addNode('RowListNode', 'page', { filter: { even: true }, limit: 4, includeTotal: true }).build({ name: 'page' })
    const { results } = await new LocalRuntime({ registry: db.registry }).execute(workflow)
    expect(results.page).toMatchObject({ count: 4, limit: 4, hasMore: true, total: 13 })
  })

  it('takes the page and its total from one snapshot, while another connection writes', async () => {
    const { Row } = await seeded()
    const writer = open()
    const Other = writer.model('Row', shape)
    const parsed = parseDatabaseUrl(target.url)
    const driver = createDriver(parsed, 2)
    await driver.open()
    try {
      const table = driver.sql.quote('rows')
      const seen = await driver.snapshot(async (tx) => {
        const before = Number((await tx.all(`SELECT COUNT(*) AS n FROM ${table}`))[0]?.n)
        // Committed by another connection after the snapshot's first read.
        await Other.create({ id: 'late', n: 99, even: false })
        const after = Number((await tx.all(`SELECT COUNT(*) AS n FROM ${table}`))[0]?.n)
        return { before, after }
      })
      expect(seen).toEqual({ before: 25, after: 25 })
      expect((await Row.list({ includeTotal: true })).total).toBe(26)
    } finally {
      await driver.close()
    }
  })
}

for (const kind of TARGETS) {
  describe.skipIf(kind.base === undefined)(suiteTitle(kind, 'DataFlow List pages'), () => listSuite(kind))
}
