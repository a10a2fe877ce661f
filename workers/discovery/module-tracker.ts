import Module, { createRequire, register } from 'node:module'
import { fileURLToPath } from 'node:url'
import { MessageChannel, type MessagePort } from 'node:worker_threads'

/** Called (by the prologue loader-hooks.mjs puts in each local ES module) when that module starts evaluating. */
export const EVALUATING = Symbol.for('nexflow.discovery.evaluating')

/** Tracking of one import. */
interface Session {
  onLoading: (path: string) => void
  /** Local CommonJS files loaded (ES modules are listed by the loader hooks). */
  commonjs: Set<string>
}

/**
 * Knows which local files (inside the root, outside node_modules) an import loads, and which one
 * is evaluating at any moment.
 *
 * - ES modules: the loader hooks (workers/discovery/loader-hooks.mjs) give each import its own
 *   namespace, list the files resolved in it, and prefix each module with a call that reports
 *   "now evaluating".
 * - CommonJS (`require`, .cts/.cjs, TypeScript compiled to CommonJS by tsx):
 *   `Module.prototype.load` is wrapped to report each local file as it loads, and local entries
 *   of `require.cache` are dropped between imports so every file gets fresh copies too.
 */
export class ModuleTracker {
  readonly #root: string
  readonly #port: MessagePort
  readonly #pending = new Map<string, (files: string[]) => void>()
  readonly #requireCache = createRequire(import.meta.url).cache
  #session: Session | undefined
  #next = 0

  /** Registers the loader hooks; call once per worker, after tsx is registered. */
  constructor(root: string, hooksUrl: string) {
    this.#root = root.endsWith('/') ? root : `${root}/`
    const { port1, port2 } = new MessageChannel()
    register(hooksUrl, { data: { root, port: port2 }, transferList: [port2] })
    this.#port = port1
    this.#port.on('message', (message: { type?: string; namespace?: string; files?: string[] }) => {
      if (message.type !== 'taken' || message.namespace === undefined) return
      this.#pending.get(message.namespace)?.(message.files ?? [])
      this.#pending.delete(message.namespace)
    })
    this.#port.unref()
    this.#installPrologueTarget()
    this.#wrapCommonJsLoad()
  }

  isLocal(path: string): boolean {
    return path.startsWith(this.#root) && !path.includes('/node_modules/')
  }

  /** Starts tracking an import; returns the namespace to add to its URL. */
  begin(onLoading: (path: string) => void): string {
    this.#dropLocalCommonJs()
    this.#session = { onLoading, commonjs: new Set() }
    return String(++this.#next)
  }

  /** Ends the tracking started by {@link begin}: the local files the import loaded, sorted. */
  async end(namespace: string): Promise<string[]> {
    const session = this.#session
    this.#session = undefined
    const esm = await new Promise<string[]>((resolve) => {
      this.#pending.set(namespace, resolve)
      this.#port.postMessage({ type: 'take', namespace })
    })
    this.#dropLocalCommonJs()
    return [...new Set([...esm, ...(session?.commonjs ?? [])])].sort()
  }

  #installPrologueTarget(): void {
    const report = (url: unknown) => {
      if (this.#session === undefined || typeof url !== 'string') return
      this.#session.onLoading(fileURLToPath(url))
    }
    // Not writable: a user module cannot silence it by accident.
    Object.defineProperty(globalThis, EVALUATING, { value: report, writable: false, configurable: false, enumerable: false })
  }

  #wrapCommonJsLoad(): void {
    const proto = Module.prototype as unknown as { load: (this: unknown, filename: string) => unknown }
    const original = proto.load
    const stack: string[] = []
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const tracker = this
    proto.load = function load(this: unknown, filename: string) {
      const session = tracker.#session
      if (session === undefined || !tracker.isLocal(filename)) return original.call(this, filename)
      session.commonjs.add(filename)
      stack.push(filename)
      session.onLoading(filename)
      try {
        return original.call(this, filename)
      } finally {
        stack.pop()
        const parent = stack.at(-1)
        if (parent !== undefined) tracker.#session?.onLoading(parent)
      }
    }
  }

  #dropLocalCommonJs(): void {
    for (const key of Object.keys(this.#requireCache)) {
      if (this.isLocal(key)) delete this.#requireCache[key]
    }
  }
}
