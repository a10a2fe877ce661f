import type { ServedWorkflow } from './workflow-table.js'

/** A workflow as `GET /workflows` lists it. */
export function workflowSummary(workflow: ServedWorkflow): Record<string, unknown> {
  const base = `/workflows/${encodeURIComponent(workflow.name)}`
  return {
    name: workflow.name,
    description: workflow.description,
    version: workflow.version,
    input_schema: workflow.callerSchema,
    source: workflow.source.kind === 'discovered' ? { kind: 'discovered', file: workflow.source.relativePath, export: workflow.source.exportName } : { kind: 'registered', runs_in: workflow.source.runsIn },
    endpoints: { execute: `${base}/execute`, info: `${base}/workflow/info`, health: `${base}/health` },
    ...(workflow.stale === undefined ? {} : { stale: true, stale_reason: `${workflow.stale.status}: ${workflow.stale.message}` }),
  }
}

/** `GET /workflows/:name/workflow/info` (the source system's shape); also the MCP resource `workflow://{name}`. */
export function workflowInfo(workflow: ServedWorkflow): Record<string, unknown> {
  const { json } = workflow
  return {
    workflow_id: workflow.name,
    name: workflow.name,
    description: workflow.description,
    version: workflow.version,
    input_schema: workflow.callerSchema,
    nodes: json.nodes.map((node) => ({ id: node.id, type: node.type })),
    edges: json.connections.map((c) => ({ source: c.from, target: c.to, source_output: c.fromOutput, target_input: c.toInput })),
    node_count: json.nodes.length,
    edge_count: json.connections.length,
  }
}
