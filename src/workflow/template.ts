import { getPath, parsePath } from './dotted-path.js'

// `${name}` (TypeScript style) and `{{name}}` (the source system's examples). Names may be dotted
// to reach into an object input: `${user.email}`.
const TEMPLATE = /\$\{\s*([A-Za-z_][\w]*(?:\.[\w]+)*)\s*\}|\{\{\s*([A-Za-z_][\w]*(?:\.[\w]+)*)\s*\}\}/g

/** One string inside a node's params that holds templates. */
export interface TemplateSite {
  /** Where the string sits in the params; `path[0]` is the top-level param name. */
  readonly path: readonly (string | number)[]
  /** `whole`: the string is exactly one template and takes the input's type; `embedded`: it renders to a string. */
  readonly kind: 'whole' | 'embedded'
  readonly source: string
  /** Input names as written (possibly dotted); the first segment is the workflow input. */
  readonly refs: readonly string[]
}

export function findTemplates(value: unknown, path: (string | number)[] = []): TemplateSite[] {
  if (typeof value === 'string') {
    const refs = [...value.matchAll(TEMPLATE)].map((m) => (m[1] ?? m[2]) as string)
    if (refs.length === 0) return []
    const whole = refs.length === 1 && value.replace(TEMPLATE, '').length === 0
    return [{ path, kind: whole ? 'whole' : 'embedded', source: value, refs }]
  }
  if (Array.isArray(value)) return value.flatMap((item, i) => findTemplates(item, [...path, i]))
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).flatMap(([key, item]) => findTemplates(item, [...path, key]))
  }
  return []
}

/** The workflow input a template ref reads: `user.email` reads input `user`. */
export function inputName(ref: string): string {
  const dot = ref.indexOf('.')
  return dot === -1 ? ref : ref.slice(0, dot)
}

function lookup(inputs: Readonly<Record<string, unknown>>, ref: string): unknown {
  const name = inputName(ref)
  if (!Object.hasOwn(inputs, name)) return undefined
  const value = inputs[name]
  return name === ref ? value : getPath(value, parsePath(ref).slice(1))
}

function stringify(value: unknown): string {
  if (typeof value === 'string') return value
  if (value instanceof Date) return value.toISOString()
  if (value !== null && typeof value === 'object') return JSON.stringify(value)
  return String(value)
}

export type RenderResult = { ok: true; value: unknown } | { ok: false; missing: string }

/** Renders one site against the inputs; a missing input is reported, never left as literal text. */
export function renderSite(site: TemplateSite, inputs: Readonly<Record<string, unknown>>): RenderResult {
  for (const ref of site.refs) {
    if (lookup(inputs, ref) === undefined) return { ok: false, missing: ref }
  }
  if (site.kind === 'whole') return { ok: true, value: lookup(inputs, site.refs[0] as string) }
  return { ok: true, value: site.source.replace(TEMPLATE, (_m, a: string | undefined, b: string | undefined) => stringify(lookup(inputs, (a ?? b) as string))) }
}

/** Writes `value` at `path` inside a params object that the caller owns (already copied). */
export function setAt(target: Record<string, unknown>, path: readonly (string | number)[], value: unknown): void {
  let current: Record<string | number, unknown> = target
  for (let i = 0; i < path.length - 1; i++) current = current[path[i] as string] as Record<string | number, unknown>
  current[path[path.length - 1] as string] = value
}
