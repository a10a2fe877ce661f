import type { ModelManifest } from '../protocol/dataflow-manifest.js'
import type { NodeDefinition, NodeOutput } from '../workflow/node.js'
import { modelManifest, type ModelShape, type ModelSpec, type NodeOperation } from './model.js'
import type {
  BulkCreateInput,
  BulkCreateResult,
  BulkDeleteInput,
  BulkUpdateInput,
  BulkUpsertInput,
  BulkUpsertResult,
  CountInput,
  CreateInput,
  DeleteInput,
  ListInput,
  ListResult,
  ModelKey,
  ModelRecord,
  ReadInput,
  ReadResult,
  UpdateInput,
  UpdateResult,
  UpsertInput,
  UpsertResult,
} from './types.js'

/** What a {@link Model} needs from its DataFlow. */
export interface ModelBinding {
  readonly spec: ModelSpec
  readonly definitions: readonly NodeDefinition[]
  /** Validates `input` with the node's schema, then runs the operation like the node would. */
  call(op: NodeOperation, input: unknown): Promise<NodeOutput>
}

/**
 * A defined model: its generated node definitions and a typed direct call per node, for code
 * outside workflows. Direct calls validate with the same schemas and return the same results as
 * the nodes, and count in the same metrics.
 */
export class Model<S extends ModelShape = ModelShape> {
  readonly #binding: ModelBinding

  constructor(binding: ModelBinding) {
    this.#binding = binding
  }

  get name(): string {
    return this.#binding.spec.name
  }

  get tableName(): string {
    return this.#binding.spec.tableName
  }

  /** The generated node definitions, by operation (`Create`, ..., `BulkUpsert`). */
  get nodes(): Readonly<Record<NodeOperation, NodeDefinition>> {
    return Object.fromEntries(this.#binding.definitions.map((d) => [d.type.slice(this.name.length, -'Node'.length), d])) as Record<NodeOperation, NodeDefinition>
  }

  /** `UserCreateNode`, ... */
  get nodeTypes(): string[] {
    return this.#binding.definitions.map((d) => d.type)
  }

  manifest(): ModelManifest {
    return modelManifest(this.#binding.spec)
  }

  async create(data: CreateInput<S>): Promise<ModelRecord<S>> {
    return (await this.#binding.call('Create', data)) as ModelRecord<S>
  }

  /** By key, or `{ id | conditions, raiseOnNotFound, includeDeleted }`. */
  async read(input: ModelKey<S> | ReadInput<S>): Promise<ReadResult<S>> {
    return (await this.#binding.call('Read', typeof input === 'object' ? input : { id: input })) as ReadResult<S>
  }

  async update(input: UpdateInput<S>): Promise<UpdateResult<S>> {
    return (await this.#binding.call('Update', input)) as UpdateResult<S>
  }

  /** By key, or `{ id | filter }`. */
  async delete(input: ModelKey<S> | DeleteInput<S>): Promise<{ id: ModelKey<S> | null; deleted: boolean }> {
    return (await this.#binding.call('Delete', typeof input === 'object' ? input : { id: input })) as { id: ModelKey<S> | null; deleted: boolean }
  }

  async list(input: ListInput<S> = {}): Promise<ListResult<S>> {
    return (await this.#binding.call('List', input)) as unknown as ListResult<S>
  }

  async count(input: CountInput<S> = {}): Promise<{ count: number }> {
    return (await this.#binding.call('Count', input)) as { count: number }
  }

  async upsert(input: UpsertInput<S>): Promise<UpsertResult<S>> {
    return (await this.#binding.call('Upsert', input)) as unknown as UpsertResult<S>
  }

  async bulkCreate(input: BulkCreateInput<S>): Promise<BulkCreateResult<S>> {
    return (await this.#binding.call('BulkCreate', input)) as unknown as BulkCreateResult<S>
  }

  async bulkUpdate(input: BulkUpdateInput<S>): Promise<{ processed: number; updated: number; success: true }> {
    return (await this.#binding.call('BulkUpdate', input)) as { processed: number; updated: number; success: true }
  }

  async bulkDelete(input: BulkDeleteInput<S>): Promise<{ processed: number; deleted: number; success: true }> {
    return (await this.#binding.call('BulkDelete', input)) as { processed: number; deleted: number; success: true }
  }

  async bulkUpsert(input: BulkUpsertInput<S>): Promise<BulkUpsertResult<S>> {
    return (await this.#binding.call('BulkUpsert', input)) as unknown as BulkUpsertResult<S>
  }
}
