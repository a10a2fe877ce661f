import type { JsonValue } from '../protocol/json.js'
import type { ConnectionJson, WorkflowNodeJson } from '../protocol/workflow-json.js'
import { isOptionalParam, paramJsonSchema } from './param-schema.js'
import type { NodeRegistry } from './registry.js'
import { findTemplates, inputName } from './template.js'

type JsonObject = { [key: string]: JsonValue }

// An embedded template renders whatever it is given as text.
const EMBEDDED_INPUT: JsonObject = { type: ['string', 'number', 'boolean'] }

// A whole template inside a param the author shaped (`filter: { owner: '${owner}' }`) fills a
// value there, not structure: a scalar, or a list of them (`{ $in: '${ids}' }`).
const SCALAR: JsonObject = { type: ['string', 'number', 'boolean', 'null'] }
const NESTED_INPUT: JsonObject = { anyOf: [SCALAR, { type: 'array', items: SCALAR }] }

/**
 * Marks an input that exists only because a node declares a param nobody set that the author
 * never asked callers for: an optional one (a List's `limit`, a BulkDelete's `confirmed`) or a
 * literal one (a Function node's `code`). In-process callers may inject it, as in the source
 * system; a remote caller may not (see caller-inputs.ts).
 */
export const OPTIONAL_PARAM_INPUT = 'x-nexflow-optional-param'

/**
 * Derives the JSON Schema of a workflow's inputs: every template's input (typed by the param it
 * fills when the template is the whole string) and every declared param that no config value or
 * connection fills (the workflow-level inputs the runtime injects by name).
 */
export function deriveInputSchema(nodes: readonly WorkflowNodeJson[], connections: readonly ConnectionJson[], registry: NodeRegistry | undefined): JsonObject {
  const properties = new Map<string, JsonObject>()
  const required = new Set<string>()
  /** Inputs a template or a required param asks for: what a remote caller may fill. */
  const declared = new Set<string>()
  const add = (name: string, schema: JsonObject, isRequired: boolean, isDeclared: boolean) => {
    if (!properties.has(name)) properties.set(name, schema)
    if (isRequired) required.add(name)
    if (isDeclared) declared.add(name)
  }

  for (const node of nodes) {
    const definition = registry?.get(node.type)
    const shape = definition?.params.shape
    for (const site of findTemplates(node.params)) {
      const param = String(site.path[0])
      if (definition?.literalParams.includes(param) === true) continue
      const field = shape?.[param]
      // Only a template that is the whole param may be left out; one inside a shaped param may not.
      const optional = field !== undefined && site.path.length === 1 && isOptionalParam(field)
      for (const ref of site.refs) {
        const name = inputName(ref)
        const typed = site.kind === 'whole' && ref === name && site.path.length === 1 && field !== undefined
        const nested = site.kind === 'whole' && ref === name && site.path.length > 1
        add(name, typed ? paramJsonSchema(field) : site.kind === 'embedded' ? EMBEDDED_INPUT : nested ? NESTED_INPUT : {}, !optional, true)
      }
    }
    if (shape === undefined) continue
    const fed = new Set(connections.filter((c) => c.to === node.id).map((c) => c.toInput))
    for (const [param, field] of Object.entries(shape)) {
      if (Object.hasOwn(node.params, param) || fed.has(param)) continue
      const optional = isOptionalParam(field)
      // A literal param is source code (a Function node's `code`): even left unset, it is never
      // something a remote caller may supply.
      const literal = definition?.literalParams.includes(param) === true
      add(param, paramJsonSchema(field), !optional, !optional && !literal)
    }
  }
  for (const [name, schema] of properties) {
    if (!declared.has(name)) properties.set(name, { ...schema, [OPTIONAL_PARAM_INPUT]: true })
  }

  const schema: JsonObject = {
    type: 'object',
    properties: Object.fromEntries(properties),
    additionalProperties: true,
  }
  if (required.size > 0) schema.required = [...required].sort()
  return schema
}
