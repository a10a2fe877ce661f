import { parse } from 'node:path'
import type { DiscoveredNodeType, DiscoveredWorkflow } from '../../src/protocol/discovery.js'
import type { DataFlowManifest, DescribableDataFlow } from '../../src/protocol/dataflow-manifest.js'
import type { JsonValue } from '../../src/protocol/json.js'
import { WorkflowBuilder } from '../../src/workflow/builder.js'
import { isNodeDefinition } from '../../src/workflow/node.js'
import { paramJsonSchema } from '../../src/workflow/param-schema.js'
import { Workflow } from '../../src/workflow/workflow.js'

/** Exports whose builder takes the file's stem as its name. */
export const STEM_EXPORTS: readonly string[] = ['default', 'workflow', 'builder', 'wf']

export interface Collected {
  workflows: DiscoveredWorkflow[]
  nodeTypes: DiscoveredNodeType[]
  dataflows: DataFlowManifest[]
  warnings: string[]
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
 * only: an exported function is never called. Throws {@link CollectError} when an export cannot
 * be described (a builder whose graph is invalid, a DataFlow whose manifest fails).
 */
export function collect(file: string, exported: Map<string, unknown>, created: readonly DescribableDataFlow[], registry: ReadonlySet<unknown>): Collected {
  const workflows: DiscoveredWorkflow[] = []
  const nodeTypes: DiscoveredNodeType[] = []
  const warnings: string[] = []
  const seen = new Set<unknown>()
  const dataflowValues: DescribableDataFlow[] = [...created]

  for (const [exportName, value] of ordered(exported)) {
    // The same object exported twice (`export default wf; export { wf }`) is one thing.
    if (isObject(value) && seen.has(value)) continue
    if (isObject(value)) seen.add(value)
    try {
      if (Workflow.isWorkflow(value)) {
        workflows.push({ name: value.name, exportName, workflow: value.toJSON() })
      } else if (WorkflowBuilder.isBuilder(value)) {
        const name = builderName(file, exportName)
        workflows.push({ name, exportName, workflow: value.build({ name }).toJSON() })
      } else if (isNodeDefinition(value)) {
        nodeTypes.push({ type: value.type, description: value.description, exportName, paramsSchema: paramsSchemaOf(value.params, exportName, warnings) })
      } else if (registry.has(value) && !dataflowValues.includes(value as DescribableDataFlow)) {
        dataflowValues.push(value as DescribableDataFlow)
      } else if (typeof value === 'function' && STEM_EXPORTS.includes(exportName)) {
        warnings.push(`export "${exportName}" is a function; discovery never calls exported functions, so export the workflow or builder itself`)
      }
    } catch (error) {
      throw new CollectError(exportName, error)
    }
  }

  const dataflows = dataflowValues.map((instance, index) => {
    try {
      return instance.toManifest()
    } catch (error) {
      throw new CollectError(`DataFlow #${index + 1}`, error)
    }
  })
  return { workflows, nodeTypes, dataflows, warnings }
}

function paramsSchemaOf(params: unknown, exportName: string, warnings: string[]): Record<string, JsonValue> {
  try {
    return paramJsonSchema(params as Parameters<typeof paramJsonSchema>[0])
  } catch (error) {
    warnings.push(`export "${exportName}": its params schema has no JSON Schema form (${(error as Error).message})`)
    return {}
  }
}
