// @ts-check
// module.register() hooks of a discovery worker. They run on the worker's loader thread, after
// tsx's hooks have resolved and compiled a module. Plain JavaScript: Node loads hooks modules
// without the hooks registered before them, so TypeScript is not available here.
//
// 1. The import graph. Every resolution from a local module (inside the root, outside
//    node_modules) to a local module is an edge. A worker imports many files and evaluates each
//    local module once, so a file imported later finds its dependencies already loaded: the
//    edges recorded when they were first resolved still tell which local files it depends on.
//    Each new edge is posted on the port from `initialize` before the resolution returns, so it
//    is in the worker's queue by the time the import that caused it settles: the worker reads
//    the queue synchronously (receiveMessageOnPort) after each import, without a round trip.
// 2. Blame. Each local ES module's source starts with a call (on its first line, so line numbers
//    do not move) that tells the worker "this module starts evaluating now". The worker forwards
//    it to the main thread at once, so a hang can be blamed on the module that was loading, and
//    attributes DataFlow instances created from then on to that module.
import { fileURLToPath } from 'node:url'

/** Same symbol as EVALUATING in workers/discovery/module-tracker.ts. */
const PROLOGUE = `globalThis[Symbol.for('nexflow.discovery.evaluating')]?.(import.meta.url);`

let rootPrefix = '/'
/** @type {import('node:worker_threads').MessagePort | undefined} */
let port
/** Edges posted already, as `parent\0child`: each is sent once. */
const posted = new Set()

/** @param {{ root: string, port: import('node:worker_threads').MessagePort }} data */
export async function initialize(data) {
  rootPrefix = data.root.endsWith('/') ? data.root : `${data.root}/`
  port = data.port
  // The port must not keep the loader thread (and so the worker) alive on its own.
  port.unref()
}

/** @param {string | undefined} url */
function localPath(url) {
  if (url === undefined || !url.startsWith('file:')) return undefined
  const path = fileURLToPath(url)
  return path.startsWith(rootPrefix) && !path.includes('/node_modules/') ? path : undefined
}

/**
 * @param {string} specifier
 * @param {{ parentURL?: string }} context
 * @param {(specifier: string, context: object) => Promise<{ url: string }>} next
 */
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context)
  const parent = localPath(context.parentURL)
  const child = parent === undefined ? undefined : localPath(resolved.url)
  if (parent !== undefined && child !== undefined && parent !== child) {
    const key = `${parent}\0${child}`
    if (!posted.has(key)) {
      posted.add(key)
      port?.postMessage([parent, child])
    }
  }
  return resolved
}

/**
 * @param {string} url
 * @param {object} context
 * @param {(url: string, context: object) => Promise<{ format?: string | null, source?: string | ArrayBuffer | ArrayBufferView | null }>} next
 */
export async function load(url, context, next) {
  const loaded = await next(url, context)
  if (loaded.format !== 'module' || loaded.source == null || localPath(url) === undefined) return loaded
  const source = typeof loaded.source === 'string' ? loaded.source : Buffer.from(/** @type {ArrayBuffer} */ (loaded.source)).toString('utf8')
  // A hashbang must stay first; put the call at the start of the second line instead.
  if (source.startsWith('#!')) {
    const eol = source.indexOf('\n')
    if (eol === -1) return loaded
    return { ...loaded, source: `${source.slice(0, eol + 1)}${PROLOGUE}${source.slice(eol + 1)}` }
  }
  return { ...loaded, source: PROLOGUE + source }
}
