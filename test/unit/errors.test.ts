import { describe, expect, it } from 'vitest'
import { MAX_CAUSE_DEPTH } from '../../src/errors.js'
import { HTTP_STATUS_BY_CODE, NexflowError, serializeError, toNexflowError, ValidationError } from '../../src/index.js'
import { serializedErrorSchema } from '../../src/protocol/discovery.js'

describe('errors', () => {
  it('serializes anything that can be thrown into plain data', () => {
    expect(serializeError(new NexflowError('MISSING_INPUT', 'no x', { details: { input: 'x' } }))).toMatchObject({ name: 'NexflowError', code: 'MISSING_INPUT', message: 'no x', details: { input: 'x' } })
    expect(serializeError(new TypeError('bad'))).toMatchObject({ name: 'TypeError', message: 'bad', stack: expect.stringContaining('TypeError: bad') })
    expect(serializeError('a string')).toEqual({ name: 'NonError', message: 'a string' })
    expect(serializeError(null)).toEqual({ name: 'NonError', message: 'null was thrown' })
    expect(serializeError(undefined)).toEqual({ name: 'NonError', message: 'undefined was thrown' })
    expect(serializeError(42)).toEqual({ name: 'NonError', message: 'number was thrown: 42' })
    expect(serializeError({ reason: 'x' })).toEqual({ name: 'NonError', message: 'object was thrown: {"reason":"x"}' })
    const circular: Record<string, unknown> = {}
    circular.self = circular
    expect(serializeError(circular).message).toBe('object was thrown: [object Object]')
    expect(structuredClone(serializeError(new Error('x')))).toMatchObject({ message: 'x' })
  })

  it('keeps the cause chain, bounded, and codes that are not nexflow\'s', () => {
    const driver = Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' })
    const wrapped = new NexflowError('DATABASE_ERROR', 'could not read users', { cause: driver })
    expect(serializeError(new Error('request failed', { cause: wrapped }))).toMatchObject({
      message: 'request failed',
      cause: { code: 'DATABASE_ERROR', message: 'could not read users', cause: { name: 'Error', code: 'SQLITE_BUSY', message: 'database is locked' } },
    })
    const missing = Object.assign(new Error("Cannot find package 'left-pad'"), { code: 'ERR_MODULE_NOT_FOUND' })
    expect(serializeError(missing).code).toBe('ERR_MODULE_NOT_FOUND')
    expect(serializeError(new Error('thrown', { cause: 'a string' })).cause).toEqual({ name: 'NonError', message: 'a string' })

    // A cycle (or a hostile chain) stops at MAX_CAUSE_DEPTH levels.
    const a = new Error('a')
    const b = new Error('b', { cause: a })
    ;(a as { cause?: unknown }).cause = b
    let depth = 0
    for (let level = serializeError(a).cause; level !== undefined; level = level.cause) depth++
    expect(depth).toBe(MAX_CAUSE_DEPTH)
    // A cause that throws when read costs the cause, not the error.
    const hostile = new Error('outer')
    Object.defineProperty(hostile, 'cause', { get: () => { throw new Error('gotcha') } })
    expect(serializeError(hostile)).toMatchObject({ name: 'Error', message: 'outer' })
    expect(serializeError(new Error('x'.repeat(100)), { maxText: 10 }).message).toBe('xxxxxxxxxx... (90 more characters)')
  })

  it('a worker\'s error keeps its cause chain across the protocol schema, and a chain deeper than the bound is cut', () => {
    const chain = serializeError(new Error('top', { cause: Object.assign(new Error('mid'), { code: 'ECONNREFUSED' }) }))
    expect(serializedErrorSchema.parse(chain)).toMatchObject({ message: 'top', cause: { message: 'mid', code: 'ECONNREFUSED' } })
    let deep: Record<string, unknown> = { name: 'Error', message: 'bottom' }
    for (let i = 0; i < 3000; i++) deep = { name: 'Error', message: `level ${i}`, cause: deep }
    let depth = 0
    for (let level = serializedErrorSchema.parse(deep).cause; level !== undefined; level = level.cause) depth++
    expect(depth).toBe(MAX_CAUSE_DEPTH)
  })

  it('wraps unknown errors once, keeping the original as cause', () => {
    const original = new Error('disk on fire')
    const wrapped = toNexflowError(original)
    expect(wrapped).toMatchObject({ code: 'INTERNAL', message: 'disk on fire', cause: original })
    expect(toNexflowError(wrapped)).toBe(wrapped)
  })

  it('maps each code to one HTTP status; validation failures are 400', () => {
    expect(new ValidationError('bad', []).httpStatus).toBe(400)
    expect(HTTP_STATUS_BY_CODE.WORKFLOW_NOT_FOUND).toBe(404)
  })
})
