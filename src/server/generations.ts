import type { ExecutionPool, ExecutionPoolStats } from './execution-pool.js'

/** One set of execution workers and the content of the files they imported. */
export interface Generation {
  readonly id: number
  readonly pool: ExecutionPool
  /** Runs on this generation right now. */
  inFlight: number
}

/**
 * The generations of execution workers. Node cannot unload a module, so a development reload
 * that changes any file starts a new generation (its workers import the files before it is
 * promoted); requests that arrive afterwards run on it, runs in flight finish on the one they
 * started on, and a generation nobody needs any more is closed once it has drained (forced after
 * `drainTimeoutMs`). A workflow whose file broke keeps the generation that has its last good version.
 */
export class Generations {
  readonly #create: () => ExecutionPool
  readonly #inUse: () => Set<number>
  readonly #drainTimeoutMs: number
  readonly #exitGraceMs: number
  readonly #all = new Map<number, Generation>()
  readonly #closing = new Set<Promise<void>>()
  #current: Generation
  #nextId = 1
  /** Development: a pool booted ahead of the next reload (booting is most of a reload's cost). */
  #spare: ExecutionPool | undefined
  readonly #keepSpare: boolean
  #abandonedBefore = 0

  /** `inUse`: the generations served workflows still need (a broken file's last good version). */
  constructor(create: () => ExecutionPool, options: { inUse: () => Set<number>; drainTimeoutMs: number; exitGraceMs: number; keepSpare?: boolean }) {
    this.#create = create
    this.#inUse = options.inUse
    this.#keepSpare = options.keepSpare === true
    this.#drainTimeoutMs = options.drainTimeoutMs
    this.#exitGraceMs = options.exitGraceMs
    this.#current = this.#make()
  }

  get current(): Generation {
    return this.#current
  }

  /** Generations alive, the current one included. */
  get size(): number {
    return this.#all.size
  }

  /** The generation `id` if still alive, else the current one. */
  get(id: number | undefined): Generation {
    return (id === undefined ? undefined : this.#all.get(id)) ?? this.#current
  }

  /** A new generation, not current yet: warm it, then {@link promote} it. */
  prepare(): Generation {
    const spare = this.#spare
    this.#spare = undefined
    return this.#make(spare)
  }

  promote(generation: Generation): void {
    this.#current = generation
    this.bootSpare()
  }

  /** Boots the pool the next reload will use, if spares are kept and there is none. */
  bootSpare(): void {
    if (this.#keepSpare && this.#spare === undefined) this.#spare = this.#create()
  }

  /** Discards a prepared generation that will not be promoted. */
  async discard(generation: Generation): Promise<void> {
    if (generation === this.#current) return
    this.#all.delete(generation.id)
    await generation.pool.close(this.#exitGraceMs)
  }

  /** Counts a run on its generation while it runs; a generation left behind closes when its last run ends. */
  async track<T>(generation: Generation, run: () => Promise<T>): Promise<T> {
    generation.inFlight++
    try {
      return await run()
    } finally {
      generation.inFlight--
      if (generation.inFlight === 0 && generation !== this.#current) this.retire()
    }
  }

  /** Closes every generation that is neither current nor in use: at once when drained, else after the drain bound. */
  retire(): void {
    const inUse = this.#inUse()
    for (const generation of [...this.#all.values()]) {
      if (generation === this.#current || inUse.has(generation.id)) continue
      if (generation.inFlight > 0) {
        this.#forceLater(generation)
        continue
      }
      this.#close(generation)
    }
  }

  stats(): ExecutionPoolStats & { generation: number; generations: number } {
    const current = this.#current.pool.stats
    let abandoned = this.#abandonedBefore
    for (const generation of this.#all.values()) abandoned += generation.pool.stats.abandoned
    return { ...current, abandoned, generation: this.#current.id, generations: this.#all.size }
  }

  /** Closes every generation (in-flight runs are stopped with their workers). */
  async closeAll(): Promise<void> {
    const pools = [...this.#all.values()].map((generation) => generation.pool)
    if (this.#spare !== undefined) pools.push(this.#spare)
    this.#all.clear()
    this.#spare = undefined
    await Promise.all([...pools.map((pool) => pool.close(this.#exitGraceMs)), ...this.#closing])
  }

  #make(pool?: ExecutionPool): Generation {
    const generation: Generation = { id: this.#nextId++, pool: pool ?? this.#create(), inFlight: 0 }
    this.#all.set(generation.id, generation)
    return generation
  }

  #close(generation: Generation): void {
    if (!this.#all.delete(generation.id)) return
    this.#abandonedBefore += generation.pool.stats.abandoned
    const closing = generation.pool.close(this.#exitGraceMs).finally(() => this.#closing.delete(closing))
    this.#closing.add(closing)
  }

  readonly #forced = new WeakSet<Generation>()

  #forceLater(generation: Generation): void {
    if (this.#forced.has(generation)) return
    this.#forced.add(generation)
    const timer = setTimeout(() => {
      if (generation !== this.#current && !this.#inUse().has(generation.id)) this.#close(generation)
    }, this.#drainTimeoutMs)
    timer.unref()
  }
}
