import { sha256 } from '../../sha256.js'

/** Longest tool name MCP clients accept everywhere. */
export const MAX_TOOL_NAME = 64

/**
 * The MCP tool name of a workflow: its name with every character outside `[A-Za-z0-9_-]` (the
 * characters every MCP client accepts in a tool name) replaced by `_`; a name longer than 64
 * characters keeps its first 55 and ends with `_` and 8 hex characters of its hash.
 * `orders.create` -> `orders_create`.
 */
export function toolNameOf(workflowName: string): string {
  const safe = workflowName.replace(/[^A-Za-z0-9_-]/g, '_')
  if (safe.length <= MAX_TOOL_NAME) return safe
  return `${safe.slice(0, MAX_TOOL_NAME - 9)}_${sha256(workflowName).slice(0, 8)}`
}

export interface ToolNaming<T extends { name: string }> {
  /** Tool name -> the one workflow it names. */
  tools: Map<string, T>
  /** Tool names two or more workflows map to: none of them is a tool. */
  collisions: Map<string, string[]>
}

/** Tool names for a set of workflows. A name two workflows map to is a collision: neither is silently dropped in favour of the other, both are reported. */
export function nameTools<T extends { name: string }>(workflows: readonly T[]): ToolNaming<T> {
  const byTool = new Map<string, T[]>()
  for (const workflow of workflows) {
    const name = toolNameOf(workflow.name)
    byTool.set(name, [...(byTool.get(name) ?? []), workflow])
  }
  const tools = new Map<string, T>()
  const collisions = new Map<string, string[]>()
  for (const [name, claimants] of byTool) {
    if (claimants.length === 1) tools.set(name, claimants[0] as T)
    else collisions.set(name, claimants.map((workflow) => workflow.name).sort())
  }
  return { tools, collisions }
}
