import { NexflowError, ValidationError } from '../../errors.js'
import { unsafeKeyAt, unsafeKeyReason } from '../../protocol/json.js'

const BODY_KEYS = ['inputs', 'parameters', 'mode'] as const

/**
 * How a caller wants the answer: `sync` waits for the outputs in the response; `async` answers 202
 * with an `execution_id` at once, to poll at `GET /workflows/:name/status/:execution_id`; `stream`
 * answers server-sent events as the run goes.
 */
export const EXECUTE_MODES = ['sync', 'async', 'stream'] as const
export type ExecuteMode = (typeof EXECUTE_MODES)[number]

/** A parsed execute request. */
export interface ExecuteRequest {
  inputs: Record<string, unknown>
  mode: ExecuteMode
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

/**
 * An execute request: `{ inputs?: {...}, mode?: 'sync' | 'async' | 'stream' }`, `parameters` being the source system's
 * name for `inputs` (giving both is an error). Every key of the body is checked before anything is
 * read from it: prototype keys, over-long keys and deep nesting are refused anywhere.
 */
export function parseExecuteBody(text: string): ExecuteRequest {
  if (text.trim() === '') return { inputs: {}, mode: 'sync' }
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch (error) {
    throw new NexflowError('REQUEST_INVALID', `The request body is not valid JSON: ${(error as Error).message}; send { "inputs": { ... } }`)
  }
  const unsafe = unsafeKeyAt(body)
  if (unsafe !== undefined) {
    const message = `key "${unsafe.key}" at body${unsafe.path} ${unsafeKeyReason(unsafe.reason)}`
    throw new ValidationError(`The request body was refused: ${message}`, [{ code: 'custom', path: unsafe.path.split('.').filter(Boolean), message, input: undefined }], {
      details: { key: unsafe.key },
    })
  }
  if (!isPlainObject(body)) throw new NexflowError('REQUEST_INVALID', 'The request body must be a JSON object: { "inputs": { ... } }')
  const unknown = Object.keys(body).filter((key) => !(BODY_KEYS as readonly string[]).includes(key))
  if (unknown.length > 0) {
    throw new NexflowError('REQUEST_INVALID', `Unknown key${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `"${k}"`).join(', ')} in the request body; it takes "inputs" (or its alias "parameters") and "mode"`, {
      details: { keys: unknown },
    })
  }
  if (Object.hasOwn(body, 'inputs') && Object.hasOwn(body, 'parameters')) {
    throw new NexflowError('REQUEST_INVALID', 'Give "inputs" or "parameters" (its alias), not both')
  }
  const inputs = body.inputs ?? body.parameters ?? {}
  if (!isPlainObject(inputs)) throw new NexflowError('REQUEST_INVALID', `"${Object.hasOwn(body, 'inputs') ? 'inputs' : 'parameters'}" must be a JSON object of input names to values`)
  return { inputs, mode: parseMode(body.mode) }
}

function parseMode(mode: unknown): ExecuteMode {
  if (mode === undefined) return 'sync'
  if (typeof mode === 'string' && (EXECUTE_MODES as readonly string[]).includes(mode)) return mode as ExecuteMode
  throw new NexflowError('REQUEST_INVALID', `"mode" must be one of ${EXECUTE_MODES.map((m) => `"${m}"`).join(', ')}; got ${JSON.stringify(mode)}`, {
    details: { mode, modes: [...EXECUTE_MODES] },
  })
}
