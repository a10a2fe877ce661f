import type { DataFlowManifest } from '../protocol/dataflow-manifest.js'

/**
 * Every DataFlow created in this thread, by any copy of the package, registers itself under this
 * key on construction, so discovery also finds instances a module created but did not export.
 */
export const DATAFLOW_INSTANCES = Symbol.for('nexflow.dataflow.instances')

/** What discovery needs from a DataFlow instance: a pure description, no I/O. */
export interface DescribableDataFlow {
  toManifest(): DataFlowManifest
}

/** The per-thread registry: a set you can add to and remove from, read like a `ReadonlySet`. */
export interface DataFlowInstanceSet extends ReadonlySet<DescribableDataFlow> {
  add(instance: DescribableDataFlow): this
  delete(instance: DescribableDataFlow): boolean
}

/**
 * A set that holds its members weakly. The registry exists so discovery can describe instances;
 * it must not be what keeps an app's DataFlow (its driver, its cache, its models) alive. An
 * instance no one references any more leaves on its own, as one that is closed does at once.
 * Reads (`size`, iteration) see only live members, each a snapshot taken when read.
 */
class WeakInstanceSet implements DataFlowInstanceSet {
  readonly #refs = new Set<WeakRef<DescribableDataFlow>>()
  readonly #index = new WeakMap<DescribableDataFlow, WeakRef<DescribableDataFlow>>()
  // Drops the WeakRef of a collected member, so the set does not grow with dead entries.
  readonly #finalizer = new FinalizationRegistry<WeakRef<DescribableDataFlow>>((ref) => this.#refs.delete(ref))

  add(instance: DescribableDataFlow): this {
    if (this.#index.has(instance)) return this
    const ref = new WeakRef(instance)
    this.#refs.add(ref)
    this.#index.set(instance, ref)
    this.#finalizer.register(instance, ref, ref)
    return this
  }

  delete(instance: DescribableDataFlow): boolean {
    const ref = this.#index.get(instance)
    if (ref === undefined) return false
    this.#index.delete(instance)
    this.#refs.delete(ref)
    this.#finalizer.unregister(ref)
    return true
  }

  has(value: unknown): boolean {
    return typeof value === 'object' && value !== null && this.#index.has(value as DescribableDataFlow)
  }

  get size(): number {
    return this.#live().size
  }

  forEach(callback: (value: DescribableDataFlow, key: DescribableDataFlow, set: ReadonlySet<DescribableDataFlow>) => void, thisArg?: unknown): void {
    for (const instance of this.#live()) callback.call(thisArg, instance, instance, this)
  }

  entries(): SetIterator<[DescribableDataFlow, DescribableDataFlow]> {
    return this.#live().entries()
  }

  keys(): SetIterator<DescribableDataFlow> {
    return this.#live().keys()
  }

  values(): SetIterator<DescribableDataFlow> {
    return this.#live().values()
  }

  [Symbol.iterator](): SetIterator<DescribableDataFlow> {
    return this.#live().values()
  }

  /** The members still alive, in the order they were added. */
  #live(): Set<DescribableDataFlow> {
    const live = new Set<DescribableDataFlow>()
    for (const ref of this.#refs) {
      const instance = ref.deref()
      if (instance === undefined) this.#refs.delete(ref)
      else live.add(instance)
    }
    return live
  }
}

/**
 * The per-thread registry of live DataFlow instances (see {@link DATAFLOW_INSTANCES}), shared by
 * every copy of the package loaded in the thread. Members are held weakly: registering never
 * keeps an instance alive, and `close()` removes one at once.
 */
export function dataflowInstances(): DataFlowInstanceSet {
  const holder = globalThis as { [DATAFLOW_INSTANCES]?: DataFlowInstanceSet }
  return (holder[DATAFLOW_INSTANCES] ??= new WeakInstanceSet())
}
