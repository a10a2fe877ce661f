import { HTTP_STATUS_BY_CODE, isErrorCode, NexflowError, ValidationError, type ErrorCode } from '../../errors.js'
import type { SerializedErrorData } from '../../protocol/discovery.js'

/** The body of every error answer. */
export interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> }
}

/** Turns any error into its status and JSON body: the one mapping from codes to statuses. Stacks only in development. */
export function errorResponse(error: unknown, development: boolean): { status: number; body: ErrorBody } {
  if (error instanceof NexflowError) {
    const details: Record<string, unknown> = { ...error.details }
    if (error instanceof ValidationError) details.issues = error.issues
    if (development && error.stack !== undefined) details.stack = error.stack
    return { status: error.httpStatus, body: { error: { code: error.code, message: error.message, ...(Object.keys(details).length > 0 ? { details } : {}) } } }
  }
  const message = error instanceof Error ? error.message : String(error)
  const details = development && error instanceof Error && error.stack !== undefined ? { stack: error.stack } : undefined
  return { status: 500, body: { error: { code: 'INTERNAL', message: `internal error: ${message}`, ...(details === undefined ? {} : { details }) } } }
}

/**
 * The status and body of a run that failed in a worker. A node's own client-side error (a unique
 * key already taken, a record not found, invalid params) keeps its code and status, so a caller
 * can tell "your request conflicts" from "the workflow broke"; anything else is a 500 naming the
 * failed node.
 */
export function failedRunResponse(error: SerializedErrorData, development: boolean): { status: number; body: ErrorBody } {
  const details: Record<string, unknown> = { ...error.details }
  if (development && error.stack !== undefined) details.stack = error.stack
  const code = failedRunCode(error)
  return { status: HTTP_STATUS_BY_CODE[code], body: { error: { code, message: error.message, ...(Object.keys(details).length > 0 ? { details } : {}) } } }
}

/** The code a failed run is answered, logged and listed with: a node's client-side cause (CONFLICT, NOT_FOUND) if it had one, else its own. */
export function failedRunCode(error: SerializedErrorData): ErrorCode {
  const cause = error.details?.cause as { code?: unknown } | undefined
  if (isErrorCode(cause?.code) && HTTP_STATUS_BY_CODE[cause.code] < 500) return cause.code
  return isErrorCode(error.code) ? error.code : 'WORKFLOW_EXECUTION_FAILED'
}
