import Module, { register } from 'node:module'
import { fileURLToPath } from 'node:url'
import { MessageChannel, receiveMessageOnPort, type MessagePort } from 'node:worker_threads'
import { dataflowInstances, type DescribableDataFlow } from '../../src/dataflow/instances.js'

/** Called (by the prologue loader-hooks.mjs puts in each local ES module) when that module starts evaluating. */
export const EVALUATING = Symbol.for('nexflow.discovery.evaluating')

/** What one import depends on. */
export interface ImportGraph {
  /** Local files the import needs, directly or not, without the file itself; sorted. */
  imports: string[]
  /** DataFlow instances created by evaluating the file or any of those imports. */
  dataflows: DescribableDataFlow[]
}

/**
 * Knows, for any file a worker imports, which local files (inside the root, outside
 * node_modules) it depends on and which DataFlow instances those modules created, even when the
 * modules were evaluated earlier for another file: a worker evaluates each module once, as the
 * application itself would, so side effects at import (a models module that migrates) happen
 * once per worker, not once per file.
 *
 * - The graph: edges between local ES modules are recorded by the loader hooks
 *   (workers/discovery/loader-hooks.mjs); CommonJS edges here, by wrapping `Module._load`
 *   (every `require()`, cached or not).
 * - The owner: the local module evaluating right now, reported by the prologue the hooks put in
 *   each local ES module, or by `Module.prototype.load` for CommonJS. It is what a hang is blamed on,
 *   and it owns the DataFlow instances that appear in the registry while it evaluates. ES modules
 *   evaluate their dependencies first, so a module's own body runs between its prologue and the
 *   next one. (Instances a module creates later, from a timer, go to whichever module is
 *   evaluating then; instances created by node_modules go to the local module that imported them.)
 */
export class ModuleTracker {
  readonly #root: string
  readonly #port: MessagePort
  readonly #edges = new Map<string, Set<string>>()
  readonly #registry = dataflowInstances()
  readonly #owned = new Map<string, DescribableDataFlow[]>()
  readonly #attributed = new Set<DescribableDataFlow>()
  #owner: string | undefined
  #onLoading: ((path: string) => void) | undefined

  /** Registers the loader hooks; call once per worker, after tsx is registered. */
  constructor(root: string, hooksUrl: string) {
    this.#root = root.endsWith('/') ? root : `${root}/`
    const { port1, port2 } = new MessageChannel()
    register(hooksUrl, { data: { root, port: port2 }, transferList: [port2] })
    // Never started (no 'message' listener): its queue is read with receiveMessageOnPort, and it
    // keeps nothing alive.
    this.#port = port1
    this.#installPrologueTarget()
    this.#wrapCommonJsLoad()
  }

  isLocal(path: string): boolean {
    return path.startsWith(this.#root) && !path.includes('/node_modules/')
  }

  /** Starts an import of `file`; `onLoading` hears of each local module that starts evaluating. */
  begin(file: string, onLoading: (path: string) => void): void {
    this.#becomeOwner(file)
    this.#onLoading = onLoading
  }

  /** Ends the import started by {@link begin}: what `file` depends on. */
  end(file: string): ImportGraph {
    this.#becomeOwner(undefined)
    this.#onLoading = undefined
    this.#receiveEdges()
    const closure = this.#closure(file)
    const dataflows = [file, ...closure].flatMap((path) => this.#owned.get(path) ?? [])
    return { imports: closure, dataflows }
  }

  /** Local files `file` depends on, directly or not, sorted. */
  #closure(file: string): string[] {
    const seen = new Set([file])
    const stack = [file]
    for (let path = stack.pop(); path !== undefined; path = stack.pop()) {
      for (const child of this.#edges.get(path) ?? []) {
        if (seen.has(child)) continue
        seen.add(child)
        stack.push(child)
      }
    }
    seen.delete(file)
    return [...seen].sort()
  }

  /**
   * The edges the loader hooks posted. Each was posted before the resolution that found it
   * returned, so once an import has settled, every edge it caused is already queued here.
   */
  #receiveEdges(): void {
    for (let received = receiveMessageOnPort(this.#port); received !== undefined; received = receiveMessageOnPort(this.#port)) {
      const edge = received.message as unknown
      if (Array.isArray(edge) && typeof edge[0] === 'string' && typeof edge[1] === 'string') this.#addEdge(edge[0], edge[1])
    }
  }

  #addEdge(parent: string, child: string): void {
    if (parent === child) return
    let children = this.#edges.get(parent)
    if (children === undefined) this.#edges.set(parent, (children = new Set()))
    children.add(child)
  }

  /** Gives the instances that appeared since the last change of owner to the owner, then changes it. */
  #becomeOwner(next: string | undefined): void {
    if (this.#registry.size > this.#attributed.size) {
      for (const instance of this.#registry) {
        if (this.#attributed.has(instance)) continue
        this.#attributed.add(instance)
        if (this.#owner === undefined) continue
        let owned = this.#owned.get(this.#owner)
        if (owned === undefined) this.#owned.set(this.#owner, (owned = []))
        owned.push(instance)
      }
    }
    this.#owner = next
  }

  #evaluating(path: string): void {
    this.#becomeOwner(path)
    this.#onLoading?.(path)
  }

  #installPrologueTarget(): void {
    const report = (url: unknown) => {
      if (typeof url === 'string' && url.startsWith('file:')) this.#evaluating(fileURLToPath(url))
    }
    // Not writable: a user module cannot silence it by accident.
    Object.defineProperty(globalThis, EVALUATING, { value: report, writable: false, configurable: false, enumerable: false })
  }

  #wrapCommonJsLoad(): void {
    type Parent = { filename?: string | null } | null | undefined
    const internals = Module as unknown as {
      _load: (request: string, parent: Parent, isMain: boolean) => unknown
      _resolveFilename: (request: string, parent: Parent, isMain: boolean) => string
    }
    const proto = Module.prototype as unknown as { load: (this: unknown, filename: string) => unknown }
    const originalLoad = internals._load
    const originalEvaluate = proto.load
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const tracker = this

    // Every require(), also of a module already cached: the edge from the requiring file.
    internals._load = function _load(this: unknown, request: string, parent: Parent, isMain: boolean) {
      const from = parent?.filename
      if (typeof from === 'string' && tracker.isLocal(from)) {
        try {
          const to = internals._resolveFilename(request, parent, isMain)
          if (tracker.isLocal(to)) tracker.#addEdge(from, to)
        } catch {
          // Not resolvable: the original load throws the error the user should see.
        }
      }
      return originalLoad.call(this, request, parent, isMain)
    }

    // A CommonJS module's first (and only) evaluation.
    proto.load = function load(this: unknown, filename: string) {
      if (!tracker.isLocal(filename)) return originalEvaluate.call(this, filename)
      const previous = tracker.#owner
      tracker.#evaluating(filename)
      try {
        return originalEvaluate.call(this, filename)
      } finally {
        // The requiring module carries on: it owns what is created from here.
        tracker.#becomeOwner(previous)
        if (previous !== undefined) tracker.#onLoading?.(previous)
      }
    }
  }
}
