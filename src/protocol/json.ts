import { z } from 'zod'

export type JsonPrimitive = string | number | boolean | null
export type JsonValue = JsonPrimitive | JsonValue[] | { [key: string]: JsonValue }

/** Plain JSON: what may sit in a workflow's params and cross a thread boundary as data. */
export const jsonValueSchema: z.ZodType<JsonValue> = z.lazy(() =>
  z.union([z.string(), z.number().refine(Number.isFinite, 'must be a finite number'), z.boolean(), z.null(), z.array(jsonValueSchema), z.record(z.string(), jsonValueSchema)]),
)

/** Where a value is not plain JSON (a function, a Date, a class instance, NaN), or `undefined` if it is. */
export function findNonJson(value: unknown, path = '$'): string | undefined {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return undefined
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : `${path} (${value})`
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findNonJson(value[i], `${path}[${i}]`)
      if (found !== undefined) return found
    }
    return undefined
  }
  if (typeof value === 'object') {
    const proto = Object.getPrototypeOf(value) as unknown
    if (proto !== Object.prototype && proto !== null) return `${path} (${(value.constructor as { name?: string } | undefined)?.name ?? 'object'} instance)`
    for (const [key, item] of Object.entries(value)) {
      const found = findNonJson(item, `${path}.${key}`)
      if (found !== undefined) return found
    }
    return undefined
  }
  return `${path} (${typeof value})`
}

/** Freezes a value and everything in it, so it can be shared without copies. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const item of Object.values(value)) deepFreeze(item)
  }
  return value
}

/** Keys that reach an object's prototype machinery; never accepted from a remote caller. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype'])

/** Longest key a remote caller may send. */
export const MAX_KEY_LENGTH = 256

/** Deepest nesting a remote caller may send: deeper values overflow recursive code downstream (structured clone, zod). */
export const MAX_INPUT_DEPTH = 64

/**
 * The first key in a parsed JSON value that a remote caller may not send (a prototype key, or a
 * key longer than {@link MAX_KEY_LENGTH}), with its path, or `undefined`. Iterative, so a deeply
 * nested body cannot overflow the stack. Every request's body and inputs pass through here, and
 * nearly all are clean: they are checked first without building any path.
 */
export function unsafeKeyAt(value: unknown): { path: string; key: string; reason: 'prototype' | 'length' | 'depth' } | undefined {
  return hasUnsafeKey(value) ? locateUnsafeKey(value) : undefined
}

/** Whether {@link locateUnsafeKey} would find anything; allocates only its two stacks and each object's key list. */
function hasUnsafeKey(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return false
  const items: object[] = [value]
  const depths: number[] = [0]
  for (let item = items.pop(); item !== undefined; item = items.pop()) {
    const depth = depths.pop() as number
    if (depth >= MAX_INPUT_DEPTH) return true
    if (Array.isArray(item)) {
      for (const element of item as unknown[]) {
        if (element === null || typeof element !== 'object') continue
        items.push(element)
        depths.push(depth + 1)
      }
      continue
    }
    for (const key of Object.keys(item)) {
      if (FORBIDDEN_KEYS.has(key) || key.length > MAX_KEY_LENGTH) return true
      const child = (item as Record<string, unknown>)[key]
      if (child === null || typeof child !== 'object') continue
      items.push(child)
      depths.push(depth + 1)
    }
  }
  return false
}

function locateUnsafeKey(value: unknown): { path: string; key: string; reason: 'prototype' | 'length' | 'depth' } | undefined {
  const stack: [unknown, string, number][] = [[value, '', 0]]
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const [item, path, depth] = next
    if (item === null || typeof item !== 'object') continue
    if (depth >= MAX_INPUT_DEPTH) return { path, key: path.slice(path.lastIndexOf('.') + 1), reason: 'depth' }
    if (Array.isArray(item)) {
      for (let i = 0; i < item.length; i++) stack.push([item[i], `${path}[${i}]`, depth + 1])
      continue
    }
    for (const key of Object.keys(item)) {
      if (FORBIDDEN_KEYS.has(key)) return { path, key, reason: 'prototype' }
      if (key.length > MAX_KEY_LENGTH) return { path, key: `${key.slice(0, 32)}...`, reason: 'length' }
      stack.push([(item as Record<string, unknown>)[key], `${path}.${key}`, depth + 1])
    }
  }
  return undefined
}

/** Why {@link unsafeKeyAt} refused a key, as a message fragment. */
export function unsafeKeyReason(reason: 'prototype' | 'length' | 'depth'): string {
  if (reason === 'prototype') return 'is not accepted (prototype keys are refused)'
  if (reason === 'length') return `is longer than ${MAX_KEY_LENGTH} characters`
  return `nests deeper than ${MAX_INPUT_DEPTH} levels`
}
