import { parse } from 'node:path'
import type { DiscoveredNodeType, DiscoveredWorkflow, SerializedErrorData } from '../../src/protocol/discovery.js'
import type { DescribableDataFlow } from '../../src/dataflow/instances.js'
import type { DataFlowManifest } from '../../src/protocol/dataflow-manifest.js'
import type { JsonValue } from '../../src/protocol/json.js'
import { WorkflowBuilder } from '../../src/workflow/builder.js'
import { defaultRegistry } from '../../src/workflow/default-registry.js'
import { isNodeDefinition } from '../../src/workflow/node.js'
import { paramJsonSchema } from '../../src/workflow/param-schema.js'
import type { NodeRegistry } from '../../src/workflow/registry.js'
import { workflowProblems, type WorkflowProblem } from '../../src/workflow/validate.js'
import { Workflow, WORKFLOW_CREATED } from '../../src/workflow/workflow.js'

/** Exports whose builder takes the file's stem as its name. */
export const STEM_EXPORTS: readonly string[] = ['default', 'workflow', 'builder', 'wf']

export interface Collected {
  workflows: DiscoveredWorkflow[]
  nodeTypes: DiscoveredNodeType[]
  dataflows: DataFlowManifest[]
  warnings: string[]
  /** Exported workflows that cannot run with this thread's node types: the file is `invalid`. */
  invalid: InvalidWorkflow[]
  /** Every object the module exported, to tell which workflows it built but did not export. */
  exportedValues: ReadonlySet<unknown>
}

/** A problem of an invalid workflow: one of its nodes (see workflowProblems), or of its graph (a message only). */
export type ReportedProblem = Partial<Omit<WorkflowProblem, 'message'>> & { message: string }

/** An exported workflow that cannot run. */
export interface InvalidWorkflow {
  name: string
  exportName: string
  problems: ReportedProblem[]
}

/** A failure while describing an export; becomes the file's `error`. */
export class CollectError extends Error {
  constructor(exportName: string, cause: unknown) {
    const message = cause instanceof Error ? cause.message : String(cause)
    super(`export "${exportName}": ${message}`, { cause })
    this.name = 'CollectError'
    if (cause instanceof Error && cause.stack !== undefined) this.stack = `${this.name}: ${this.message}\n${cause.stack.split('\n').slice(1).join('\n')}`
  }
}

/** The file's stem: its name without the last extension (`user.workflow.ts` -> `user.workflow`). */
export function fileStem(file: string): string {
  return parse(file).name
}

/** The name a builder export gets: the stem for `default`/`workflow`/`builder`/`wf`, else `<stem>.<export>`. */
export function builderName(file: string, exportName: string): string {
  const stem = fileStem(file)
  return STEM_EXPORTS.includes(exportName) ? stem : `${stem}.${exportName}`
}

function isObject(value: unknown): value is Record<string, unknown> {
  return (typeof value === 'object' && value !== null) || typeof value === 'function'
}

function isCollectable(value: unknown, dataflows: ReadonlySet<unknown>): boolean {
  return Workflow.isWorkflow(value) || WorkflowBuilder.isBuilder(value) || isNodeDefinition(value) || dataflows.has(value)
}

/**
 * The exports of an imported module as name -> value, read without calling anything the module
 * exported. `commonjs` is `module.exports` when the file was loaded as CommonJS.
 */
export function exportsOf(namespace: Record<string, unknown>, commonjs: { exports: unknown } | undefined, dataflows: ReadonlySet<unknown>): Map<string, unknown> {
  let source: unknown = commonjs === undefined ? namespace : commonjs.exports
  if (commonjs !== undefined && isCollectable(source, dataflows)) return new Map([['default', source]])
  // TypeScript and esbuild compile `export` to CommonJS as properties of an `__esModule` object;
  // an ES module importing it sees that object as `default`.
  const inner = commonjs === undefined ? namespace.default : undefined
  if (isObject(inner) && inner.__esModule === true) source = inner
  const exported = new Map<string, unknown>()
  if (!isObject(source)) return exported
  for (const name of Object.keys(source)) {
    if (name === '__esModule') continue
    exported.set(name, source[name])
  }
  return exported
}

/** Export names in the order they are examined: the stem exports first, then the rest sorted. */
function ordered(exported: Map<string, unknown>): [string, unknown][] {
  const rank = (name: string) => {
    const index = STEM_EXPORTS.indexOf(name)
    return index === -1 ? STEM_EXPORTS.length : index
  }
  return [...exported].sort(([a], [b]) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0))
}

/**
 * Describes what a module exported: built workflows, builders (built here, never run), node
 * types, and DataFlow instances, exported or merely created during the import (`created`). Values
 * only: an exported function is never called. Each workflow is checked against `nodeTypes`, the
 * registry it will run with (this thread's default one, DataFlow models included): one that
 * cannot run is listed in `invalid`. Throws {@link CollectError} when an export cannot be
 * described (a DataFlow whose manifest fails, a builder that throws something else).
 */
export function collect(file: string, exported: Map<string, unknown>, created: readonly DescribableDataFlow[], registry: ReadonlySet<unknown>, nodeTypes: NodeRegistry = defaultRegistry()): Collected {
  const workflows: DiscoveredWorkflow[] = []
  const nodeTypeList: DiscoveredNodeType[] = []
  const warnings: string[] = []
  const invalid: InvalidWorkflow[] = []
  const seen = new Set<unknown>()
  const dataflowValues: DescribableDataFlow[] = [...created]
  const check = (name: string, exportName: string, workflow: Workflow) => {
    const problems = workflowProblems(workflow, nodeTypes)
    if (problems.length > 0) invalid.push({ name, exportName, problems })
  }

  for (const [exportName, value] of ordered(exported)) {
    // The same object exported twice (`export default wf; export { wf }`) is one thing.
    if (isObject(value) && seen.has(value)) continue
    if (isObject(value)) seen.add(value)
    try {
      if (Workflow.isWorkflow(value)) {
        workflows.push({ name: value.name, exportName, workflow: value.toJSON() })
        check(value.name, exportName, value)
      } else if (WorkflowBuilder.isBuilder(value)) {
        const name = builderName(file, exportName)
        const built = buildOrExplain(value, name)
        if (Array.isArray(built)) {
          invalid.push({ name, exportName, problems: built })
        } else {
          workflows.push({ name, exportName, workflow: built.toJSON() })
          check(name, exportName, built)
        }
      } else if (isNodeDefinition(value)) {
        nodeTypeList.push({ type: value.type, description: value.description, exportName, paramsSchema: paramsSchemaOf(value.params, exportName, warnings) })
      } else if (registry.has(value) && !dataflowValues.includes(value as DescribableDataFlow)) {
        dataflowValues.push(value as DescribableDataFlow)
      } else if (typeof value === 'function' && STEM_EXPORTS.includes(exportName)) {
        warnings.push(`export "${exportName}" is a function; discovery never calls exported functions, so export the workflow or builder itself`)
      }
    } catch (error) {
      throw new CollectError(exportName, error)
    }
  }

  // Checked once every export is known: a node type this file exports but never registers is
  // the likeliest reason for an unknown one, and worth saying so.
  for (const workflow of invalid) workflow.problems = workflow.problems.map((problem) => explainUnregistered(problem, nodeTypeList))

  const dataflows = dataflowValues.map((instance, index) => {
    try {
      return instance.toManifest()
    } catch (error) {
      throw new CollectError(`DataFlow #${index + 1}`, error)
    }
  })
  return { workflows, nodeTypes: nodeTypeList, dataflows, warnings, invalid, exportedValues: seen }
}

/**
 * Builds an exported builder, or says why its workflow cannot be built: a graph that breaks the
 * rules (a cycle, an unknown node id) or, for a builder given a registry, nodes that registry
 * refuses. Anything else it throws is not about the workflow, and propagates.
 */
function buildOrExplain(builder: WorkflowBuilder, name: string): Workflow | ReportedProblem[] {
  try {
    return builder.build({ name })
  } catch (error) {
    // Duck-typed: the builder may come from another copy of this package.
    const { code, details } = (typeof error === 'object' && error !== null ? error : {}) as { code?: unknown; details?: { problems?: unknown; nodeProblems?: unknown } }
    if (code !== 'WORKFLOW_INVALID' || !Array.isArray(details?.problems)) throw error
    const nodeProblems = (Array.isArray(details.nodeProblems) ? details.nodeProblems : []) as WorkflowProblem[]
    const messages = new Set(nodeProblems.map((problem) => problem.message))
    const graph = details.problems.map(String).filter((message) => !messages.has(message))
    return [...graph.map((message) => ({ message })), ...nodeProblems]
  }
}

function explainUnregistered(problem: ReportedProblem, exported: readonly DiscoveredNodeType[]): ReportedProblem {
  if (problem.kind !== 'unknown_node_type') return problem
  const definition = exported.find((nodeType) => nodeType.type === problem.nodeType)
  if (definition === undefined) return problem
  const { suggestion: _suggestion, ...rest } = problem
  const message = `node "${problem.nodeId ?? ''}" has unknown type "${definition.type}": this file exports it (export "${definition.exportName}") but does not register it; call defaultRegistry().register(${definition.exportName}) where it is defined`
  return { ...rest, message }
}

/** Problems listed per workflow in a file's error; the rest are counted. */
const LISTED_PROBLEMS = 20

/** The error of a file whose exported workflows cannot run: each one named, with its problems, one per line. */
export function invalidWorkflowsError(invalid: readonly InvalidWorkflow[]): SerializedErrorData {
  const lines: string[] = []
  for (const workflow of invalid) {
    const head = `workflow "${workflow.name}" (export "${workflow.exportName}") cannot run`
    const [only] = workflow.problems
    if (workflow.problems.length === 1 && only !== undefined) {
      lines.push(`${head}: ${only.message}`)
      continue
    }
    lines.push(`${head}:`, ...workflow.problems.slice(0, LISTED_PROBLEMS).map((problem) => `  ${problem.message}`))
    if (workflow.problems.length > LISTED_PROBLEMS) lines.push(`  and ${workflow.problems.length - LISTED_PROBLEMS} more`)
  }
  return {
    name: 'NexflowError',
    code: 'WORKFLOW_INVALID',
    message: lines.join('\n'),
    details: { workflows: invalid.map((workflow) => ({ ...workflow, problems: workflow.problems.slice(0, LISTED_PROBLEMS) })) },
  }
}

/**
 * Which local module built each workflow made in this worker, learnt as modules evaluate (a
 * worker evaluates each module once, perhaps while importing another candidate). Held weakly:
 * a workflow nothing else keeps is not worth a warning.
 */
export class BuiltWorkflows {
  readonly #byModule = new Map<string, WeakRef<Workflow>[]>()
  #owner: string | undefined

  /** Listens to every workflow made in this thread (see WORKFLOW_CREATED); once per worker. */
  constructor() {
    const listener = (workflow: Workflow) => {
      if (this.#owner === undefined) return
      let built = this.#byModule.get(this.#owner)
      if (built === undefined) this.#byModule.set(this.#owner, (built = []))
      built.push(new WeakRef(workflow))
    }
    Object.defineProperty(globalThis, WORKFLOW_CREATED, { value: listener, writable: false, configurable: true, enumerable: false })
  }

  /** The local module evaluating from now on (`undefined`: none, as between imports). */
  evaluating(path: string | undefined): void {
    this.#owner = path
  }

  /** Workflows `path` built while it evaluated, still alive. */
  builtBy(path: string): Workflow[] {
    return (this.#byModule.get(path) ?? []).map((ref) => ref.deref()).filter((workflow): workflow is Workflow => workflow !== undefined)
  }
}

/** A warning for each workflow the file built but did not export: discovery serves only exports. */
export function unexportedWarnings(built: readonly Workflow[], exportedValues: ReadonlySet<unknown>): string[] {
  return built
    .filter((workflow) => !exportedValues.has(workflow))
    .map((workflow) => `workflow "${workflow.name}" is built by this file but not exported, so it is not served; export it (discovery serves only what a file exports)`)
}

function paramsSchemaOf(params: unknown, exportName: string, warnings: string[]): Record<string, JsonValue> {
  try {
    return paramJsonSchema(params as Parameters<typeof paramJsonSchema>[0])
  } catch (error) {
    warnings.push(`export "${exportName}": its params schema has no JSON Schema form (${(error as Error).message})`)
    return {}
  }
}
