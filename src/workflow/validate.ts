import { z } from 'zod'
import { closestName } from '../closest-name.js'
import type { ConnectionJson, WorkflowNodeJson } from '../protocol/workflow-json.js'
import type { NodeDefinition } from './node.js'
import type { NodeRegistry } from './registry.js'
import { findTemplates } from './template.js'

/**
 * - `unknown_node_type`: no node type of that name is registered.
 * - `unknown_param`: a config key the node's params do not declare, on a node whose params
 *   refuse or silently drop unknown keys; or a connection's target on one whose params refuse them.
 * - `invalid_param`: a config value its param's zod schema refuses.
 */
export type WorkflowProblemKind = 'unknown_node_type' | 'unknown_param' | 'invalid_param'

/** One zod issue, as plain data. `path` is relative to the param. */
export interface ParamIssue {
  readonly code: string
  readonly message: string
  readonly path: readonly (string | number)[]
}

/** Something that will fail (or silently misbehave) when the workflow runs. */
export interface WorkflowProblem {
  readonly kind: WorkflowProblemKind
  readonly nodeId: string
  readonly nodeType: string
  /** The param, dotted when the problem is inside it (`fields.email`); absent for the node itself. */
  readonly param?: string
  /** For `invalid_param`: the zod issue. */
  readonly issue?: ParamIssue
  /** The closest registered type, or declared param, for a misspelled one. */
  readonly suggestion?: string
  /** One line naming the node, the param and what is wrong. */
  readonly message: string
}

/** What validation reads of a workflow: its JSON form's nodes and connections. */
export interface WorkflowGraph {
  readonly nodes: readonly Readonly<WorkflowNodeJson>[]
  readonly connections: readonly Readonly<ConnectionJson>[]
}

/** How many registered types an "unknown type" message lists when none is close. */
const LISTED_TYPES = 10

/**
 * Checks a workflow against the node types it will run with, without running anything: every
 * node type is registered; every param set in config (templates aside) passes its zod schema;
 * no config key names a param the node does not declare (unless its params accept extra keys,
 * as `z.looseObject` does), and no connection feeds one of a node whose params refuse them. A required param nothing fills is not a problem:
 * it is a declared input of the workflow (see input-schema.ts), given when the workflow runs.
 * A param a connection feeds is not checked against its config value: the connection's wins.
 * Pure; returns every problem found, in node order.
 */
export function workflowProblems(workflow: WorkflowGraph, registry: NodeRegistry): WorkflowProblem[] {
  const problems: WorkflowProblem[] = []
  for (const node of workflow.nodes) {
    const definition = registry.get(node.type)
    if (definition === undefined) problems.push(unknownType(node, registry))
    else problems.push(...nodeProblems(node, definition, workflow.connections.filter((c) => c.to === node.id)))
  }
  return problems
}

function unknownType(node: Readonly<WorkflowNodeJson>, registry: NodeRegistry): WorkflowProblem {
  const types = registry.types()
  const suggestion = closestName(node.type, types)
  const listed = types.slice(0, LISTED_TYPES).join(', ') + (types.length > LISTED_TYPES ? `, and ${types.length - LISTED_TYPES} more` : '')
  const hint = suggestion !== undefined ? `; did you mean "${suggestion}"?` : `; registered types: ${listed || '(none)'}`
  return {
    kind: 'unknown_node_type',
    nodeId: node.id,
    nodeType: node.type,
    ...(suggestion === undefined ? {} : { suggestion }),
    message: `node "${node.id}" has unknown type "${node.type}"${hint}`,
  }
}

/**
 * What a node's params do with a key they do not declare: refuse it (`strict`: z.strictObject),
 * drop it (`dropped`: a plain z.object), or check it with this schema (a loose or catchall object).
 */
function extraKeys(schema: NodeDefinition['params']): 'strict' | 'dropped' | z.core.$ZodType {
  const catchall = (schema._zod.def as { catchall?: z.core.$ZodType }).catchall
  if (catchall === undefined) return 'dropped'
  return catchall._zod.def.type === 'never' ? 'strict' : catchall
}

function nodeProblems(node: Readonly<WorkflowNodeJson>, definition: NodeDefinition, incoming: readonly Readonly<ConnectionJson>[]): WorkflowProblem[] {
  const problems: WorkflowProblem[] = []
  const shape: Readonly<Record<string, z.core.$ZodType>> = (definition.params as { shape?: Record<string, z.core.$ZodType> }).shape ?? {}
  const declared = Object.keys(shape)
  const extra = extraKeys(definition.params)
  const where = `node "${node.id}" (${node.type})`
  const unknownParam = (param: string, site: string): WorkflowProblem => {
    const suggestion = closestName(param, declared)
    const hint = suggestion !== undefined ? `; did you mean "${suggestion}"?` : `; its params: ${declared.join(', ') || '(none)'}`
    return { kind: 'unknown_param', nodeId: node.id, nodeType: node.type, param, ...(suggestion === undefined ? {} : { suggestion }), message: `${site}unknown param "${param}"${hint}` }
  }

  const fed = new Set(incoming.map((c) => c.toInput))
  for (const [key, value] of Object.entries(node.params)) {
    const field = Object.hasOwn(shape, key) ? shape[key] : extra
    // Dropped is as wrong as refused: the value set here never reaches the node.
    if (field === 'strict' || field === 'dropped' || field === undefined) {
      problems.push(unknownParam(key, `${where} has `))
      continue
    }
    if (fed.has(key)) continue
    // Literal params (source code) are never templates: they are checked as written.
    const sites = definition.literalParams.includes(key) ? [] : findTemplates(value, [key]).map((site) => site.path)
    for (const issue of issuesOf(field, value)) {
      const path = [key, ...issue.path]
      // What a template will put there is known only at run time; keys are never templates, so
      // an unknown key beside one is still wrong.
      if (issue.code !== 'unrecognized_keys' && sites.some((site) => related(site, path))) continue
      const param = path.join('.')
      problems.push({ kind: 'invalid_param', nodeId: node.id, nodeType: node.type, param, issue, message: `${where} param "${param}": ${issue.message}` })
    }
  }
  // Only where it fails the run: into a plain object, a connection to an undeclared param is
  // an ordering edge (its value is dropped, but the node still waits for the source).
  if (extra === 'strict') {
    for (const c of incoming) {
      if (Object.hasOwn(shape, c.toInput)) continue
      problems.push(unknownParam(c.toInput, `${where}: connection ${c.from}.${c.fromOutput || '*'} -> ${c.to}.${c.toInput} feeds an `))
    }
  }
  return problems
}

/** The zod issues of one value; none when the schema cannot be run synchronously (an async refinement). */
function issuesOf(schema: z.core.$ZodType, value: unknown): ParamIssue[] {
  let result: ReturnType<typeof z.safeParse>
  try {
    result = z.safeParse(schema, value)
  } catch {
    return []
  }
  if (result.success) return []
  return result.error.issues.map((issue) => ({
    code: issue.code,
    message: issue.message,
    path: issue.path.map((segment) => (typeof segment === 'number' ? segment : String(segment))),
  }))
}

/** One path lies inside (or is) the other. */
function related(a: readonly (string | number)[], b: readonly (string | number)[]): boolean {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false
  return true
}
