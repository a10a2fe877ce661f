import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { DataFlow, defaultTableName, defineNode, LocalRuntime, NexflowError, NodeRegistry, WorkflowBuilder } from '../../src/index.js'
import { dataflowInstances } from '../../src/dataflow/instances.js'
import { dataflowManifestSchema } from '../../src/protocol/dataflow-manifest.js'

const memory = (registry = new NodeRegistry(), options: Record<string, unknown> = {}) => new DataFlow({ databaseUrl: 'sqlite::memory:', registry, ...options })

describe('model definitions', () => {
  it('names tables in snake_case plural', () => {
    const cases: Record<string, string> = {
      User: 'users',
      Person: 'people',
      OrderItem: 'order_items',
      Category: 'categories',
      Address: 'addresses',
      Box: 'boxes',
      Status: 'statuses',
      Child: 'children',
      HTTPLog: 'http_logs',
      Day: 'days',
      Leaf: 'leaves',
      SalesPerson: 'sales_people',
      Data: 'data',
      user_profile: 'user_profiles',
    }
    for (const [model, table] of Object.entries(cases)) expect(defaultTableName(model), model).toBe(table)
    const db = memory()
    expect(db.model('Person', { name: z.string() }).tableName).toBe('people')
    expect(db.model('Thing', { name: z.string() }, { tableName: 'legacy_things' }).tableName).toBe('legacy_things')
    void db.close()
  })

  it('maps each zod type to a column kind and describes the model as a valid manifest', () => {
    const db = memory(new NodeRegistry(), { databaseUrl: 'postgresql://app:secret@db.internal:5432/app?schema=tenant' })
    db.model(
      'Everything',
      {
        id: z.string().uuid(),
        text: z.string().max(40),
        email: z.string().email(),
        real: z.number(),
        count: z.number().int().positive(),
        whole: z.int(),
        flag: z.boolean().default(false),
        when: z.coerce.date(),
        kind: z.enum(['a', 'b']),
        literal: z.literal('x'),
        big: z.bigint(),
        doc: z.object({ a: z.string() }),
        list: z.array(z.number()),
        map: z.record(z.string(), z.number()),
        anything: z.unknown(),
        bytes: z.instanceof(Uint8Array),
        buffer: z.instanceof(Buffer),
        maybe: z.string().nullable(),
        later: z.date().optional(),
        fullName: z.string().optional(),
      },
      { indexes: [{ fields: ['email'], unique: true }, { fields: ['kind', 'when'] }] },
    )
    const manifest = db.toManifest()
    expect(() => dataflowManifestSchema.parse(manifest)).not.toThrow()
    expect(manifest.databaseUrl).toBe('postgresql://app:***@db.internal:5432/app?schema=tenant')
    const model = manifest.models[0]!
    expect(model).toMatchObject({ name: 'Everything', tableName: 'everythings', primaryKey: 'text', softDelete: false })
    const kinds = Object.fromEntries(model.fields.map((f) => [f.name, f.kind]))
    expect(kinds).toEqual({
      id: 'string',
      text: 'string',
      email: 'string',
      real: 'number',
      count: 'integer',
      whole: 'integer',
      flag: 'boolean',
      when: 'date',
      kind: 'enum',
      literal: 'enum',
      big: 'bigint',
      doc: 'json',
      list: 'json',
      map: 'json',
      anything: 'json',
      bytes: 'bytes',
      buffer: 'bytes',
      maybe: 'string',
      later: 'date',
      fullName: 'string',
      created_at: 'date',
      updated_at: 'date',
    })
    const field = (name: string) => model.fields.find((f) => f.name === name)!
    expect(field('fullName')).toMatchObject({ column: 'full_name', optional: true })
    expect(field('flag')).toMatchObject({ optional: false, hasDefault: true })
    expect(field('maybe')).toMatchObject({ optional: true })
    expect(field('kind').values).toEqual(['a', 'b'])
    expect(field('id')).toMatchObject({ primaryKey: true })
    expect(model.indexes).toEqual([
      { name: 'uq_everythings_email', fields: ['email'], unique: true },
      { name: 'idx_everythings_kind_when', fields: ['kind', 'when'], unique: false },
    ])
    expect(model.nodeTypes).toHaveLength(11)
    void db.close()
  })

  it('generates an integer key unless the model declares a string id, and maintains timestamps', () => {
    const db = memory()
    const manifest = db.model('Counter', { n: z.number() }).manifest()
    expect(manifest.primaryKey).toBe('integer')
    expect(manifest.fields.map((f) => f.name)).toEqual(['id', 'n', 'created_at', 'updated_at'])
    const declared = db.model('Stamped', { id: z.number().int(), created_at: z.date(), title: z.string() }, { softDelete: true }).manifest()
    expect(declared.primaryKey).toBe('integer')
    expect(declared.fields.map((f) => f.name)).toEqual(['id', 'title', 'created_at', 'updated_at', 'deleted_at'])
    void db.close()
  })

  it('rejects what cannot be stored, naming the model and field', () => {
    const db = memory()
    const cases: [() => unknown, string][] = [
      [() => db.model('Bad', { fn: z.function() as never }), 'field "fn" has zod type "function"'],
      [() => db.model('Bad', { s: z.symbol() }), 'field "s" has zod type "symbol"'],
      [() => db.model('Bad', { c: z.custom<string>(() => true) }), 'custom schema'],
      [() => db.model('Bad', { id: z.boolean() }), '"id" must be a string'],
      [() => db.model('Bad', { created_at: z.string() }), 'must be declared as z.date()'],
      [() => db.model('Bad', { deleted_at: z.date() }), 'softDelete'],
      [() => db.model('Bad', { fullName: z.string(), full_name: z.string() }), 'both map to column "full_name"'],
      [() => db.model('Bad', { a: z.string() }, { indexes: [{ fields: ['b'] }] }), 'index field "b"'],
      [() => db.model('Bad', { a: z.string() }, { indexes: [{ fields: [] }] }), 'at least one field'],
      [() => db.model('1Bad', { a: z.string() }), 'model name'],
      [() => db.model('Bad', { a: 'string' } as never), 'not a zod schema'],
    ]
    for (const [define, message] of cases) {
      expect(define, message).toThrow(NexflowError)
      expect(define, message).toThrow(message)
    }
    expect(db.modelNames()).toEqual([])
    void db.close()
  })

  it('defines 100 models without I/O', async () => {
    // An unreachable server: any I/O during definition would fail or hang.
    const shapes = Array.from({ length: 100 }, () => ({
      id: z.string(),
      email: z.string().email(),
      name: z.string().optional(),
      age: z.number().int(),
      active: z.boolean().default(true),
      at: z.date(),
      meta: z.object({ a: z.number() }).optional(),
    }))
    const rounds: number[] = []
    for (let round = 0; round < 5; round++) {
      const db = new DataFlow({ databaseUrl: 'postgresql://u:p@127.0.0.1:1/none', registry: new NodeRegistry() })
      const start = performance.now()
      for (let i = 0; i < 100; i++) db.model(`Model${i}`, shapes[i]!, { indexes: [{ fields: ['email'], unique: true }] })
      rounds.push(performance.now() - start)
      expect(db.registry.types()).toHaveLength(1100)
      await db.close()
    }
    // A generous bound: it catches I/O (a connection attempt), not speed, which bench/dataflow
    // measures; the best of five rounds, because this machine is shared.
    expect(Math.min(...rounds)).toBeLessThan(250)
  })
})

describe('node registration', () => {
  it('registers the 11 nodes under <Model><Operation>Node with JSON-schema params', () => {
    const registry = new NodeRegistry()
    const db = memory(registry)
    const User = db.model('User', { id: z.string(), email: z.string().email() })
    expect(User.nodeTypes).toEqual([
      'UserCreateNode',
      'UserReadNode',
      'UserUpdateNode',
      'UserDeleteNode',
      'UserListNode',
      'UserCountNode',
      'UserUpsertNode',
      'UserBulkCreateNode',
      'UserBulkUpdateNode',
      'UserBulkDeleteNode',
      'UserBulkUpsertNode',
    ])
    for (const type of User.nodeTypes) expect(registry.get(type)).toBe(User.nodes[type.slice(4, -4) as keyof typeof User.nodes])
    expect(registry.get('UserCreateNode')?.description).toContain('Creates one User')
    // The builder derives a workflow's input schema from node params.
    const wf = new WorkflowBuilder({ registry }).addNode('UserCreateNode', 'c', { id: '${id}', email: '${email}' }).build({ name: 'signup' })
    expect(wf.inputSchema).toMatchObject({ properties: { id: {}, email: {} } })
    void db.close()
  })

  it('into the default registry when none is given, and out of it on close', async () => {
    const db = new DataFlow({ databaseUrl: 'sqlite::memory:' })
    db.model('DefaultRegistryProbe', { v: z.string() })
    const { defaultRegistry } = await import('../../src/index.js')
    expect(defaultRegistry().has('DefaultRegistryProbeCreateNode')).toBe(true)
    await db.close()
    expect(defaultRegistry().has('DefaultRegistryProbeCreateNode')).toBe(false)
  })


  it('lets a second DataFlow on the same database take over (a module imported twice), logging a changed shape', async () => {
    const registry = new NodeRegistry()
    const warnings: string[] = []
    const logger = { warn: (m: string) => warnings.push(m) }
    const url = 'sqlite:/tmp/nexflow-registration-same.db'
    const first = new DataFlow({ databaseUrl: url, registry, logger })
    const second = new DataFlow({ databaseUrl: url, registry, logger })
    const third = new DataFlow({ databaseUrl: url, registry, logger })
    first.model('Item', { a: z.string() })
    const same = second.model('Item', { a: z.string() })
    expect(registry.get('ItemCreateNode')).toBe(same.nodes.Create)
    expect(warnings).toEqual([])
    const changed = third.model('Item', { a: z.string(), b: z.string().optional() })
    expect(registry.get('ItemCreateNode')).toBe(changed.nodes.Create)
    expect(warnings).toEqual([expect.stringContaining('defined again by another DataFlow')])
    // Closing the instances that no longer own the nodes leaves them registered.
    await first.close()
    await second.close()
    expect(registry.get('ItemCreateNode')).toBe(changed.nodes.Create)
    await third.close()
    expect(registry.has('ItemCreateNode')).toBe(false)
  })

  it('refuses to take nodes from a DataFlow on another database, or from a hand-written node', async () => {
    const registry = new NodeRegistry()
    const first = memory(registry)
    const second = memory(registry)
    first.model('Item', { a: z.string() })
    expect(() => second.model('Item', { a: z.string() })).toThrow(/another DataFlow \(database sqlite::memory:\) already registered it/)
    try {
      second.model('Item', { a: z.string() })
    } catch (error) {
      expect((error as NexflowError).code).toBe('NODE_TYPE_DUPLICATE')
    }
    expect(second.modelNames()).toEqual([])
    // Once the owner closes, the name is free.
    await first.close()
    second.model('Item', { a: z.string() })
    registry.register(defineNode({ type: 'GadgetListNode', params: z.object({}), run: () => ({}) }))
    expect(() => second.model('Gadget', { a: z.string() })).toThrow(/not generated by DataFlow/)
    expect(registry.has('GadgetCreateNode')).toBe(false)
    await second.close()
  })
})

describe('lifecycle', () => {
  it('joins the per-thread instance set on construction and leaves it on close', async () => {
    const db = memory()
    expect(dataflowInstances().has(db)).toBe(true)
    await db.close()
    expect(dataflowInstances().has(db)).toBe(false)
    await db.close() // idempotent
    expect(db.closed).toBe(true)
    expect(() => db.model('Late', { a: z.string() })).toThrow(/closed/)
  })

  it('fails calls on a closed instance with a clear error', async () => {
    const registry = new NodeRegistry()
    const db = memory(registry)
    const Item = db.model('Item', { a: z.string() })
    await Item.create({ a: 'x' })
    await db.close()
    await expect(Item.count()).rejects.toThrow(/closed/)
  })

  it('runs generated nodes from any LocalRuntime that shares the registry', async () => {
    const registry = new NodeRegistry()
    const db = memory(registry)
    db.model('Item', { a: z.string() })
    const wf = new WorkflowBuilder({ registry }).addNode('ItemCreateNode', 'c', { a: 'hello' }).addNode('ItemReadNode', 'r').addConnection('c', 'id', 'r', 'id').build({ name: 'items' })
    const { results } = await new LocalRuntime({ registry }).execute(wf)
    expect(results.r).toMatchObject({ a: 'hello', found: true })
    await db.close()
  })
})
