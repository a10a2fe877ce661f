// @ts-check
// module.register() hooks of a discovery worker. They run on the worker's loader thread, after
// tsx's hooks have resolved and compiled a module. Plain JavaScript: Node loads hooks modules
// without the hooks registered before them, so TypeScript is not available here.
//
// 1. Namespacing. The worker imports candidate N as `file.ts?nexflow-discovery=N`. Every local
//    module (inside the root, outside node_modules) resolved from a namespaced parent gets the
//    same query, so each candidate evaluates its own copy of the local modules it imports: its
//    manifest (workflows, DataFlow models) depends on its own import graph only, never on which
//    file the same worker imported before. node_modules and files outside the root stay shared.
// 2. Tracking. Each namespaced local file is recorded; the worker takes the list when the import
//    is over (`{ type: 'take', namespace }` on the port from `initialize`).
// 3. Blame. Each local ES module's source starts with a call (on its first line, so line numbers
//    do not move) that tells the worker "this module starts evaluating now". The worker forwards
//    it to the main thread at once, so a hang can be blamed on the module that was loading.
import { fileURLToPath } from 'node:url'

/** Same string as DISCOVERY_NAMESPACE_PARAM in src/protocol/discovery-messages.ts. */
const PARAM = 'nexflow-discovery'
/** Same symbol as EVALUATING in workers/discovery/module-tracker.ts. */
const PROLOGUE = `globalThis[Symbol.for('nexflow.discovery.evaluating')]?.(import.meta.url);`

let rootPrefix = '/'
/** @type {Map<string, Set<string>>} */
const seen = new Map()

/** @param {{ root: string, port: import('node:worker_threads').MessagePort }} data */
export async function initialize(data) {
  rootPrefix = data.root.endsWith('/') ? data.root : `${data.root}/`
  data.port.on('message', (/** @type {{ type: string, namespace: string }} */ message) => {
    if (message?.type !== 'take') return
    const files = [...(seen.get(message.namespace) ?? [])]
    seen.delete(message.namespace)
    data.port.postMessage({ type: 'taken', namespace: message.namespace, files })
  })
  // The worker's import must not wait on this port to let the loader thread idle.
  data.port.unref()
}

/** @param {string} path */
function isLocal(path) {
  return path.startsWith(rootPrefix) && !path.includes('/node_modules/')
}

/** @param {string | undefined} url */
function namespaceOf(url) {
  if (url === undefined || !url.startsWith('file:')) return null
  return new URL(url).searchParams.get(PARAM)
}

/**
 * @param {string} specifier
 * @param {{ parentURL?: string }} context
 * @param {(specifier: string, context: object) => Promise<{ url: string }>} next
 */
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context)
  if (!resolved.url.startsWith('file:')) return resolved
  const url = new URL(resolved.url)
  const namespace = url.searchParams.get(PARAM) ?? namespaceOf(context.parentURL)
  if (namespace === null) return resolved
  const path = fileURLToPath(url)
  if (!isLocal(path)) return resolved
  url.searchParams.set(PARAM, namespace)
  let files = seen.get(namespace)
  if (files === undefined) seen.set(namespace, (files = new Set()))
  files.add(path)
  return { ...resolved, url: url.href }
}

/**
 * @param {string} url
 * @param {object} context
 * @param {(url: string, context: object) => Promise<{ format?: string | null, source?: string | ArrayBuffer | ArrayBufferView | null }>} next
 */
export async function load(url, context, next) {
  const loaded = await next(url, context)
  if (loaded.format !== 'module' || loaded.source == null || namespaceOf(url) === null) return loaded
  const source = typeof loaded.source === 'string' ? loaded.source : Buffer.from(/** @type {ArrayBuffer} */ (loaded.source)).toString('utf8')
  // A hashbang must stay first; put the call at the start of the second line instead.
  if (source.startsWith('#!')) {
    const eol = source.indexOf('\n')
    if (eol === -1) return loaded
    return { ...loaded, source: `${source.slice(0, eol + 1)}${PROLOGUE}${source.slice(eol + 1)}` }
  }
  return { ...loaded, source: PROLOGUE + source }
}
