import { realpathSync } from 'node:fs'
import type { WorkflowJson } from '../protocol/workflow-json.js'
import { defaultRegistry } from '../workflow/default-registry.js'
import type { NodeRegistry } from '../workflow/registry.js'
import { mainThreadTypes } from './workflow-table.js'

/**
 * How a registered workflow whose node types are not all built in could run in the pool: the
 * files an execution worker imports to have those types (a DataFlow's models module, a module
 * of `defineNode`s), or, per type, why it cannot. A plan is a candidate only: a worker must
 * import the files and then have every type before the workflow leaves the main thread.
 */
export type PoolPlan = { modules: string[]; types: string[] } | { blocked: { type: string; reason: string }[] }

function realpath(path: string): string {
  try {
    return realpathSync(path)
  } catch {
    return path
  }
}

let entry: string | undefined | null = null

/** The file node started with: the app itself. A worker must never evaluate it (it would start the app again). */
function entryModule(): string | undefined {
  if (entry === null) entry = process.argv[1] === undefined ? undefined : realpath(process.argv[1])
  return entry
}

export function poolPlan(json: WorkflowJson, registry: NodeRegistry = defaultRegistry()): PoolPlan {
  const types = mainThreadTypes(json)
  const modules = new Set<string>()
  const blocked: { type: string; reason: string }[] = []
  for (const type of types) {
    const definition = registry.get(type)
    const module = definition?.module
    if (definition === undefined) blocked.push({ type, reason: 'not in the default node registry, which is the one workers use' })
    else if (module === undefined) blocked.push({ type, reason: 'not defined in a file a worker can import (code from a string, or a model of an in-memory database, private to its thread)' })
    else if (realpath(module) === entryModule()) blocked.push({ type, reason: `defined in the app's entry file ${module}, which a worker must not run again: move it to a module of its own` })
    else modules.add(module)
  }
  return blocked.length > 0 ? { blocked } : { modules: [...modules].sort(), types }
}
