import { ValidationError } from '../errors.js'
import type { NodeDefinition, NodeOutput, ParamsSchema } from '../workflow/node.js'
import { NODE_OPERATIONS, type ModelSpec, type NodeOperation } from './model.js'
import * as ops from './operations.js'
import type { ModelSchemas } from './param-schemas.js'

/** Runs one operation of a model with validated params (DataFlow adds caching, metrics, errors). */
export type InvokeOperation = (op: NodeOperation, params: Record<string, unknown>) => Promise<NodeOutput>

/** Operations that change data: they drop the model's cached reads. */
export const WRITE_OPERATIONS: ReadonlySet<NodeOperation> = new Set(['Create', 'Update', 'Delete', 'Upsert', 'BulkCreate', 'BulkUpdate', 'BulkDelete', 'BulkUpsert'])

const DESCRIPTIONS: Record<NodeOperation, (model: string) => string> = {
  Create: (m) => `Creates one ${m} from its fields; returns the created record with id, created_at and updated_at.`,
  Read: (m) => `Reads one ${m} by id or conditions; returns it with found: true, { id, found: false }, or fails when raiseOnNotFound.`,
  Update: (m) => `Updates the first ${m} matching filter (or id) with fields; returns it with updated: true, or updated: false.`,
  Delete: (m) => `Deletes one ${m} by id or filter (soft delete sets deleted_at); returns { id, deleted }.`,
  List: (m) => `Lists ${m} records by filter, orderBy, limit (default 10) and offset; returns { records, count, limit, hasMore }, and total (every match) with includeTotal: true.`,
  Count: (m) => `Counts ${m} records matching filter; returns { count }.`,
  Upsert: (m) => `Updates the ${m} matching where (or conflictOn) or creates it; returns { created, record, action }.`,
  BulkCreate: (m) => `Inserts many ${m} records in one transaction (all or nothing); returns { processed, inserted, success }.`,
  BulkUpdate: (m) => `Updates every ${m} matching filter (or each item of data by id); an empty filter needs confirmed: true.`,
  BulkDelete: (m) => `Deletes every ${m} matching filter (or ids); an empty filter needs confirmed: true.`,
  BulkUpsert: (m) => `Inserts or updates many ${m} records on conflictOn in one transaction; returns { processed, upserted, success }.`,
}

const NO_LITERAL_PARAMS: readonly string[] = Object.freeze([])

/**
 * One generated node. A class rather than `defineNode` so that `params` (and the description) are
 * computed on first use: defining a model must not pay for building 11 zod schemas (see
 * {@link ModelSchemas}); a model has to be definable in microseconds. Instances are otherwise
 * exactly what `defineNode` returns, frozen.
 */
class GeneratedNode implements NodeDefinition {
  readonly kind = 'nexflow.node' as const
  readonly type: string
  readonly conditionalOutputs = false
  readonly literalParams = NO_LITERAL_PARAMS
  readonly #op: NodeOperation
  readonly #schemas: ModelSchemas
  readonly #invoke: InvokeOperation

  readonly module: string | undefined

  constructor(op: NodeOperation, schemas: ModelSchemas, invoke: InvokeOperation, module: string | undefined) {
    this.type = `${schemas.spec.name}${op}Node`
    this.module = module
    this.#op = op
    this.#schemas = schemas
    this.#invoke = invoke
    Object.freeze(this)
  }

  get description(): string {
    return DESCRIPTIONS[this.#op](this.#schemas.spec.name)
  }

  get params(): ParamsSchema {
    return this.#schemas.params(this.#op)
  }

  // An arrow property, not a method: the runtime may call `run` detached from the definition.
  readonly run = (params: Record<string, unknown>): Promise<NodeOutput> => this.#invoke(this.#op, params)
}

/** The 11 node definitions of a model, in the order of {@link NODE_OPERATIONS}. */
export function buildNodeDefinitions(schemas: ModelSchemas, invoke: InvokeOperation, module: string | undefined): NodeDefinition[] {
  return NODE_OPERATIONS.map((op) => new GeneratedNode(op, schemas, invoke, module))
}

/** Validates params for a direct call (`User.create(...)`), with the node's own schema. */
export function parseParams(schemas: ModelSchemas, op: NodeOperation, input: unknown): Record<string, unknown> {
  const parsed = schemas.params(op).safeParse(input ?? {})
  if (!parsed.success) {
    const detail = parsed.error.issues.map((issue) => `"${issue.path.join('.') || '(params)'}": ${issue.message}`).join('; ')
    throw new ValidationError(`${schemas.spec.name}.${op[0]?.toLowerCase()}${op.slice(1)}: invalid params: ${detail}`, parsed.error.issues, { details: { model: schemas.spec.name, operation: op } })
  }
  return parsed.data
}

type P = Record<string, unknown>
type Filter = Record<string, unknown> | undefined

/** The default conflict target: the key if callers supply it, else the first unique index. */
function defaultConflictOn(spec: ModelSpec): string[] {
  if (spec.primaryKey === 'text') return [spec.id.name]
  const unique = spec.indexes.find((i) => i.unique)
  return unique === undefined ? [spec.id.name] : [...unique.fields]
}

function isOperatorObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date) && !Buffer.isBuffer(value)
}

/** Maps validated node params onto the operation, with the semantics the source system's nodes had. */
export async function executeOperation(ctx: ops.OperationContext, schemas: ModelSchemas, op: NodeOperation, p: P): Promise<NodeOutput> {
  const spec = schemas.spec
  switch (op) {
    case 'Create':
      return ops.create(ctx, p)
    case 'Read':
      return ops.read(ctx, {
        id: p.id as string | number | undefined,
        conditions: (p.conditions ?? p.filter) as Filter,
        raiseOnNotFound: p.raiseOnNotFound as boolean,
        includeDeleted: p.includeDeleted as boolean,
      })
    case 'Update':
      return ops.update(ctx, { id: p.id as string | number | undefined, filter: p.filter as Filter, fields: p.fields as P })
    case 'Delete':
      return ops.remove(ctx, { id: p.id as string | number | undefined, filter: p.filter as Filter })
    case 'List':
      return ops.list(ctx, p as unknown as ops.ListParams)
    case 'Count':
      return ops.count(ctx, p as unknown as ops.CountParams)
    case 'Upsert': {
      const where = p.where as P
      // Plain values of `where` are part of a new record; operator conditions are not.
      const plain = Object.fromEntries(Object.entries(where).filter(([key, value]) => !key.startsWith('$') && !isOperatorObject(value)))
      const merged = { ...plain, ...(p.create as P) }
      let lookup: P = where
      if (p.conflictOn !== undefined) {
        lookup = {}
        for (const name of p.conflictOn as string[]) {
          if (!spec.lookup.has(name)) throw new ValidationError(`${spec.name}UpsertNode: conflictOn names unknown field "${name}"`, [])
          if (merged[name] === undefined) throw new ValidationError(`${spec.name}UpsertNode: conflictOn field "${name}" has no value in where or create`, [])
          lookup[name] = merged[name]
        }
      }
      // The new record is validated only if one is created: updating needs no complete record.
      return ops.upsert(ctx, { lookup, update: p.update as P, create: () => parseParams(schemas, 'Create', merged) })
    }
    case 'BulkCreate': {
      const resolution = p.conflictResolution as ops.ConflictResolution
      const result = await ops.bulkInsert(ctx, {
        data: p.data as P[],
        batchSize: p.batchSize as number,
        conflictResolution: resolution,
        conflictOn: (p.conflictOn as string[] | undefined) ?? defaultConflictOn(spec),
        returnIds: p.returnIds as boolean,
      })
      const extra = resolution === 'skip' ? { skipped: result.processed - result.inserted } : resolution === 'update' ? { updated: result.updated } : {}
      return { processed: result.processed, inserted: result.inserted, ...extra, ...(result.ids === undefined ? {} : { ids: result.ids }), success: true }
    }
    case 'BulkUpsert': {
      const result = await ops.bulkInsert(ctx, {
        data: p.data as P[],
        batchSize: p.batchSize as number,
        conflictResolution: 'update',
        conflictOn: (p.conflictOn as string[] | undefined) ?? defaultConflictOn(spec),
        returnIds: p.returnIds as boolean,
      })
      return { processed: result.processed, upserted: result.processed, inserted: result.inserted, updated: result.updated, ...(result.ids === undefined ? {} : { ids: result.ids }), success: true }
    }
    case 'BulkUpdate':
      return ops.bulkUpdate(ctx, { filter: p.filter as Filter, fields: p.fields as P | undefined, data: p.data as P[] | undefined, confirmed: p.confirmed as boolean })
    case 'BulkDelete':
      return ops.bulkDelete(ctx, { filter: p.filter as Filter, ids: p.ids as (string | number)[] | undefined, confirmed: p.confirmed as boolean })
  }
}
