import { describe, expect, it } from 'vitest'
import { HTTP_STATUS_BY_CODE, NexflowError, serializeError, toNexflowError, ValidationError } from '../../src/index.js'

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
