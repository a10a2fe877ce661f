import { z } from 'zod'
import { deepFreeze, type JsonValue } from '../protocol/json.js'

type JsonObject = { [key: string]: JsonValue }

// A node type's param schemas are built once and used by every workflow and run: converting
// one to JSON Schema took most of WorkflowBuilder.build() (about 0.3 ms per workflow), so each
// is converted once. Results are frozen, since every caller shares them.
const jsonSchemas = new WeakMap<z.core.$ZodType, Readonly<JsonObject>>()
const optionals = new WeakMap<z.core.$ZodType, boolean>()

/** True when a param may be left out (optional, or has a default). */
export function isOptionalParam(schema: z.core.$ZodType): boolean {
  let optional = optionals.get(schema)
  if (optional === undefined) {
    optional = z.safeParse(schema, undefined).success
    optionals.set(schema, optional)
  }
  return optional
}

/** JSON Schema of one zod param, as a request would send it (dates as ISO strings). Frozen: it is shared. */
export function paramJsonSchema(schema: z.core.$ZodType): Readonly<JsonObject> {
  let json = jsonSchemas.get(schema)
  if (json === undefined) {
    json = deepFreeze(toParamJsonSchema(schema))
    jsonSchemas.set(schema, json)
  }
  return json
}

function toParamJsonSchema(schema: z.core.$ZodType): JsonObject {
  const json = z.toJSONSchema(schema, {
    io: 'input',
    unrepresentable: 'any',
    override: (ctx) => {
      const type = (ctx.zodSchema as { _zod?: { def?: { type?: string } } })._zod?.def?.type
      if (type === 'date') Object.assign(ctx.jsonSchema, { type: 'string', format: 'date-time' })
      if (type === 'bigint') Object.assign(ctx.jsonSchema, { type: 'integer' })
    },
  }) as JsonObject
  delete json.$schema
  return json
}
