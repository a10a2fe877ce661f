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
  | 'RUN_NOT_FOUND'
  | 'RUN_CANCELLED'
  | 'RUN_INTERRUPTED'
  | 'RUN_FINISHED'
  | 'IDEMPOTENCY_KEY_INVALID'
  | 'IDEMPOTENCY_CONFLICT'
  | 'IDEMPOTENCY_MISMATCH'
  | 'DURABILITY_UNAVAILABLE'
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
  RUN_NOT_FOUND: 404,
  RUN_CANCELLED: 499,
  RUN_INTERRUPTED: 503,
  RUN_FINISHED: 409,
  IDEMPOTENCY_KEY_INVALID: 400,
  IDEMPOTENCY_CONFLICT: 409,
  IDEMPOTENCY_MISMATCH: 422,
  DURABILITY_UNAVAILABLE: 503,
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
  /**
   * One of nexflow's {@link ErrorCode}s, or the code the thrown error carried itself (Node's
   * `ERR_MODULE_NOT_FOUND`, a driver's `SQLITE_BUSY`): kept raw, since it is often what says what
   * to fix. {@link isErrorCode} tells them apart.
   */
  code?: string | undefined
  stack?: string | undefined
  details?: Record<string, unknown> | undefined
  /** What it was thrown for (`new Error(message, { cause })`), at most {@link MAX_CAUSE_DEPTH} levels. */
  cause?: SerializedError | undefined
}

/** Causes kept below an error: enough for a wrapped driver error, bounded against a cycle or a hostile chain. */
export const MAX_CAUSE_DEPTH = 5

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(HTTP_STATUS_BY_CODE, code)
}

export interface SerializeOptions {
  /** Cut `message` and `stack` to this many characters: text from user code is untrusted too. */
  maxText?: number
  /** How many causes deep `value` is already (internal: the chain stops at MAX_CAUSE_DEPTH). */
  depth?: number
}

/**
 * Turns anything that was thrown (an Error, a string, `null`, a Proxy whose getters throw) into a
 * {@link SerializedError}, its `cause` chain included. Never throws.
 */
export function serializeError(value: unknown, options: SerializeOptions = {}): SerializedError {
  try {
    return serializeAt(value, options.maxText ?? Infinity, options.depth ?? 0)
  } catch {
    return { name: 'NonError', message: 'a value that cannot be described was thrown' }
  }
}

function serializeAt(value: unknown, maxText: number, depth: number): SerializedError {
  const cut = (text: string) => (text.length > maxText ? `${text.slice(0, maxText)}... (${text.length - maxText} more characters)` : text)
  if (!(value instanceof Error)) return { name: 'NonError', message: cut(describeNonError(value)) }
  const serialized: SerializedError = { name: cut(String(value.name)), message: cut(String(value.message)) }
  const code = (value as { code?: unknown }).code
  if (typeof code === 'string' && code.length <= 100) serialized.code = code
  if (typeof value.stack === 'string') serialized.stack = cut(value.stack)
  if (value instanceof NexflowError && Object.keys(value.details).length > 0) serialized.details = value.details
  if (depth < MAX_CAUSE_DEPTH) {
    // A cause that cannot be read (a throwing getter) costs the cause, not the error.
    let cause: unknown
    try {
      cause = value.cause
    } catch {
      cause = undefined
    }
    if (cause !== undefined) serialized.cause = serializeError(cause, { maxText, depth: depth + 1 })
  }
  return serialized
}

/** The message of a thrown value that is not an Error. */
function describeNonError(value: unknown): string {
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
  const message = value instanceof Error ? value.message : describeNonError(value)
  return new NexflowError('INTERNAL', message, { cause: value })
}
