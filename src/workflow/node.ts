import type { z } from 'zod'
import { definingModule } from './defining-module.js'

/** What a running node can see besides its params. */
export interface NodeContext {
  readonly nodeId: string
  readonly runId: string
  readonly workflowName: string
  /** Aborted when the run is cancelled, times out or fails elsewhere; long nodes should pass it on. */
  readonly signal: AbortSignal
}

export type NodeOutput = Record<string, unknown>

// zod object schemas of any shape; params are always an object of named fields.
export type ParamsSchema = z.ZodObject<z.ZodRawShape>

export interface NodeDefinition<S extends ParamsSchema = ParamsSchema> {
  readonly kind: 'nexflow.node'
  /** The registry name, e.g. `HTTPRequest` or `UserCreateNode`. */
  readonly type: string
  readonly description: string
  readonly params: S
  /**
   * When true, an output field that is `undefined` marks an inactive branch: a node fed only by
   * inactive outputs is skipped (how Switch routes).
   */
  readonly conditionalOutputs: boolean
  /** Params whose strings are never templates (source code full of `${...}`). */
  readonly literalParams: readonly string[]
  readonly run: (params: z.output<S>, context: NodeContext) => NodeOutput | Promise<NodeOutput>
  /**
   * The file whose code defined the type (the caller of `defineNode`, or of `DataFlow.model`):
   * a server's execution worker imports it to have the type in its own thread. `undefined` when
   * it cannot (code evaluated from a string; a model of an in-memory database, private to its thread).
   */
  readonly module?: string | undefined
}

export interface NodeSpec<S extends ParamsSchema> {
  type: string
  description?: string
  params: S
  conditionalOutputs?: boolean
  literalParams?: readonly string[]
  run: (params: z.output<S>, context: NodeContext) => NodeOutput | Promise<NodeOutput>
}

const NODE_TYPE_NAME = /^[A-Za-z_][A-Za-z0-9_.:-]*$/

/**
 * Declares a node type. Params are validated with the zod schema before `run`; `run` returns a
 * plain object. The definition is registered by {@link NodeRegistry.register}, not here, so
 * defining a node has no side effects.
 */
export function defineNode<S extends ParamsSchema>(spec: NodeSpec<S>): NodeDefinition<S> {
  if (!NODE_TYPE_NAME.test(spec.type)) {
    throw new TypeError(`defineNode: type ${JSON.stringify(spec.type)} must start with a letter or _ and use only letters, digits, _ . : -`)
  }
  return Object.freeze({
    kind: 'nexflow.node',
    type: spec.type,
    description: spec.description ?? '',
    params: spec.params,
    conditionalOutputs: spec.conditionalOutputs ?? false,
    literalParams: Object.freeze([...(spec.literalParams ?? [])]),
    run: spec.run,
    module: definingModule(),
  })
}

/** Recognises node definitions, also ones made by another copy of this package. */
export function isNodeDefinition(value: unknown): value is NodeDefinition {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'nexflow.node'
}
