import { NexflowError, ValidationError } from '../errors.js'
import { deepFreeze } from '../protocol/json.js'
import { WORKFLOW_FORMAT, workflowJsonSchema, type ConnectionJson, type WorkflowJson, type WorkflowNodeJson } from '../protocol/workflow-json.js'
import { parsePath } from './dotted-path.js'
import type { NodeRegistry } from './registry.js'
import { findTemplates, type TemplateSite } from './template.js'

/** A connection with its source path split once, at build time. */
export interface PlannedConnection extends ConnectionJson {
  readonly fromPath: readonly string[]
}

/** What the runtime needs, computed once per workflow instead of once per run. */
export interface ExecutionPlan {
  readonly order: readonly string[]
  readonly incoming: ReadonlyMap<string, readonly PlannedConnection[]>
  readonly outgoing: ReadonlyMap<string, readonly string[]>
  /** How many distinct nodes each node waits for. */
  readonly dependencies: ReadonlyMap<string, number>
  readonly templates: ReadonlyMap<string, readonly TemplateSite[]>
}

/** Marks workflows, also ones made by another copy of this package (discovery looks for them). */
const WORKFLOW_BRAND = Symbol.for('nexflow.Workflow')

/**
 * Per thread, shared by every copy of this package: a function told of each workflow made in the
 * thread, when one is set. A discovery worker sets it to learn which workflows a module built, and
 * warns about those the file does not export (they would never be served). Nothing else sets it,
 * so elsewhere a workflow costs one property read and nothing holds on to it.
 */
export const WORKFLOW_CREATED = Symbol.for('nexflow.workflow.created')

function announce(workflow: Workflow): void {
  const listener = (globalThis as { [WORKFLOW_CREATED]?: unknown })[WORKFLOW_CREATED]
  if (typeof listener === 'function') (listener as (made: Workflow) => void)(workflow)
}

/** Graph rules every workflow obeys, whether built or loaded from JSON. Returns every problem found. */
export function graphProblems(nodes: readonly WorkflowNodeJson[], connections: readonly ConnectionJson[], registry?: NodeRegistry): string[] {
  const problems: string[] = []
  const ids = new Set<string>()
  for (const node of nodes) {
    if (ids.has(node.id)) problems.push(`duplicate node id "${node.id}"`)
    ids.add(node.id)
    if (registry !== undefined && !registry.has(node.type)) problems.push(`node "${node.id}" has unknown type "${node.type}"`)
  }
  const seen = new Set<string>()
  for (const c of connections) {
    const label = `${c.from}.${c.fromOutput || '*'} -> ${c.to}.${c.toInput}`
    if (!ids.has(c.from)) problems.push(`connection ${label} starts at unknown node "${c.from}"`)
    if (!ids.has(c.to)) problems.push(`connection ${label} ends at unknown node "${c.to}"`)
    if (c.from === c.to) problems.push(`connection ${label} connects node "${c.from}" to itself`)
    const key = `${c.from}\0${c.fromOutput}\0${c.to}\0${c.toInput}`
    if (seen.has(key)) problems.push(`duplicate connection ${label}`)
    seen.add(key)
  }
  if (problems.length === 0) {
    const cycle = nodesInCycles(nodes, connections)
    if (cycle.length > 0) problems.push(`cycle through nodes ${cycle.map((id) => `"${id}"`).join(', ')}`)
  }
  return problems
}

// Kahn's algorithm: whatever cannot be ordered sits on (or behind) a cycle.
function topologicalOrder(nodes: readonly WorkflowNodeJson[], connections: readonly ConnectionJson[]): { order: string[]; rest: string[] } {
  const indegree = new Map(nodes.map((n) => [n.id, 0]))
  const next = new Map<string, string[]>(nodes.map((n) => [n.id, []]))
  for (const c of connections) {
    indegree.set(c.to, (indegree.get(c.to) ?? 0) + 1)
    next.get(c.from)?.push(c.to)
  }
  const queue = nodes.filter((n) => indegree.get(n.id) === 0).map((n) => n.id)
  const order: string[] = []
  while (queue.length > 0) {
    const id = queue.shift() as string
    order.push(id)
    for (const to of next.get(id) ?? []) {
      const left = (indegree.get(to) ?? 0) - 1
      indegree.set(to, left)
      if (left === 0) queue.push(to)
    }
  }
  const ordered = new Set(order)
  return { order, rest: nodes.map((n) => n.id).filter((id) => !ordered.has(id)) }
}

function nodesInCycles(nodes: readonly WorkflowNodeJson[], connections: readonly ConnectionJson[]): string[] {
  return topologicalOrder(nodes, connections).rest
}

/**
 * A built workflow: an immutable graph of nodes and connections, plus the JSON Schema of its
 * inputs. It is plain data (`toJSON()` / `Workflow.fromJSON()` round-trip exactly), so it can be
 * sent between threads and published by a server.
 */
export class Workflow {
  readonly [WORKFLOW_BRAND] = true
  readonly name: string
  readonly description: string
  readonly nodes: readonly Readonly<WorkflowNodeJson>[]
  readonly connections: readonly Readonly<ConnectionJson>[]
  readonly inputSchema: Readonly<Record<string, unknown>>
  readonly #json: WorkflowJson
  #plan: ExecutionPlan | undefined

  /** Use {@link WorkflowBuilder.build} or {@link Workflow.fromJSON}; the JSON must already be valid. */
  private constructor(json: WorkflowJson) {
    this.#json = deepFreeze(json)
    this.name = json.name
    this.description = json.description
    this.nodes = json.nodes
    this.connections = json.connections
    this.inputSchema = json.inputSchema
    Object.freeze(this)
    announce(this)
  }

  static isWorkflow(value: unknown): value is Workflow {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[WORKFLOW_BRAND] === true
  }

  /** @internal Called by the builder after it has checked the graph. */
  static fromValidated(json: WorkflowJson): Workflow {
    return new Workflow(structuredClone(json))
  }

  /**
   * Loads a workflow from its JSON form, checking the shape and every graph rule (and, when a
   * registry is given, that each node type is known).
   */
  static fromJSON(json: unknown, options: { registry?: NodeRegistry } = {}): Workflow {
    const parsed = workflowJsonSchema.safeParse(json)
    if (!parsed.success) {
      throw new ValidationError(`Invalid workflow JSON: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`, parsed.error.issues)
    }
    const problems = graphProblems(parsed.data.nodes, parsed.data.connections, options.registry)
    if (problems.length > 0) {
      throw new NexflowError('WORKFLOW_INVALID', `Workflow "${parsed.data.name}" is invalid: ${problems.join('; ')}`, { details: { workflow: parsed.data.name, problems } })
    }
    return new Workflow(parsed.data)
  }

  toJSON(): WorkflowJson {
    return structuredClone(this.#json)
  }

  node(id: string): Readonly<WorkflowNodeJson> | undefined {
    return this.nodes.find((n) => n.id === id)
  }

  /** @internal The runtime's precomputed view of the graph. */
  get plan(): ExecutionPlan {
    // Frozen object, lazily filled: the plan is derived data, so computing it once is safe.
    return (this.#plan ??= this.#computePlan())
  }

  #computePlan(): ExecutionPlan {
    const incoming = new Map<string, PlannedConnection[]>(this.nodes.map((n) => [n.id, []]))
    const outgoing = new Map<string, string[]>(this.nodes.map((n) => [n.id, []]))
    for (const c of this.connections) {
      incoming.get(c.to)?.push({ ...c, fromPath: parsePath(c.fromOutput) })
      const out = outgoing.get(c.from)
      if (out !== undefined && !out.includes(c.to)) out.push(c.to)
    }
    const templates = new Map(this.nodes.map((n) => [n.id, findTemplates(n.params)]))
    const dependencies = new Map([...incoming].map(([id, list]) => [id, new Set(list.map((c) => c.from)).size]))
    return { order: topologicalOrder(this.nodes, this.connections).order, incoming, outgoing, dependencies, templates }
  }
}

export { WORKFLOW_FORMAT }
