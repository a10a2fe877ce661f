import { Hono, type Context } from 'hono'
import { NexflowError } from '../../errors.js'
import { sha256 } from '../../sha256.js'
import { validateCallerInputs } from '../../workflow/caller-inputs.js'
import type { Durability } from '../durability/durability.js'
import type { RunRecord } from '../durability/run-store.js'
import type { ServedWorkflow } from '../workflow-table.js'
import { errorResponse, failedRunResponse } from './errors.js'
import type { ExecuteRequest } from './execute-body.js'
import { plainAnswer } from './response-headers.js'

/** What the routes need of durability (see Durability). */
export type RunsService = Pick<Durability, 'accept' | 'get' | 'cancel' | 'beginIdempotent' | 'completeIdempotent' | 'releaseIdempotent'>

/** An Idempotency-Key: 1 to 255 printable ASCII characters. */
export const IDEMPOTENCY_KEY_MAX = 255
const KEY_PATTERN = /^[\x20-\x7e]+$/
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/**
 * The request's Idempotency-Key, checked, and scoped to the authenticated client (its principal
 * id): one client's key never replays another's answer. Undefined without one.
 */
export function idempotencyKeyOf(c: Context): string | undefined {
  const key = c.req.header('idempotency-key')
  if (key === undefined) return undefined
  if (key.length === 0 || key.length > IDEMPOTENCY_KEY_MAX || !KEY_PATTERN.test(key)) {
    throw new NexflowError('IDEMPOTENCY_KEY_INVALID', `The Idempotency-Key header must be 1 to ${IDEMPOTENCY_KEY_MAX} printable ASCII characters (got ${key.length} characters${KEY_PATTERN.test(key) || key.length === 0 ? '' : ', some not printable ASCII'}); a UUID is a good key`, {
      details: { length: key.length, max: IDEMPOTENCY_KEY_MAX },
    })
  }
  const principal = c.get('principal')
  return principal === undefined ? key : `${principal.id} ${key}`
}

/** JSON with object keys sorted at every depth: the same inputs hash the same whatever their key order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`
  if (value !== null && typeof value === 'object') {
    const object = value as Record<string, unknown>
    return `{${Object.keys(object)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonical(object[key])}`)
      .join(',')}}`
  }
  return JSON.stringify(value) ?? 'null'
}

/** What an Idempotency-Key is bound to: the workflow, the mode and the inputs (`parameters` is `inputs`). */
export function bodyHash(workflow: string, request: ExecuteRequest): string {
  return sha256(`${workflow}\n${request.mode}\n${canonical(request.inputs)}`)
}

const JSON_TYPE = 'application/json; charset=utf-8'

/** An execute answer before it is a Response: what an Idempotency-Key stores and replays. */
export interface JsonAnswer {
  status: number
  /** JSON text. */
  body: string
  headers?: Record<string, string>
}

/** The Response of an answer, with the headers the middleware set before the route (X-Request-Id, RateLimit-*, the secure headers). */
export function jsonResponse(c: Context, answer: JsonAnswer, headers?: Record<string, string>): Response {
  return plainAnswer(c, answer.body, answer.status, { 'content-type': JSON_TYPE, ...answer.headers, ...headers })
}

/**
 * Runs `respond` at most once per key: the first request with a key runs and its answer is stored
 * (unless it is a 5xx: a retry must run again); the same key and body again gets that answer with
 * `Idempotent-Replayed: true`; another body is 422; a key whose first request is still running is 409.
 * The answer stays JSON text throughout: storing it never reads a Response's body stream.
 */
export async function idempotent(c: Context, runs: RunsService, key: string, hash: string, development: boolean, respond: () => Promise<JsonAnswer>): Promise<Response> {
  const begun = await runs.beginIdempotent(key, hash)
  switch (begun.kind) {
    case 'replay':
      return jsonResponse(c, { status: begun.status, body: begun.body }, { 'idempotent-replayed': 'true' })
    case 'conflict':
      throw new NexflowError('IDEMPOTENCY_CONFLICT', 'A request with this Idempotency-Key is still being processed; retry once it has finished', { details: { retryable: true } })
    case 'mismatch':
      throw new NexflowError('IDEMPOTENCY_MISMATCH', 'This Idempotency-Key was already used with a different request body or workflow; use a new key for a new request')
    case 'new':
      break
  }
  let answer: JsonAnswer
  try {
    answer = await respond()
  } catch (error) {
    const { status, body } = errorResponse(error, development)
    if (status >= 500) {
      await runs.releaseIdempotent(key)
      throw error
    }
    answer = { status, body: JSON.stringify(body) }
  }
  if (answer.status >= 500) {
    await runs.releaseIdempotent(key)
    return jsonResponse(c, answer)
  }
  await runs.completeIdempotent(key, answer.status, answer.body)
  return jsonResponse(c, answer)
}

/** The answer to `mode: 'async'`: 202 with the id to poll. */
export async function acceptAsync(runs: RunsService | undefined, workflow: ServedWorkflow, inputs: Record<string, unknown>, requestId: string | undefined): Promise<JsonAnswer> {
  if (runs === undefined) throw new NexflowError('REQUEST_INVALID', 'This server does not take async runs (no durability)')
  // Refused now with the 400 a sync run gets, rather than accepted and failed when it runs.
  validateCallerInputs(workflow.name, workflow.json.inputSchema, inputs)
  const run = await runs.accept(workflow, inputs, requestId)
  return {
    status: 202,
    body: JSON.stringify({ execution_id: run.id, status: run.status }),
    headers: { location: `/workflows/${encodeURIComponent(workflow.name)}/status/${run.id}` },
  }
}

function iso(ms: number | undefined): string | null {
  return ms === undefined ? null : new Date(ms).toISOString()
}

/** A run as `GET /workflows/:name/status/:id` shows it. */
export function statusBody(run: RunRecord, development: boolean): Record<string, unknown> {
  return {
    execution_id: run.id,
    workflow_id: run.workflow,
    status: run.status,
    ...(run.outputs === undefined ? {} : { outputs: JSON.parse(run.outputs) as unknown }),
    ...(run.error === undefined ? {} : { error: failedRunResponse(run.error, development).body.error }),
    created_at: iso(run.createdAt),
    started_at: iso(run.startedAt),
    finished_at: iso(run.finishedAt),
  }
}

function executionId(c: Context): string {
  const id = c.req.param('execution_id') ?? ''
  if (!UUID_PATTERN.test(id)) throw new NexflowError('REQUEST_INVALID', 'execution_id must be a UUID as answered by an async execute (e.g. 3f1c0a52-9d1e-4b7a-8c55-0e6f2b1d9a47)', { details: { length: id.length } })
  return id.toLowerCase()
}

/** `GET` and `DELETE /workflows/:name/status/:execution_id`, mounted under `/workflows`. */
export function runsRoutes(runs: RunsService, development: boolean): Hono {
  const routes = new Hono()
  routes.get('/:name/status/:execution_id', async (c) => c.json(statusBody(await runs.get(c.req.param('name'), executionId(c)), development)))
  routes.delete('/:name/status/:execution_id', async (c) => c.json(statusBody(await runs.cancel(c.req.param('name'), executionId(c)), development)))
  return routes
}
