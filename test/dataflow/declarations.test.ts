// Regression (issue 9): declaring a model twice on one DataFlow silently replaced the first, and
// two models mapping to one table (`user` and `User` both -> `users`) were both accepted.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { DataFlow, NexflowError, NodeRegistry } from '../../src/index.js'

const memory = (registry = new NodeRegistry()) => new DataFlow({ databaseUrl: 'sqlite::memory:', registry, slowQueryMs: null })

function thrown(fn: () => unknown): NexflowError {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(NexflowError)
    return error as NexflowError
  }
  throw new Error('expected a NexflowError')
}

describe('a model is declared once per DataFlow', () => {
  it('refuses a second declaration of the same name, keeping the first', async () => {
    const registry = new NodeRegistry()
    const db = memory(registry)
    const first = db.model('Item', { a: z.string() })
    const error = thrown(() => db.model('Item', { a: z.string(), b: z.number().optional() }))
    expect(error.code).toBe('CONFIG_INVALID')
    expect(error.message).toMatch(/Model "Item" is declared twice on this DataFlow \(sqlite::memory:\)/)
    expect(error.details).toMatchObject({ model: 'Item', otherModel: 'Item', table: 'items' })
    expect(registry.get('ItemCreateNode')).toBe(first.nodes.Create)
    expect(db.getModel('Item')).toBe(first)
    await first.create({ a: 'x' })
    expect((await first.list()).records).toHaveLength(1)
    await db.close()
  })

  it('refuses two models that map to the same default table, naming both', async () => {
    const registry = new NodeRegistry()
    const db = memory(registry)
    db.model('user', { name: z.string() })
    const error = thrown(() => db.model('User', { email: z.string() }))
    expect(error.code).toBe('CONFIG_INVALID')
    expect(error.message).toContain('Models "user" and "User" both map to table "users"')
    expect(error.message).toContain('{ tableName }')
    expect(error.details).toMatchObject({ model: 'User', otherModel: 'user', table: 'users' })
    // Nothing of the refused model was registered.
    expect(registry.has('UserCreateNode')).toBe(false)
    expect(db.modelNames()).toEqual(['user'])
    await db.close()
  })

  it('refuses an explicit tableName taken by another model, also when only the case differs', async () => {
    const db = memory()
    db.model('Person', { name: z.string() })
    expect(thrown(() => db.model('Human', { name: z.string() }, { tableName: 'people' })).message).toContain('Models "Person" and "Human" both map to table "people"')
    const error = thrown(() => db.model('Legacy', { name: z.string() }, { tableName: 'People' }))
    expect(error.message).toContain('tables "people" and "People"')
    expect(error.details).toMatchObject({ model: 'Legacy', otherModel: 'Person', table: 'People', otherTable: 'people' })
    // A distinct table is fine.
    db.model('Human', { name: z.string() }, { tableName: 'humans' })
    expect(db.modelNames()).toEqual(['Person', 'Human'])
    await db.close()
  })

  it("refuses a model mapped to one of DataFlow's own tables", async () => {
    const db = memory()
    expect(thrown(() => db.model('DataflowMigration', { a: z.string() })).message).toMatch(/table "dataflow_migrations", which DataFlow keeps for its own bookkeeping/)
    expect(thrown(() => db.model('Registry', { a: z.string() }, { tableName: 'dataflow_model_registry' })).code).toBe('CONFIG_INVALID')
    await db.close()
  })

  it("refuses a model whose node types are another model's (UserBulk's UserBulkCreateNode is User's BulkCreate)", async () => {
    const registry = new NodeRegistry()
    const db = memory(registry)
    const User = db.model('User', { a: z.string() })
    const error = thrown(() => db.model('UserBulk', { a: z.string() }))
    expect(error.code).toBe('NODE_TYPE_DUPLICATE')
    expect(error.message).toContain('node of model "User" of this DataFlow')
    expect(registry.get('UserBulkCreateNode')).toBe(User.nodes.BulkCreate)
    expect(db.modelNames()).toEqual(['User'])
    await db.close()
  })

  it('lets another DataFlow on the same database declare the model again (a module evaluated twice), but not a different model over its node types', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nexflow-declarations-'))
    const registry = new NodeRegistry()
    const url = `sqlite:${join(dir, 'app.db')}`
    const first = new DataFlow({ databaseUrl: url, registry, slowQueryMs: null })
    const second = new DataFlow({ databaseUrl: url, registry, slowQueryMs: null })
    try {
      const User = first.model('User', { a: z.string() })
      const again = second.model('User', { a: z.string() })
      expect(registry.get('UserCreateNode')).toBe(again.nodes.Create)
      expect(User.nodes.Create).not.toBe(again.nodes.Create)
      const error = thrown(() => second.model('UserBulk', { a: z.string() }))
      expect(error.code).toBe('NODE_TYPE_DUPLICATE')
      expect(error.details).toMatchObject({ model: 'UserBulk', otherModel: 'User', type: 'UserBulkCreateNode' })
    } finally {
      await first.close()
      await second.close()
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('loadModels() refuses stored models that clash, loading none of them', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nexflow-declarations-'))
    const url = `sqlite:${join(dir, 'app.db')}`
    const writer = new DataFlow({ databaseUrl: url, registry: new NodeRegistry(), enableModelPersistence: true, slowQueryMs: null })
    const reader = new DataFlow({ databaseUrl: url, registry: new NodeRegistry(), slowQueryMs: null })
    try {
      writer.model('Order', { total: z.number() })
      writer.model('user', { name: z.string() })
      await writer.migrate()
      reader.model('User', { email: z.string() })
      const error = await reader.loadModels().then(
        () => undefined,
        (e: unknown) => e as NexflowError,
      )
      expect(error?.code).toBe('CONFIG_INVALID')
      expect(error?.message).toContain('Models "User" and "user" both map to table "users"')
      expect(reader.modelNames()).toEqual(['User'])
    } finally {
      await writer.close()
      await reader.close()
      await rm(dir, { recursive: true, force: true })
    }
  })
})
