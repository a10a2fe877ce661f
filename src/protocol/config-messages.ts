import { z } from 'zod'
import { serializedErrorSchema } from './discovery.js'

/**
 * What a config file may hold, and the messages of the worker that evaluates one
 * (workers/config-thread.ts). Both sides check options with {@link toConfigData}; the main thread
 * parses every message with {@link configWorkerMessageSchema}: the worker ran user code.
 */

/** Options nest at most this many levels (the options object itself is level 1). */
export const MAX_CONFIG_DEPTH = 64
/** The largest config as JSON text: a `.json` file's size, or a code file's options once serialized. */
export const MAX_CONFIG_BYTES = 1024 * 1024
/** Keys refused anywhere in the options: merging one can change an object's prototype. */
export const FORBIDDEN_CONFIG_KEYS: readonly string[] = Object.freeze(['__proto__', 'constructor', 'prototype'])
/** What every "not plain data" message ends with. */
export const CONFIG_DATA_RULE = `options must be plain data (strings, finite numbers, booleans, null, arrays and plain objects, at most ${MAX_CONFIG_DEPTH} levels deep)`

/** What the config worker is started with (`workerData.init`). */
export interface ConfigWorkerInit {
  /** Absolute path of the config file. */
  file: string
  /** The tsconfig.json tsx should use, if any. */
  tsconfig?: string
}

const article = (word: string) => (/^[aeiouAEIOU]/.test(word) ? `an ${word}` : `a ${word}`)

/** What a value is, in words: `a function`, `a Date`, `an array`, `NaN`. */
export function describeConfigValue(value: unknown): string {
  if (value === null || value === undefined) return String(value)
  if (typeof value === 'number') return Number.isFinite(value) ? 'a number' : String(value)
  if (Array.isArray(value)) return 'an array'
  if (typeof value !== 'object') return article(typeof value)
  const proto = Object.getPrototypeOf(value) as { constructor?: { name?: unknown } } | null
  const name = proto?.constructor?.name
  return typeof name === 'string' && /^[A-Za-z_$][\w$]{0,63}$/.test(name) && name !== 'Object' ? article(name) : 'an object'
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const proto = Object.getPrototypeOf(value) as unknown
  return proto === Object.prototype || proto === null
}

/** `a.b`, `a["x-y"]`, `a[2]`: where a value sits in the options. */
function pathTo(where: string, key: string | number): string {
  if (typeof key === 'number') return `${where}[${key}]`
  if (!/^[A-Za-z_$][\w$]*$/.test(key)) return `${where}[${JSON.stringify(key)}]`
  return where === '' ? key : `${where}.${key}`
}

const cut = (path: string) => (path.length > 200 ? `...${path.slice(-200)}` : path)

class NotConfigData extends Error {}

/**
 * A fresh copy of `value` if it is a valid options object: a plain object of plain data (see
 * {@link CONFIG_DATA_RULE}) without {@link FORBIDDEN_CONFIG_KEYS}; properties set to `undefined`
 * are left out, as `JSON.stringify` does. Otherwise the first problem, in words
 * (`server.onStart is a function`). Each getter is read once, so what is checked is what is
 * copied. Recursive, but never deeper than {@link MAX_CONFIG_DEPTH}; a cycle is too deep.
 */
export function toConfigData(value: unknown): { value: Record<string, unknown> } | { problem: string } {
  if (!isPlainObject(value)) return { problem: `the options are ${describeConfigValue(value)}, not a plain object` }
  try {
    return { value: copyObject(value, '', 1) }
  } catch (thrown) {
    if (thrown instanceof NotConfigData) return { problem: thrown.message }
    // A getter or a Proxy trap threw: a problem of the options too.
    return { problem: `reading the options threw: ${thrown instanceof Error ? `${thrown.name}: ${thrown.message}` : String(thrown)}` }
  }
}

function copyObject(source: Record<string, unknown>, where: string, depth: number): Record<string, unknown> {
  const copy: Record<string, unknown> = {}
  for (const key of Object.keys(source)) {
    const at = pathTo(where, key)
    if (FORBIDDEN_CONFIG_KEYS.includes(key)) throw new NotConfigData(`${cut(at)} is a key named "${key}", which is not allowed (merging it could change a prototype)`)
    const item = source[key]
    // Own data property, even for "__proto__"-like names: never an assignment.
    if (item !== undefined) Object.defineProperty(copy, key, { value: copyItem(item, at, depth), enumerable: true, writable: true, configurable: true })
  }
  return copy
}

function copyItem(item: unknown, at: string, depth: number): unknown {
  if (item === null || typeof item === 'string' || typeof item === 'boolean' || (typeof item === 'number' && Number.isFinite(item))) return item
  const container = Array.isArray(item) || isPlainObject(item)
  if (!container) throw new NotConfigData(`${cut(at)} is ${describeConfigValue(item)}`)
  if (depth + 1 > MAX_CONFIG_DEPTH) throw new NotConfigData(`${cut(at)} nests deeper than ${MAX_CONFIG_DEPTH} levels`)
  if (!Array.isArray(item)) return copyObject(item, at, depth + 1)
  const copy: unknown[] = []
  for (let i = 0; i < item.length; i++) copy.push(copyItem(item[i], pathTo(at, i), depth + 1))
  return copy
}

/** Worker to main. A worker sends "loading", maybe "unsettled", then one "config" or "failed". */
export const configWorkerMessageSchema = z.discriminatedUnion('type', [
  /** The import of the config file begins now: the worker has started. */
  z.object({ type: z.literal('loading') }),
  /**
   * The worker's event loop emptied while the import was pending: a top-level await that nothing
   * left can settle. The thread exits next, unless something still runs after all.
   */
  z.object({ type: z.literal('unsettled') }),
  /** The options the default export held, checked again here: the result is a fresh, valid copy. */
  z.object({
    type: z.literal('config'),
    value: z.unknown().transform((value, ctx) => {
      const data = toConfigData(value)
      if ('value' in data) return data.value
      ctx.addIssue({ code: 'custom', message: data.problem })
      return z.NEVER
    }),
  }),
  /** `threw`: the import threw. `invalid`: the default export is missing or not valid options (`error.message` says how). */
  z.object({ type: z.literal('failed'), reason: z.enum(['threw', 'invalid']), error: serializedErrorSchema }),
])

export type ConfigWorkerMessage = z.input<typeof configWorkerMessageSchema>
export type ParsedConfigWorkerMessage = z.output<typeof configWorkerMessageSchema>
