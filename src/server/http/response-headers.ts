import type { Context } from 'hono'

/**
 * The headers of a request's answer, kept as a plain object (lowercase names) until the answer is
 * made. hono keeps them in a web `Headers` from the first `c.header()`, and @hono/node-server
 * then copies that into Node's own form: each `set` validates its name and value in JavaScript
 * (undici), and the copy sorts them. With a request id and the secure headers, that was about 15
 * `set`s per request, all on the server's one thread.
 */
type Plain = Record<string, string | string[]>

/** A request's headers so far: the fixed ones for its path (shared, never written) and its own. */
export interface Collected {
  fixed: Readonly<Record<string, string>> | undefined
  own: Plain
}

const COLLECTED = 'nexflowResponseHeaders'

declare module 'hono' {
  interface ContextVariableMap {
    [COLLECTED]: Collected
  }
}

/** Answers made by {@link plainAnswer}: they already carry the request's headers. */
const carried = new WeakSet<Response>()

/** Starts collecting a request's answer headers, `fixed` first (the secure headers for its path). */
export function collectHeaders(c: Context, fixed: Readonly<Record<string, string>> | undefined): Collected {
  const collected: Collected = { fixed, own: {} }
  c.set(COLLECTED, collected)
  return collected
}

function put(collected: Collected, name: string, value: string | undefined, append: boolean): void {
  const key = name.toLowerCase()
  if (value === undefined) {
    if (collected.fixed !== undefined && Object.hasOwn(collected.fixed, key)) {
      collected.own = { ...collected.fixed, ...collected.own }
      collected.fixed = undefined
    }
    delete collected.own[key]
    return
  }
  const current = collected.own[key] ?? collected.fixed?.[key]
  if (!append || current === undefined) collected.own[key] = value
  else if (key === 'set-cookie') collected.own[key] = [...[current].flat(), value]
  else collected.own[key] = `${String(current)}, ${value}`
}

/**
 * Sets a header of the request's answer: `c.header()` for nexflow's own middleware. It writes the
 * collected headers when there are some (a later one of the same name wins, `append` joins), and
 * goes to hono's `c.header()` otherwise (an app built without the middleware, an answer already made).
 */
export function setAnswerHeader(c: Context, name: string, value: string | undefined, options?: { append?: boolean }): void {
  const collected = c.get(COLLECTED) as Collected | undefined
  if (collected === undefined || c.finalized) c.header(name, value, options)
  else put(collected, name, value, options?.append === true)
}

/** After the route: an answer not built by {@link plainAnswer} (hono's `c.json()`, an error, a stream) gets the collected headers. */
export function carryHeaders(c: Context, collected: Collected): void {
  if (carried.has(c.res)) return
  const { headers } = c.res
  for (const [name, value] of Object.entries({ ...collected.fixed, ...collected.own })) {
    if (Array.isArray(value)) for (const each of value) headers.append(name, each)
    else if (name === 'vary' && headers.has('vary')) headers.set(name, `${headers.get('vary')}, ${value}`)
    else headers.set(name, value)
  }
}

/**
 * An answer with the request's collected headers, as a Response @hono/node-server writes without
 * building a `Headers` (a string body and a plain header object). Without the middleware (an app
 * built with none), it carries only its own headers.
 */
export function plainAnswer(c: Context, body: string, status: number, headers: Readonly<Record<string, string>>): Response {
  const collected = c.get(COLLECTED) as Collected | undefined
  const response = new Response(body, { status, headers: collected === undefined ? headers : { ...collected.fixed, ...collected.own, ...headers } })
  if (collected !== undefined) carried.add(response)
  return response
}
