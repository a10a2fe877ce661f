import type { z } from 'zod'

/**
 * The closed set of error codes nexflow raises. Each code has exactly one HTTP
 * status in {@link HTTP_STATUS_BY_CODE}, so adding a code does not compile
 * until it has one.
 */
export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'VALIDATION_FAILED'
  | 'MISSING_INPUT'
  | 'WORKFLOW_INVALID'
  | 'NODE_TYPE_UNKNOWN'
  | 'NODE_TYPE_DUPLICATE'
  | 'WORKFLOW_NOT_FOUND'
  | 'WORKFLOW_EXECUTION_FAILED'
  | 'WORKFLOW_ABORTED'
  | 'WORKFLOW_TIMEOUT'
  | 'DATABASE_URL_INVALID'
  | 'DATABASE_ERROR'
  | 'MIGRATION_REQUIRED'
  | 'MIGRATION_LOCK_TIMEOUT'
  | 'RECORD_NOT_FOUND'
  | 'CONFLICT'
  | 'DISCOVERY_TIMEOUT'
  | 'DISCOVERY_STUCK'
  | 'DISCOVERY_OUT_OF_MEMORY'
  | 'DISCOVERY_EXITED'
  | 'DISCOVERY_CRASHED'
  | 'DISCOVERY_MANIFEST_INVALID'
  | 'DISCOVERY_ABORTED'
  | 'WORKFLOW_NAME_CONFLICT'
  | 'REQUEST_INVALID'
  | 'BODY_TOO_LARGE'
  | 'RUN_TIMEOUT'
  | 'RUN_WORKER_EXITED'
  | 'RUN_OUT_OF_MEMORY'
  | 'SERVER_CLOSING'
  | 'UNAUTHORIZED'
  | 'RATE_LIMITED'
  | 'AUTH_UNAVAILABLE'
  | 'INTERNAL'

export const HTTP_STATUS_BY_CODE: Record<ErrorCode, number> = {
  CONFIG_INVALID: 500,
  VALIDATION_FAILED: 400,
  MISSING_INPUT: 400,
  WORKFLOW_INVALID: 500,
  NODE_TYPE_UNKNOWN: 500,
  NODE_TYPE_DUPLICATE: 500,
  WORKFLOW_NOT_FOUND: 404,
  WORKFLOW_EXECUTION_FAILED: 500,
  WORKFLOW_ABORTED: 499,
  WORKFLOW_TIMEOUT: 504,
  DATABASE_URL_INVALID: 500,
  DATABASE_ERROR: 500,
  MIGRATION_REQUIRED: 500,
  MIGRATION_LOCK_TIMEOUT: 503,
  RECORD_NOT_FOUND: 404,
  CONFLICT: 409,
  DISCOVERY_TIMEOUT: 504,
  DISCOVERY_STUCK: 504,
  DISCOVERY_OUT_OF_MEMORY: 500,
  DISCOVERY_EXITED: 500,
  DISCOVERY_CRASHED: 500,
  DISCOVERY_MANIFEST_INVALID: 502,
  DISCOVERY_ABORTED: 499,
  WORKFLOW_NAME_CONFLICT: 409,
  REQUEST_INVALID: 400,
  BODY_TOO_LARGE: 413,
  RUN_TIMEOUT: 504,
  RUN_WORKER_EXITED: 500,
  RUN_OUT_OF_MEMORY: 500,
  SERVER_CLOSING: 503,
  UNAUTHORIZED: 401,
  RATE_LIMITED: 429,
  AUTH_UNAVAILABLE: 503,
  INTERNAL: 500,
}

export interface NexflowErrorOptions {
  cause?: unknown
  /** Plain, JSON-safe facts about the failure (node id, option name, ...). */
  details?: Record<string, unknown>
}

/** Base class of every error nexflow raises on purpose. `code` is stable; messages may improve. */
export class NexflowError extends Error {
  readonly code: ErrorCode
  readonly details: Record<string, unknown>

  constructor(code: ErrorCode, message: string, options: NexflowErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'NexflowError'
    this.code = code
    this.details = options.details ?? {}
  }

  get httpStatus(): number {
    return HTTP_STATUS_BY_CODE[this.code]
  }
}

/** Input that failed a zod schema: always a 400, with the zod issues kept. */
export class ValidationError extends NexflowError {
  readonly issues: readonly z.core.$ZodIssue[]

  constructor(message: string, issues: readonly z.core.$ZodIssue[], options: NexflowErrorOptions = {}) {
    super('VALIDATION_FAILED', message, options)
    this.name = 'ValidationError'
    this.issues = issues
  }
}

/** A node failed in a way that stops the run. Keeps the node id, the cause and the results so far. */
export class WorkflowExecutionError extends NexflowError {
  readonly nodeId: string
  readonly results: Readonly<Record<string, unknown>>

  constructor(nodeId: string, message: string, results: Record<string, unknown>, options: NexflowErrorOptions = {}) {
    super('WORKFLOW_EXECUTION_FAILED', message, { ...options, details: { nodeId, ...options.details } })
    this.name = 'WorkflowExecutionError'
    this.nodeId = nodeId
    this.results = results
  }
}

/** The run was stopped from outside: its signal aborted (`WORKFLOW_ABORTED`) or its deadline passed (`WORKFLOW_TIMEOUT`). */
export class WorkflowAbortedError extends NexflowError {
  constructor(code: 'WORKFLOW_ABORTED' | 'WORKFLOW_TIMEOUT', message: string, options: NexflowErrorOptions = {}) {
    super(code, message, options)
    this.name = 'WorkflowAbortedError'
  }
}

/** A plain, structured-clone-safe form of any thrown value; what crosses thread boundaries and HTTP. */
export interface SerializedError {
  name: string
  message: string
  code?: ErrorCode | undefined
  stack?: string | undefined
  details?: Record<string, unknown> | undefined
}

/** Turns anything that was thrown (an Error, a string, `null`) into a {@link SerializedError}. */
export function serializeError(value: unknown): SerializedError {
  if (value instanceof NexflowError) {
    return { name: value.name, message: value.message, code: value.code, stack: value.stack, details: value.details }
  }
  if (value instanceof Error) {
    return { name: value.name, message: value.message, stack: value.stack }
  }
  return { name: 'NonError', message: describeThrown(value) }
}

function describeThrown(value: unknown): string {
  if (value === null) return 'null was thrown'
  if (value === undefined) return 'undefined was thrown'
  if (typeof value === 'string') return value
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return `${typeof value} was thrown: ${value}`
  if (typeof value === 'symbol') return `symbol was thrown: ${value.toString()}`
  try {
    return `${typeof value} was thrown: ${JSON.stringify(value)}`
  } catch {
    return `${typeof value} was thrown: ${Object.prototype.toString.call(value)}`
  }
}

/** Wraps an unknown thrown value once, at a boundary, keeping the original as `cause`. */
export function toNexflowError(value: unknown): NexflowError {
  if (value instanceof NexflowError) return value
  const message = value instanceof Error ? value.message : describeThrown(value)
  return new NexflowError('INTERNAL', message, { cause: value })
}
