import { h } from './dom.js'

/** The part of a JSON Schema the form reads (a workflow's `input_schema`). */
export interface JsonSchema {
  type?: string | string[]
  properties?: Record<string, JsonSchema>
  required?: string[]
  enum?: unknown[]
  default?: unknown
  description?: string
  minimum?: number
  maximum?: number
  items?: JsonSchema
}

const NUMBER = /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/

function typeOf(schema: JsonSchema): string | undefined {
  return Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type
}

function hint(schema: JsonSchema): string {
  const parts: string[] = []
  const type = typeOf(schema)
  parts.push(type ?? 'any JSON value')
  if (schema.minimum !== undefined && schema.minimum > Number.MIN_SAFE_INTEGER) parts.push(`≥ ${schema.minimum}`)
  if (schema.maximum !== undefined && schema.maximum < Number.MAX_SAFE_INTEGER) parts.push(`≤ ${schema.maximum}`)
  if (schema.default !== undefined) parts.push(`default ${JSON.stringify(schema.default)}`)
  if (schema.description !== undefined) parts.push(schema.description)
  return parts.join(' · ')
}

/** One input's control and how to read its value (`undefined`: leave the input out). */
interface Field {
  name: string
  read: () => unknown
  error: HTMLElement
}

function control(name: string, schema: JsonSchema, id: string): { element: HTMLElement; read: () => unknown } {
  const type = typeOf(schema)
  if (schema.enum !== undefined) {
    const options = schema.enum
    const select = h('select', { id, name }, h('option', { value: '' }, '(not set)'), options.map((option, index) => h('option', { value: String(index), selected: option === schema.default }, JSON.stringify(option))))
    return { element: select, read: () => (select.value === '' ? undefined : options[Number(select.value)]) }
  }
  if (type === 'boolean') {
    const select = h('select', { id, name }, h('option', { value: '' }, '(not set)'), h('option', { value: 'true', selected: schema.default === true }, 'true'), h('option', { value: 'false', selected: schema.default === false }, 'false'))
    return { element: select, read: () => (select.value === '' ? undefined : select.value === 'true') }
  }
  if (type === 'string') {
    const input = h('input', { id, name, type: 'text', placeholder: typeof schema.default === 'string' ? schema.default : undefined })
    return { element: input, read: () => (input.value === '' ? undefined : input.value) }
  }
  if (type === 'number' || type === 'integer') {
    // Text, not type=number: what the user typed goes to the server as it is, and the server's
    // 400 says what is wrong with it (one source of truth for validation).
    const input = h('input', { id, name, type: 'text', inputmode: type === 'integer' ? 'numeric' : 'decimal', placeholder: schema.default === undefined ? undefined : JSON.stringify(schema.default) })
    return { element: input, read: () => (input.value.trim() === '' ? undefined : NUMBER.test(input.value.trim()) ? Number(input.value) : input.value) }
  }
  // Objects, arrays and untyped inputs: JSON, or the text itself when it is not JSON.
  const area = h('textarea', { id, name, rows: type === 'object' || type === 'array' ? 3 : 1, placeholder: schema.default === undefined ? 'JSON, e.g. 42 or "text"' : JSON.stringify(schema.default) })
  return {
    element: area,
    read: () => {
      if (area.value.trim() === '') return undefined
      try {
        return JSON.parse(area.value) as unknown
      } catch {
        return area.value
      }
    },
  }
}

/** A form generated from a workflow's input schema: one field per input, required ones marked. */
export class SchemaForm {
  readonly element: HTMLFormElement
  readonly #fields: Field[] = []
  readonly #general: HTMLElement

  constructor(workflow: string, schema: JsonSchema, onSubmit: (inputs: Record<string, unknown>) => void) {
    const required = new Set(schema.required ?? [])
    const properties = Object.entries(schema.properties ?? {}).sort(([a], [b]) => Number(required.has(b)) - Number(required.has(a)) || (a < b ? -1 : 1))
    this.#general = h('p', { class: 'field-error', role: 'alert' })
    const fields = properties.map(([name, property]) => {
      const id = `in-${workflow}-${name}`
      const { element, read } = control(name, property, id)
      const error = h('span', { class: 'field-error', 'data-field-error': name, role: 'alert' })
      this.#fields.push({ name, read, error })
      return h('div', { class: 'field', 'data-field': name }, h('label', { for: id }, name, required.has(name) ? ' *' : ''), element, h('small', {}, hint(property)), error)
    })
    // novalidate: the server validates; its 400 is shown next to the field it names.
    this.element = h('form', { class: 'run-form', novalidate: true, 'data-workflow': workflow }, fields.length === 0 ? h('p', { class: 'muted' }, 'No inputs.') : fields, this.#general, h('button', { type: 'submit' }, 'Run'))
    this.element.addEventListener('submit', (event) => {
      event.preventDefault()
      onSubmit(this.values())
    })
  }

  values(): Record<string, unknown> {
    const inputs: Record<string, unknown> = {}
    for (const field of this.#fields) {
      const value = field.read()
      if (value !== undefined) inputs[field.name] = value
    }
    return inputs
  }

  clearErrors(): void {
    for (const field of this.#fields) field.error.textContent = ''
    this.#general.textContent = ''
  }

  /** Shows each issue of a 400 next to the input it names; the rest above the button. */
  showIssues(message: string, issues: { path?: unknown[]; message?: string }[]): void {
    let placed = false
    for (const issue of issues) {
      const name = issue.path?.[0]
      const field = this.#fields.find((f) => f.name === name)
      if (field === undefined) continue
      field.error.textContent = issue.message ?? message
      placed = true
    }
    // A message naming an input (`input "x" is required`) says it better than the bare issue.
    for (const field of this.#fields) {
      if (message.includes(`input "${field.name}"`)) {
        field.error.textContent = message
        placed = true
      }
    }
    if (!placed) this.#general.textContent = message
  }
}
