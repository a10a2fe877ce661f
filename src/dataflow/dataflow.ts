import { NexflowError } from '../errors.js'
import { dataflowManifestSchema, type DataFlowManifest, type Dialect } from '../protocol/dataflow-manifest.js'
import { deepFreeze, type JsonValue } from '../protocol/json.js'
import { defaultRegistry } from '../workflow/default-registry.js'
import { definingModule } from '../workflow/defining-module.js'
import type { NodeDefinition, NodeOutput } from '../workflow/node.js'
import type { NodeRegistry } from '../workflow/registry.js'
import { cacheKey, cloneResult, QueryCache } from './cache.js'
import { TableCodec } from './codec.js'
import { redactDatabaseUrl } from './database-url.js'
import { toDataflowError } from './database-errors.js'
import { createDriver } from './dialects/create-driver.js'
import type { Driver } from './dialects/dialect.js'
import { TimedDriver } from './dialects/timed-driver.js'
import { dataflowInstances, type DescribableDataFlow } from './instances.js'
import { applyMigrations, MIGRATIONS_MODEL, migrationRequired, planMigrations, type MigrationPlan } from './migrations.js'
import { type DataFlowMetrics, MetricsRecorder } from './metrics.js'
import { defineModelSpec, modelManifest, shapeFromManifest, type ModelOptions, type ModelShape, type ModelSpec, type NodeOperation } from './model.js'
import { Model } from './model-handle.js'
import { MODEL_REGISTRY_MODEL, modelsPersisted, persistModels, readPersistedModels } from './model-registry.js'
import { buildNodeDefinitions, executeOperation, parseParams, WRITE_OPERATIONS } from './nodes.js'
import { claimNodeTypes, releaseNodeTypes, type NodeOwner } from './node-ownership.js'
import type { OperationContext } from './operations.js'
import { resolveDataFlowOptions, type DataFlowOptions, type ResolvedDataFlowOptions } from './options.js'
import { ModelSchemas } from './param-schemas.js'

/** One defined model inside a DataFlow. */
interface ModelState {
  readonly spec: ModelSpec
  readonly schemas: ModelSchemas
  readonly definitions: readonly NodeDefinition[]
  readonly handle: Model
  /** Settles when the table is known to match the model (checked or migrated once per instance). */
  ready: Promise<void> | undefined
  context: OperationContext | undefined
  /** Bumped by every write, so a read that started before a write does not cache its stale result. */
  generation: number
}

/** Tables DataFlow creates for itself; no model may map to them. */
const RESERVED_TABLES: readonly string[] = [MIGRATIONS_MODEL.tableName, MODEL_REGISTRY_MODEL.tableName]
const CACHED_OPERATIONS: ReadonlySet<NodeOperation> = new Set(['Read', 'List', 'Count'])

/** The node type an operation of a model runs as, as metrics name it. */
function nodeType(state: ModelState, op: NodeOperation): string {
  return `${state.spec.name}${op}Node`
}
const SLOW_SQL_SHOWN = 300
let memoryDatabases = 0

/**
 * Models over SQLite, PostgreSQL or MySQL. `db.model(name, zodShape)` generates 11 workflow nodes
 * (`<Model>CreateNode`, ...) and typed direct calls. Creating a DataFlow and defining models does no
 * I/O; the connection is opened, and each model's table checked (or migrated), on first use, in
 * whichever thread uses the instance.
 */
export class DataFlow implements DescribableDataFlow {
  readonly #options: ResolvedDataFlowOptions
  readonly #registry: NodeRegistry
  readonly #models = new Map<string, ModelState>()
  /** Lower-cased table name -> the model that maps to it. */
  readonly #tables = new Map<string, ModelSpec>()
  /** Built on first use after a model is added: discovery describes an instance once per file that imports it. */
  #manifest: DataFlowManifest | undefined
  readonly #owner: Omit<NodeOwner, 'model' | 'signature'>
  readonly #databaseUrl: string
  readonly #cache: QueryCache | undefined
  readonly #metrics: MetricsRecorder | undefined
  readonly #slowQueries = new MetricsRecorder()
  #driver: Driver | undefined
  #state: 'open' | 'closed' = 'open'

  constructor(options: DataFlowOptions = {}) {
    this.#options = resolveDataFlowOptions(options)
    const target = this.#options.target
    this.#databaseUrl = redactDatabaseUrl(target.url)
    this.#registry = this.#options.registry ?? defaultRegistry()
    this.#cache = this.#options.enableCaching ? new QueryCache(this.#options.cacheTtlMs, this.#options.cacheMaxEntries) : undefined
    this.#metrics = this.#options.enableMetrics ? new MetricsRecorder() : undefined
    const database =
      target.dialect === 'sqlite' ? (target.path === ':memory:' ? `sqlite::memory:#${++memoryDatabases}` : `sqlite:${target.path}`) : target.dialect === 'postgres' ? `${target.connectionString}#${target.schema ?? ''}` : target.uri
    this.#owner = { instance: this, database, label: this.#databaseUrl }
    dataflowInstances().add(this)
  }

  /** Which database family this instance talks to. */
  get dialect(): Dialect {
    return this.#options.target.dialect
  }

  /** The database URL with credentials redacted. */
  get databaseUrl(): string {
    return this.#databaseUrl
  }

  /** The registry the generated nodes are registered in. */
  get registry(): NodeRegistry {
    return this.#registry
  }

  get closed(): boolean {
    return this.#state === 'closed'
  }

  /**
   * Defines a model and registers its 11 nodes. Pure: no I/O. Each model is declared once per
   * instance and owns its table: a second declaration of a name, or a model whose table another
   * model of this instance already maps to (`user` and `User` both map to `users`), fails with
   * CONFIG_INVALID naming both. (Another DataFlow on the same database may declare the model again,
   * as a module evaluated twice does: see `claimNodeTypes`.)
   */
  model<S extends ModelShape>(name: string, shape: S, options: ModelOptions = {}): Model<S> {
    this.#assertOpen()
    const spec = defineModelSpec(name, shape, options)
    this.#assertDistinct(spec, (n) => this.#models.has(n), this.#tables)
    const schemas = new ModelSchemas(spec)
    // The nodes and the handle call back into `state`, so it exists first and gets them after.
    const state = { spec, schemas, ready: undefined, context: undefined, generation: 0 } as ModelState
    // Where the model is declared: a server's execution worker imports that file to run its nodes
    // against the same database. Not for an in-memory database: another thread's would be empty.
    const module = this.#options.target.dialect === 'sqlite' && this.#options.target.path === ':memory:' ? undefined : definingModule()
    const definitions = buildNodeDefinitions(schemas, (op, params) => this.#invoke(state, op, params), module)
    const handle = new Model<S>({ spec, definitions, call: (op, input) => this.#invoke(state, op, parseParams(schemas, op, input)) })
    Object.assign(state, { definitions, handle })
    let signature: string | undefined
    const owner: NodeOwner = { ...this.#owner, model: name, signature: () => (signature ??= JSON.stringify(modelManifest(spec))) }
    claimNodeTypes(this.#registry, definitions, owner, this.#options.logger)
    this.#models.set(name, state)
    this.#tables.set(spec.tableName.toLowerCase(), spec)
    this.#manifest = undefined
    return handle
  }

  /**
   * Refuses a model whose name is declared already, or whose table is taken: by another model
   * (`tables`, keyed by lower-cased name) or by DataFlow's own tables.
   */
  #assertDistinct(spec: ModelSpec, isDeclared: (name: string) => boolean, tables: ReadonlyMap<string, ModelSpec>): void {
    const where = `this DataFlow (${this.#databaseUrl})`
    if (isDeclared(spec.name)) {
      throw new NexflowError('CONFIG_INVALID', `Model "${spec.name}" is declared twice on ${where}. Declare each model once; to change it, edit its one declaration.`, {
        details: { model: spec.name, otherModel: spec.name, table: spec.tableName },
      })
    }
    const table = spec.tableName.toLowerCase()
    const other = tables.get(table)
    if (other !== undefined) {
      // SQLite, and MySQL on case-insensitive file systems, treat `users` and `Users` as one table.
      const names = other.tableName === spec.tableName ? `table "${spec.tableName}"` : `tables "${other.tableName}" and "${spec.tableName}" (one table wherever names ignore case)`
      throw new NexflowError('CONFIG_INVALID', `Models "${other.name}" and "${spec.name}" both map to ${names} on ${where}: a table belongs to one model. Rename one of them or give it its own { tableName }.`, {
        details: { model: spec.name, otherModel: other.name, table: spec.tableName, otherTable: other.tableName },
      })
    }
    if (RESERVED_TABLES.includes(table)) {
      throw new NexflowError('CONFIG_INVALID', `Model "${spec.name}" maps to table "${spec.tableName}", which DataFlow keeps for its own bookkeeping. Give the model another name or its own { tableName }.`, {
        details: { model: spec.name, table: spec.tableName },
      })
    }
  }

  /** A model defined on this instance (or loaded with {@link loadModels}). */
  getModel(name: string): Model | undefined {
    return this.#models.get(name)?.handle
  }

  /** Names of the defined models, in definition order. */
  modelNames(): string[] {
    return [...this.#models.keys()]
  }

  /**
   * Creates missing tables, columns and indexes for every model (additive only), holding the
   * migration lock, and records each change in `dataflow_migrations`. With model persistence,
   * also stores the model definitions. Returns what was applied.
   */
  async migrate(): Promise<MigrationPlan> {
    const driver = await this.#open()
    const states = [...this.#models.values()]
    const plan = await this.#applyMigrations(
      driver,
      states.map((s) => s.spec),
    )
    for (const state of states) state.ready ??= Promise.resolve()
    return plan
  }

  /** The DDL `migrate()` would run now, for review. Reads the schema; changes nothing. */
  async migrationPlan(): Promise<MigrationPlan> {
    const driver = await this.#open()
    return planMigrations(
      driver,
      driver.sql,
      [...this.#models.values()].map((s) => s.spec),
    )
  }

  /**
   * Defines the models stored in `dataflow_model_registry` (by another app, usually) that this
   * instance does not define yet. `applicationId` limits them to one app; without it, the most
   * recently stored definition of each name wins.
   */
  async loadModels(options: { applicationId?: string } = {}): Promise<Model[]> {
    if (this.#options.skipRegistry) {
      throw new NexflowError('CONFIG_INVALID', 'loadModels() reads dataflow_model_registry, which this DataFlow was told to skip (skipRegistry: true)')
    }
    const driver = await this.#open()
    const stored = await readPersistedModels(driver, driver.sql, options.applicationId)
    // Checked together before any is defined, so a clash loads nothing.
    const names = new Set(this.#models.keys())
    const tables = new Map(this.#tables)
    const pending: { name: string; shape: ModelShape; options: ModelOptions }[] = []
    for (const { manifest } of stored) {
      if (names.has(manifest.name)) continue
      const { shape, options: modelOptions } = shapeFromManifest(manifest)
      const spec = defineModelSpec(manifest.name, shape, modelOptions)
      this.#assertDistinct(spec, (n) => names.has(n), tables)
      names.add(spec.name)
      tables.set(spec.tableName.toLowerCase(), spec)
      pending.push({ name: manifest.name, shape, options: modelOptions })
    }
    return pending.map((p) => this.model(p.name, p.shape, p.options))
  }

  /** Per-node call counts, errors and latency histograms (with `enableMetrics`), cache statistics and recent slow queries. */
  metrics(): DataFlowMetrics {
    const nodes = this.#metrics?.snapshot().nodes ?? {}
    return {
      enabled: this.#metrics !== undefined,
      nodes,
      cache: { hits: this.#cache?.hits ?? 0, misses: this.#cache?.misses ?? 0, entries: this.#cache?.size() ?? 0 },
      slowQueries: this.#slowQueries.snapshot().slowQueries,
    }
  }

  /** This instance as plain, JSON-safe data (no I/O): what discovery carries between threads. Frozen and shared until a model is added. */
  toManifest(): DataFlowManifest {
    this.#manifest ??= deepFreeze(this.#describe())
    return this.#manifest
  }

  #describe(): DataFlowManifest {
    const o = this.#options
    const options: Record<string, JsonValue> = {
      autoMigrate: o.autoMigrate,
      skipMigration: o.skipMigration,
      skipRegistry: o.skipRegistry,
      enableModelPersistence: o.enableModelPersistence,
      connectionPoolSize: o.connectionPoolSize,
      enableMetrics: o.enableMetrics,
      enableCaching: o.enableCaching,
      cacheTtlMs: o.cacheTtlMs,
      cacheMaxEntries: o.cacheMaxEntries,
      slowQueryMs: o.slowQueryMs,
      migrationLockTimeoutMs: o.migrationLockTimeoutMs,
      applicationId: o.applicationId,
    }
    return dataflowManifestSchema.parse({
      dialect: this.dialect,
      databaseUrl: this.#databaseUrl,
      options,
      models: [...this.#models.values()].map((s) => modelManifest(s.spec)),
    })
  }

  /** Closes the connection or pool, unregisters this instance's nodes and leaves the instance set. Idempotent. */
  async close(): Promise<void> {
    if (this.#state === 'closed') return
    this.#state = 'closed'
    dataflowInstances().delete(this)
    for (const state of this.#models.values()) releaseNodeTypes(this.#registry, state.definitions)
    this.#cache?.clear()
    const driver = this.#driver
    this.#driver = undefined
    await driver?.close()
  }

  #assertOpen(): void {
    if (this.#state === 'closed') throw new NexflowError('DATABASE_ERROR', `This DataFlow (${this.#databaseUrl}) is closed`)
  }

  /** The driver, created and connected on first use in this thread. */
  async #open(): Promise<Driver> {
    this.#assertOpen()
    if (this.#driver === undefined) {
      const inner = createDriver(this.#options.target, this.#options.connectionPoolSize)
      const threshold = this.#options.slowQueryMs
      this.#driver = threshold === null ? inner : new TimedDriver(inner, (sql, ms) => this.#observeStatement(sql, ms, threshold))
    }
    const driver = this.#driver
    try {
      await driver.open()
    } catch (error) {
      throw new NexflowError('DATABASE_ERROR', `Could not connect to ${this.#databaseUrl}: ${error instanceof Error ? error.message : String(error)}`, { cause: error })
    }
    return driver
  }

  #observeStatement(sql: string, ms: number, threshold: number): void {
    if (ms < threshold) return
    const shown = sql.length > SLOW_SQL_SHOWN ? `${sql.slice(0, SLOW_SQL_SHOWN)}...` : sql
    this.#slowQueries.recordSlowQuery(shown, ms)
    this.#options.logger.warn(`[nexflow] slow query on ${this.#databaseUrl}: ${ms.toFixed(1)} ms (slowQueryMs ${threshold}): ${shown}`)
  }

  #applyMigrations(driver: Driver, specs: ModelSpec[]): Promise<MigrationPlan> {
    const persist = this.#options.enableModelPersistence ? (tx: Parameters<typeof persistModels>[0]) => persistModels(tx, driver.sql, specs, this.#options.applicationId) : undefined
    return applyMigrations(driver, specs, this.#options.migrationLockTimeoutMs, persist)
  }

  /**
   * Makes sure the model's table matches it, once per instance: nothing with `skipMigration`;
   * otherwise inspect, then migrate (autoMigrate) or fail with the DDL (MIGRATION_REQUIRED). The
   * inspection runs without the lock, so an up-to-date schema costs a migrator nothing.
   */
  async #ensureSchema(state: ModelState, driver: Driver): Promise<void> {
    const o = this.#options
    if (o.skipMigration) return
    const plan = await planMigrations(driver, driver.sql, [state.spec])
    const pending = plan.models[0]
    if (!o.autoMigrate) {
      if (pending !== undefined) throw migrationRequired(state.spec, pending)
      return
    }
    const needsPersisting = o.enableModelPersistence && !(await modelsPersisted(driver, driver.sql, [state.spec], o.applicationId))
    if (pending === undefined && !needsPersisting) return
    await this.#applyMigrations(driver, [state.spec])
  }

  async #context(state: ModelState): Promise<OperationContext> {
    const driver = await this.#open()
    state.ready ??= this.#ensureSchema(state, driver).catch((error: unknown) => {
      state.ready = undefined
      throw error
    })
    await state.ready
    return (state.context ??= { codec: new TableCodec(state.spec, driver.sql), driver })
  }

  /** Every node run and direct call comes through here: caching, metrics, errors. */
  async #invoke(state: ModelState, op: NodeOperation, params: Record<string, unknown>): Promise<NodeOutput> {
    const metrics = this.#metrics
    // Only metrics read the clock.
    const start = metrics === undefined ? 0 : performance.now()
    const cache = CACHED_OPERATIONS.has(op) ? this.#cache : undefined
    const key = cache === undefined ? '' : cacheKey(op, params)
    try {
      this.#assertOpen()
      if (cache !== undefined) {
        const hit = cache.get(state.spec.name, key)
        if (hit !== undefined) {
          metrics?.record(nodeType(state, op), performance.now() - start, 'cached')
          return cloneResult(hit as NodeOutput)
        }
      }
      const generation = state.generation
      // Once a model's context exists its driver is open and its schema checked: only a closed
      // instance (refused above) changes that.
      const ready = state.context
      const context = ready !== undefined && ready.driver === this.#driver ? ready : await this.#context(state)
      const result = await executeOperation(context, state.schemas, op, params)
      if (WRITE_OPERATIONS.has(op)) this.#invalidate(state)
      else if (cache !== undefined && generation === state.generation) cache.set(state.spec.name, key, cloneResult(result))
      metrics?.record(nodeType(state, op), performance.now() - start, 'ok')
      return result
    } catch (error) {
      // A failed write may still have changed something (MySQL DDL, a driver error after commit).
      if (WRITE_OPERATIONS.has(op)) this.#invalidate(state)
      metrics?.record(nodeType(state, op), performance.now() - start, 'error')
      throw toDataflowError(error, state.spec, this.#driver?.sql, this.#databaseUrl)
    }
  }

  #invalidate(state: ModelState): void {
    state.generation++
    this.#cache?.invalidate(state.spec.name)
  }
}
