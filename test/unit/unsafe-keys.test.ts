import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { FORBIDDEN_KEYS, MAX_INPUT_DEPTH, MAX_KEY_LENGTH, unsafeKeyAt } from '../../src/protocol/json.js'

/** A JSON value as a body parses to, with `{ [key]: 1 }` placed at the end of `path` (object keys and array indexes). */
function withKeyAt(path: readonly (string | number)[], key: string): unknown {
  let text = `{${JSON.stringify(key)}:1}`
  for (const step of [...path].reverse()) text = typeof step === 'number' ? `[${'0,'.repeat(step)}${text}]` : `{"ok":true,${JSON.stringify(step)}:${text}}`
  return JSON.parse(text)
}

const pathStep = fc.oneof(fc.integer({ min: 0, max: 3 }), fc.constantFrom('a', 'inputs', 'deep_key'))

describe('unsafeKeyAt', () => {
  it('finds nothing in bodies whose keys are all short and ordinary', () => {
    const ordinary = fc.string({ maxLength: 20 }).filter((key) => !FORBIDDEN_KEYS.has(key))
    // fc.jsonValue may make any key, prototype keys too: values with one anywhere are left out.
    const ordinaryJson = (maxDepth: number) => fc.jsonValue({ maxDepth }).filter((value) => !/"(__proto__|constructor|prototype)":/.test(JSON.stringify(value)))
    fc.assert(fc.property(ordinaryJson(6).map((value) => JSON.parse(JSON.stringify(value)) as unknown), fc.dictionary(ordinary, ordinaryJson(3)), (value, extra) => {
      expect(unsafeKeyAt(value)).toBeUndefined()
      expect(unsafeKeyAt({ value, ...extra })).toBeUndefined()
    }))
  })

  it('finds a prototype key or an over-long key wherever it is, naming where', () => {
    fc.assert(
      fc.property(fc.array(pathStep, { maxLength: 8 }), fc.constantFrom(...FORBIDDEN_KEYS, 'k'.repeat(MAX_KEY_LENGTH + 1)), (path, key) => {
        const found = unsafeKeyAt(withKeyAt(path, key))
        expect(found?.reason).toBe(key.length > MAX_KEY_LENGTH ? 'length' : 'prototype')
        expect(found?.path).toBe(path.map((step) => (typeof step === 'number' ? `[${step}]` : `.${step}`)).join(''))
      }),
    )
  })

  it(`refuses nesting ${MAX_INPUT_DEPTH} deep, in arrays or objects`, () => {
    expect(unsafeKeyAt(JSON.parse(`${'['.repeat(MAX_INPUT_DEPTH + 1)}${']'.repeat(MAX_INPUT_DEPTH + 1)}`))?.reason).toBe('depth')
    expect(unsafeKeyAt(JSON.parse(`${'{"a":'.repeat(MAX_INPUT_DEPTH + 1)}1${'}'.repeat(MAX_INPUT_DEPTH + 1)}`))?.reason).toBe('depth')
    expect(unsafeKeyAt(JSON.parse(`${'['.repeat(MAX_INPUT_DEPTH - 1)}${']'.repeat(MAX_INPUT_DEPTH - 1)}`))).toBeUndefined()
  })
})
