import { z } from 'zod'
import type { JsonValue } from '../protocol/json.js'

type JsonObject = { [key: string]: JsonValue }

/** True when a param may be left out (optional, or has a default). */
export function isOptionalParam(schema: z.core.$ZodType): boolean {
  return z.safeParse(schema, undefined).success
}

/** JSON Schema of one zod param, as a request would send it (dates as ISO strings). */
export function paramJsonSchema(schema: z.core.$ZodType): JsonObject {
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
