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
  // The node's own error, with what it was thrown for, as the cause of the run's failure.
  const nodeError: SerializedError = {
    name: typeof record?.errorType === 'string' ? record.errorType : 'Error',
    ...cause,
    ...(typeof record?.stack === 'string' ? { stack: record.stack } : {}),
    ...(isSerializedError(record?.cause) ? { cause: record.cause } : {}),
  }
  return {
    name: 'WorkflowExecutionError',
    code: 'WORKFLOW_EXECUTION_FAILED',
    message,
    ...(typeof record?.stack === 'string' ? { stack: record.stack } : {}),
    // `details.cause` is the documented, flat form callers read the node's code from.
    details: { nodeId, failed: result.failed, cause },
    cause: nodeError,
  }
}

function isSerializedError(value: unknown): value is SerializedError {
  return typeof value === 'object' && value !== null && typeof (value as { message?: unknown }).message === 'string'
}
