// Regression (issue 9): when a model's field changed type (number -> string) over an existing
// table, SQLite silently coerced the new values (`'42'` read back as the number 42) and PostgreSQL
// failed with an opaque cast error. Migrations are additive and never retype, so the drift is now
// reported per column by migrate(), migrationPlan() and first use, with the fix. Runs on every
// dialect whose URL is set, like the contract suite.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { DataFlow, NexflowError, NodeRegistry, type DataFlowOptions } from '../../src/index.js'
import { provision, rawQuery, suiteTitle, TARGETS, type Provisioned, type TargetKind } from './targets.js'

/** What each dialect creates for a `z.number()` field, and for a `z.string()` one, as its catalog spells them. */
const TYPES: Record<TargetKind['dialect'], { number: string; string: string }> = {
  sqlite: { number: 'REAL', string: 'TEXT' },
  postgres: { number: 'double precision', string: 'TEXT' },
  mysql: { number: 'double', string: 'LONGTEXT' },
}

async function rejection(promise: Promise<unknown>): Promise<NexflowError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error, 'expected a NexflowError').toBeInstanceOf(NexflowError)
  return error as NexflowError
}

function driftSuite(kind: TargetKind) {
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

  /** A `products` table made by the old model, where `code` was a number. */
  const oldTable = async () => {
    const db = open()
    const Product = db.model('Product', { id: z.string(), name: z.string(), code: z.number(), price: z.number() })
    await db.migrate()
    await Product.create({ id: 'p1', name: 'Pen', code: 42, price: 1.5 })
    await db.close()
  }
  /** The new model: `code` is a string now (and `sku`, a new field, is added as usual). */
  const newModel = (db: DataFlow) => db.model('Product', { id: z.string(), name: z.string(), code: z.string(), price: z.number(), sku: z.string().optional() })

  const expectDrift = (error: NexflowError) => {
    expect(error.code).toBe('MIGRATION_REQUIRED')
    const { number, string } = TYPES[kind.dialect]
    expect(error.message).toContain(`products.code (model "Product", field "code"): the database has ${number}, the model wants ${string}`)
    expect(error.message).toContain('never change a column\'s type')
    expect(error.details.drift).toEqual([
      { model: 'Product', table: 'products', field: 'code', column: 'code', found: number, expected: string, fix: expect.any(String) as string },
    ])
    // The additive part of the plan is still shown.
    expect(error.details.statements).toEqual([expect.stringContaining('ADD COLUMN')])
  }

  it('migrationPlan() and migrate() report a retyped field per column, and change nothing', async () => {
    await oldTable()
    const db = open()
    newModel(db)
    expectDrift(await rejection(db.migrationPlan()))
    expectDrift(await rejection(db.migrate()))
    // Nothing was added: the drift stops the whole migration.
    const columns = await rawQuery(kind, target.url, kind.dialect === 'sqlite' ? `SELECT name FROM pragma_table_info('products')` : `SELECT column_name AS name FROM information_schema.columns WHERE table_name = 'products' AND table_schema = ${kind.dialect === 'mysql' ? 'DATABASE()' : 'current_schema()'}`)
    expect(columns.map((c) => String(c.name ?? c.NAME))).not.toContain('sku')
  })

  it('first use fails with the same report instead of coercing or failing on a cast (autoMigrate on and off)', async () => {
    await oldTable()
    for (const autoMigrate of [true, false]) {
      const db = open({ autoMigrate })
      const Product = newModel(db)
      expectDrift(await rejection(Product.create({ id: 'p2', name: 'Ink', code: '0042', price: 2 })))
      expectDrift(await rejection(Product.list()))
      await db.close()
    }
    // The old row is untouched, and no new row slipped in.
    const rows = await rawQuery(kind, target.url, 'SELECT id FROM products')
    expect(rows.map((r) => r.id)).toEqual(['p1'])
  })

  it('names the fix for this database', async () => {
    await oldTable()
    const db = open()
    newModel(db)
    const error = await rejection(db.migrate())
    const [drift] = error.details.drift as { fix: string }[]
    const fix = { sqlite: /cannot change a column's type in place: create a new table/, postgres: /ALTER TABLE "products" ALTER COLUMN "code" TYPE TEXT USING "code"::TEXT/, mysql: /ALTER TABLE `products` MODIFY `code` LONGTEXT NOT NULL/ }[kind.dialect]
    expect(drift?.fix).toMatch(fix)
    expect(error.message).toMatch(fix)
  })

  it('lists every drifted column of every model', async () => {
    const before = open()
    before.model('Product', { id: z.string(), code: z.number(), active: z.boolean() })
    before.model('Tag', { label: z.string() })
    await before.migrate()
    await before.close()
    const db = open()
    db.model('Product', { id: z.number().int(), code: z.string(), active: z.boolean() })
    db.model('Tag', { label: z.number() })
    const error = await rejection(db.migrationPlan())
    expect((error.details.drift as { table: string; column: string }[]).map((d) => `${d.table}.${d.column}`)).toEqual(['products.id', 'products.code', 'tags.label'])
    expect(error.message).toMatch(/^3 columns have a type/)
  })

  it('accepts columns of the same family however they are spelled (tables made by hand or by the source system)', async () => {
    const ddl = {
      sqlite: 'CREATE TABLE items (id INTEGER PRIMARY KEY, name VARCHAR(80), qty INT, price NUMERIC, weight DOUBLE, flag BOOLEAN, seen DATETIME, meta JSON, created_at TIMESTAMP, updated_at TIMESTAMP)',
      postgres: 'CREATE TABLE items (id SERIAL PRIMARY KEY, name VARCHAR(80), qty INTEGER, price NUMERIC(10, 2), weight REAL, flag BOOLEAN, seen TIMESTAMP, meta JSON, created_at TIMESTAMP, updated_at TIMESTAMP)',
      mysql: 'CREATE TABLE items (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(80), qty INT, price DECIMAL(10, 2), weight FLOAT, flag BOOLEAN, seen TIMESTAMP NULL, meta JSON, created_at DATETIME, updated_at DATETIME)',
    }[kind.dialect]
    if (kind.dialect === 'postgres') await rawQuery(kind, target.url, `CREATE SCHEMA IF NOT EXISTS "${new URL(target.url).searchParams.get('schema') ?? 'public'}"`)
    await rawQuery(kind, target.url, ddl)
    const db = open()
    const Item = db.model('Item', { name: z.string(), qty: z.number().int(), price: z.number(), weight: z.number(), flag: z.boolean(), seen: z.date().optional(), meta: z.record(z.string(), z.number()) })
    expect((await db.migrationPlan()).statements).toEqual([])
    const created = await Item.create({ name: 'Bolt', qty: 3, price: 0.25, weight: 2, flag: true, meta: { a: 1 } })
    expect(await Item.read({ id: created.id })).toMatchObject({ name: 'Bolt', qty: 3, price: 0.25, flag: true, meta: { a: 1 } })
  })
}

for (const kind of TARGETS) {
  describe.skipIf(kind.base === undefined)(suiteTitle(kind, 'DataFlow schema drift'), () => driftSuite(kind))
}
