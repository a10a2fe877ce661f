// The typed direct calls, checked by the compiler (tsc type-checks the tests) and at run time.
import { describe, expect, expectTypeOf, it } from 'vitest'
import { z } from 'zod'
import { DataFlow, NodeRegistry, type ModelRecord } from '../../src/index.js'

describe('typed direct calls', () => {
  it('infer records, keys and inputs from the zod shape', async () => {
    const db = new DataFlow({ databaseUrl: 'sqlite::memory:', registry: new NodeRegistry() })
    const userShape = { id: z.string(), email: z.string().email(), nickname: z.string().optional(), active: z.boolean().default(true), born: z.date().optional() }
    const User = db.model('User', userShape)
    const Note = db.model('Note', { text: z.string() })

    const created = await User.create({ id: 'u1', email: 'a@x.io' })
    expectTypeOf(created.id).toEqualTypeOf<string>()
    expectTypeOf(created.active).toEqualTypeOf<boolean>()
    expectTypeOf(created.created_at).toEqualTypeOf<Date>()
    expectTypeOf(created).toEqualTypeOf<ModelRecord<typeof userShape>>()
    // @ts-expect-error email is required
    await expect(User.create({ id: 'u2' })).rejects.toThrow(/email/)
    // @ts-expect-error a string key must be supplied
    await expect(User.create({ email: 'b@x.io' })).rejects.toThrow(/id/)

    const note = await Note.create({ text: 'hi' })
    expectTypeOf(note.id).toEqualTypeOf<number>()

    const read = await User.read('u1')
    if (read.found) expectTypeOf(read.email).toEqualTypeOf<string>()
    else expectTypeOf(read.id).toEqualTypeOf<string | null>()
    expect(read.found).toBe(true)

    const listed = await User.list({ filter: { active: true, born: { $lt: new Date() }, $or: [{ email: { $like: '%@x.io' } }] }, orderBy: [{ email: -1 }] })
    expectTypeOf(listed.records).toEqualTypeOf<ModelRecord<typeof userShape>[]>()
    // @ts-expect-error a boolean field compares with booleans
    await expect(User.list({ filter: { active: 'yes' } })).rejects.toThrow(/true or false/)

    const upserted = await User.upsert({ where: { email: 'a@x.io' }, update: { nickname: null } })
    expectTypeOf(upserted.action).toEqualTypeOf<'created' | 'updated'>()
    expect(upserted.record).not.toHaveProperty('nickname')
    await db.close()
  })
})
