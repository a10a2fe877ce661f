import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import type { NexflowError} from '../../../src/index.js';
import { defaultRegistry, defineNode, NodeRegistry } from '../../../src/index.js'

const echo = defineNode({ type: 'Echo', params: z.object({ value: z.string() }), run: ({ value }) => ({ value }) })

describe('NodeRegistry', () => {
  it('holds node types by name', () => {
    const registry = new NodeRegistry()
    registry.register(echo)
    expect(registry.has('Echo')).toBe(true)
    expect(registry.get('Echo')).toBe(echo)
    expect(registry.types()).toEqual(['Echo'])
  })

  it('refuses a second type with the same name unless replacing is asked for', () => {
    const registry = new NodeRegistry()
    registry.register(echo)
    const other = defineNode({ type: 'Echo', params: z.object({}), run: () => ({}) })
    expect(() => registry.register(other)).toThrow(expect.objectContaining({ code: 'NODE_TYPE_DUPLICATE' }))
    expect(registry.get('Echo')).toBe(echo)
    registry.register(other, { replace: true })
    expect(registry.get('Echo')).toBe(other)
  })

  it('registering the same definition twice is harmless', () => {
    const registry = new NodeRegistry()
    registry.register(echo)
    expect(() => registry.register(echo)).not.toThrow()
  })

  it('require() names the unknown type and lists the known ones', () => {
    const registry = new NodeRegistry()
    registry.register(echo)
    const error = (() => {
      try {
        registry.require('Nope')
      } catch (e) {
        return e as NexflowError
      }
      return undefined
    })()
    expect(error?.code).toBe('NODE_TYPE_UNKNOWN')
    expect(error?.message).toContain('"Nope"')
    expect(error?.message).toContain('Echo')
  })

  it('the default registry has the built-in nodes and is one per thread', () => {
    expect(defaultRegistry().types()).toEqual(expect.arrayContaining(['Function', 'HTTPRequest', 'Merge', 'Switch']))
    expect(defaultRegistry()).toBe(defaultRegistry())
  })

  it('defineNode rejects type names that cannot be routed or registered', () => {
    expect(() => defineNode({ type: 'has space', params: z.object({}), run: () => ({}) })).toThrow(/type "has space"/)
  })
})
