import { z } from 'zod'
import { ValidationError } from '../errors.js'
import { unsafeKeyAt, unsafeKeyReason } from '../protocol/json.js'
import { OPTIONAL_PARAM_INPUT } from './input-schema.js'

type JsonSchemaObject = Record<string, unknown>

/**
 * The JSON Schema of what a remote caller (HTTP, MCP, CLI) may send a workflow: its declared
 * inputs (every template input and every required param nothing fills) and nothing else. Unlike
 * `workflow.inputSchema`, unknown keys are refused, and inputs that exist only because a node
 * has an optional param nobody set are left out: a caller must not be able to add
 * `confirmed: true` to a BulkDelete the author left unconfirmed.
 */
export function callerInputSchema(inputSchema: Readonly<JsonSchemaObject>): JsonSchemaObject {
  const properties: Record<string, unknown> = {}
  const given = (inputSchema.properties ?? {}) as Record<string, Record<string, unknown>>
  for (const [name, schema] of Object.entries(given)) {
    if (schema[OPTIONAL_PARAM_INPUT] === true) continue
    properties[name] = schema
  }
  const required = Array.isArray(inputSchema.required) ? (inputSchema.required as string[]).filter((name) => Object.hasOwn(properties, name)) : []
  return { type: 'object', properties, ...(required.length > 0 ? { required } : {}), additionalProperties: false }
}

// Converting a JSON Schema to zod costs about 250 us, validating with it about 8: one validator
// per schema object, and one per distinct schema, which workflows made from one template (a
// thousand that all take `userId`) share.
const validators = new WeakMap<object, z.ZodType>()
const validatorsByText = new Map<string, z.ZodType>()
/** Distinct schemas kept by text; past it, a new schema's validator is kept by its object only. */
const MAX_SHARED_VALIDATORS = 1000

function validatorFor(inputSchema: Readonly<JsonSchemaObject>): z.ZodType {
  let validator = validators.get(inputSchema)
  if (validator === undefined) {
    const callerSchema = callerInputSchema(inputSchema)
    const text = JSON.stringify(callerSchema)
    validator = validatorsByText.get(text)
    if (validator === undefined) {
      validator = z.fromJSONSchema(callerSchema)
      if (validatorsByText.size < MAX_SHARED_VALIDATORS) validatorsByText.set(text, validator)
    }
    validators.set(inputSchema, validator)
  }
  return validator
}

function describeIssue(issue: z.core.$ZodIssue, inputs: unknown): string {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => `input "${key}" is not an input of this workflow`).join('; ')
  }
  const [first] = issue.path
  if (issue.path.length === 1 && typeof first === 'string' && inputs !== null && typeof inputs === 'object' && !Object.hasOwn(inputs, first)) {
    return `input "${first}" is required`
  }
  const at = issue.path.length === 0 ? 'inputs' : `input "${issue.path.map(String).join('.')}"`
  return `${at}: ${issue.message}`
}

/**
 * Checks a remote caller's inputs against the workflow's declared inputs. Throws a
 * `VALIDATION_FAILED` {@link ValidationError} naming each bad input (unknown, missing, wrong
 * type, a prototype key or an over-long key anywhere inside); returns the inputs unchanged.
 */
export function validateCallerInputs(workflowName: string, inputSchema: Readonly<JsonSchemaObject>, inputs: unknown): Record<string, unknown> {
  const unsafe = unsafeKeyAt(inputs)
  if (unsafe !== undefined) {
    const why = unsafeKeyReason(unsafe.reason)
    const message = `Workflow "${workflowName}": key "${unsafe.key}" at inputs${unsafe.path} ${why}`
    throw new ValidationError(message, [{ code: 'custom', path: unsafe.path.split('.').filter(Boolean), message: `key "${unsafe.key}" ${why}`, input: undefined }], {
      details: { workflow: workflowName, key: unsafe.key },
    })
  }
  const parsed = validatorFor(inputSchema).safeParse(inputs)
  if (!parsed.success) {
    // One line per input: a format and the pattern that spells it out are one problem to a caller.
    const seen = new Set<string>()
    const firstPerInput = parsed.error.issues.filter((issue) => {
      const key = issue.code === 'unrecognized_keys' ? `?${issue.keys.join(',')}` : issue.path.map(String).join('.')
      if (seen.has(key)) return false
      seen.add(key)
      return true
    })
    const detail = firstPerInput.map((issue) => describeIssue(issue, inputs)).join('; ')
    throw new ValidationError(`Workflow "${workflowName}" got invalid inputs: ${detail}`, parsed.error.issues, { details: { workflow: workflowName } })
  }
  return inputs as Record<string, unknown>
}
