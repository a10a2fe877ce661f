import type { SerializedError } from '../errors.js'
import type { ExecutionResult } from './runtime.js'
import type { Workflow } from './workflow.js'

/**
 * A run in which a leaf node failed, as the error a remote caller gets. The runtime records a
 * failed leaf and carries on (the source system's semantics), but the run did not do what the
 * caller asked; the node's own error code is kept (a unique key taken, a record not found).
 */
export function failedRunError(workflow: Workflow, result: ExecutionResult): SerializedError | undefined {
  const nodeId = result.failed[0]
  if (nodeId === undefined) return undefined
  const record = result.results[nodeId]
  const type = workflow.node(nodeId)?.type ?? 'unknown'
  const cause = { message: String(record?.error), ...(typeof record?.code === 'string' ? { code: record.code } : {}) }
  const message = `Node "${nodeId}" (${type}) failed: ${cause.message}`
  return {
    name: 'WorkflowExecutionError',
    code: 'WORKFLOW_EXECUTION_FAILED',
    message,
    ...(typeof record?.stack === 'string' ? { stack: record.stack } : {}),
    details: { nodeId, failed: result.failed, cause },
  }
}
