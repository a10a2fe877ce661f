import { NexflowError } from '../errors.js'
import { findNonJson, type JsonValue } from '../protocol/json.js'
import { WORKFLOW_FORMAT, type ConnectionJson, type WorkflowNodeJson } from '../protocol/workflow-json.js'
import { defaultRegistry } from './default-registry.js'
import { deriveInputSchema } from './input-schema.js'
import type { NodeDefinition } from './node.js'
import type { NodeRegistry } from './registry.js'
import { workflowProblems, type WorkflowProblem } from './validate.js'
import { graphProblems, Workflow } from './workflow.js'

export interface BuilderOptions {
  /**
   * When given, `build()` also checks the workflow against it (see {@link workflowProblems}):
   * unknown node types, config values their param schemas refuse, unknown param keys. Without
   * it, nothing is checked against node types at build time (a module may build a workflow
   * before it registers the types it uses; discovery checks every exported workflow once its
   * file has been imported), types are resolved when the workflow runs, and the input schema
   * uses the default registry.
   */
  registry?: NodeRegistry
}

export interface BuildOptions {
  name: string
  description?: string
}

/** Marks builders, also ones made by another copy of this package (discovery looks for them). */
const BUILDER_BRAND = Symbol.for('nexflow.WorkflowBuilder')

/**
 * Assembles a workflow step by step. Nothing is checked until {@link build}, which reports every
 * problem at once and returns an immutable {@link Workflow}.
 */
export class WorkflowBuilder {
  readonly [BUILDER_BRAND] = true
  readonly #nodes: WorkflowNodeJson[] = []
  readonly #connections: ConnectionJson[] = []
  readonly #registry: NodeRegistry | undefined

  constructor(options: BuilderOptions = {}) {
    this.#registry = options.registry
  }

  static isBuilder(value: unknown): value is WorkflowBuilder {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BUILDER_BRAND] === true
  }

  /**
   * Adds a node. `type` is a registered type name or a definition from `defineNode`. Params must
   * be plain JSON (workflows are data); they may hold `${input}` / `{{input}}` templates.
   */
  addNode(type: string | NodeDefinition, id: string, params: Record<string, unknown> = {}): this {
    const typeName = typeof type === 'string' ? type : type.type
    const nonJson = findNonJson(params, `params`)
    if (nonJson !== undefined) {
      throw new NexflowError('WORKFLOW_INVALID', `Node "${id}": ${nonJson} is not plain JSON. Workflows are data; put code in a node type made with defineNode()`, {
        details: { nodeId: id },
      })
    }
    // A definition given by value is registered (in the builder's registry, else the default one),
    // so the workflow runs wherever this module is imported; the same name with a different
    // definition is a NODE_TYPE_DUPLICATE error, never a silent swap.
    if (typeof type !== 'string') (this.#registry ?? defaultRegistry()).register(type)
    this.#nodes.push({ id, type: typeName, params: structuredClone(params) as Record<string, JsonValue> })
    return this
  }

  /** Feeds `fromNode`'s output at `fromOutput` (a dotted path such as `result.data`; `''` for all of it) into `toNode`'s param `toInput`. */
  addConnection(fromNode: string, fromOutput: string, toNode: string, toInput: string): this {
    this.#connections.push({ from: fromNode, fromOutput, to: toNode, toInput })
    return this
  }

  /** Connects two nodes with a `{ fromOutput: toInput }` mapping. */
  connect(fromNode: string, toNode: string, mapping: Record<string, string>): this {
    const entries = Object.entries(mapping)
    if (entries.length === 0) {
      throw new NexflowError('WORKFLOW_INVALID', `connect("${fromNode}", "${toNode}"): the mapping is empty; give at least one { output: input } pair`)
    }
    for (const [fromOutput, toInput] of entries) this.addConnection(fromNode, fromOutput, toNode, toInput)
    return this
  }

  /**
   * Checks the graph (and, given a registry, the nodes against it) and returns an immutable
   * workflow, or throws `WORKFLOW_INVALID` listing every problem. The builder can be built again.
   */
  build(options: BuildOptions): Workflow {
    // Also called from JavaScript: `build()` must say what is missing, not fail reading it.
    const given: unknown = (options as Partial<BuildOptions> | undefined)?.name
    const name = typeof given === 'string' ? given : ''
    const problems = graphProblems(this.#nodes, this.#connections)
    const nodeProblems: WorkflowProblem[] = this.#registry === undefined ? [] : workflowProblems({ nodes: this.#nodes, connections: this.#connections }, this.#registry)
    problems.push(...nodeProblems.map((problem) => problem.message))
    if (name === '') problems.unshift(`a workflow needs a name: build({ name: 'my-workflow' })${given === undefined || given === '' ? '' : ` (got ${typeof given})`}`)
    if (problems.length > 0) {
      throw new NexflowError('WORKFLOW_INVALID', `${name === '' ? 'Workflow' : `Workflow "${name}"`} is invalid: ${problems.join('; ')}`, {
        details: { workflow: name, problems, ...(nodeProblems.length === 0 ? {} : { nodeProblems }) },
      })
    }
    return Workflow.fromValidated({
      format: WORKFLOW_FORMAT,
      name,
      description: options.description ?? '',
      nodes: this.#nodes,
      connections: this.#connections,
      inputSchema: deriveInputSchema(this.#nodes, this.#connections, this.#registry ?? defaultRegistry()),
    })
  }
}
