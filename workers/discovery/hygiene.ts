import { getHeapStatistics } from 'node:v8'

/**
 * What an import may leave behind that would leak into the next file imported by the same
 * worker. When any of it is found, the worker asks to be replaced (and the file gets a warning).
 */

const WATCHED_GLOBALS = [
  'setTimeout',
  'setInterval',
  'setImmediate',
  'clearTimeout',
  'clearInterval',
  'clearImmediate',
  'queueMicrotask',
  'structuredClone',
  'Promise',
  'JSON',
  'Date',
  'performance',
  'process',
] as const

const WATCHED_PROTOTYPES = { Object: Object.prototype, Array: Array.prototype, Function: Function.prototype, Promise: Promise.prototype, String: String.prototype } as const

/** Resources that keep running after an import: timers, sockets, servers, watchers, child processes. */
const LINGERING_RESOURCE = /^(Timeout|Immediate|TCP|UDP|Pipe|ProcessWrap|FSEvent|StatWatcher|Signal)/

/** Above this share of its heap limit, a worker is replaced before it runs out. */
const HEAP_RETIRE_RATIO = 0.5

export interface HygieneSnapshot {
  globals: Map<string, unknown>
  prototypes: Map<string, number>
  resources: Map<string, number>
}

function countResources(): Map<string, number> {
  const counts = new Map<string, number>()
  for (const type of process.getActiveResourcesInfo()) {
    if (LINGERING_RESOURCE.test(type)) counts.set(type, (counts.get(type) ?? 0) + 1)
  }
  return counts
}

export function takeSnapshot(): HygieneSnapshot {
  const holder = globalThis as unknown as Record<string, unknown>
  return {
    globals: new Map(WATCHED_GLOBALS.map((name) => [name, holder[name]])),
    prototypes: new Map(Object.entries(WATCHED_PROTOTYPES).map(([name, proto]) => [name, Reflect.ownKeys(proto).length])),
    resources: countResources(),
  }
}

/** Problems the import left behind, as warnings for the file; empty when the worker is clean. */
export function leftovers(before: HygieneSnapshot): string[] {
  const holder = globalThis as unknown as Record<string, unknown>
  const problems: string[] = []
  const replaced = [...before.globals].filter(([name, value]) => holder[name] !== value).map(([name]) => name)
  if (replaced.length > 0) problems.push(`the import replaced global ${replaced.join(', ')}`)
  const patched = Object.entries(WATCHED_PROTOTYPES)
    .filter(([name, proto]) => Reflect.ownKeys(proto).length !== before.prototypes.get(name))
    .map(([name]) => `${name}.prototype`)
  if (patched.length > 0) problems.push(`the import changed ${patched.join(', ')}`)
  const added: string[] = []
  for (const [type, count] of countResources()) {
    const extra = count - (before.resources.get(type) ?? 0)
    if (extra > 0) added.push(`${extra} ${type}`)
  }
  if (added.length > 0) problems.push(`the import left ${added.join(', ')} running (a timer, socket or watcher that never stops)`)
  return problems
}

/** Why the worker should be replaced for its own sake (not the file's), if it should. */
export function heapPressure(): string | undefined {
  const { used_heap_size: used, heap_size_limit: limit } = getHeapStatistics()
  return used > limit * HEAP_RETIRE_RATIO ? `heap at ${Math.round(used / 1048576)} of ${Math.round(limit / 1048576)} MB` : undefined
}
