import type { Context, MiddlewareHandler } from 'hono'

/**
 * The headers of a request's answer, kept as a plain object (lowercase names) until the answer is
 * made. hono keeps them in a web `Headers` from the first `c.header()`, and @hono/node-server
 * then copies that into Node's own form: each `set` validates its name and value in JavaScript
 * (undici), and the copy sorts them. With a request id and the secure headers, that was about 15
 * `set`s per request, all on the server's one thread.
 */
type Plain = Record<string, string | string[]>

/** A request's headers so far: the fixed ones for its path (shared, never written) and its own. */
interface Collected {
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

/**
 * Mounted before every other middleware. `c.header()` (ours, hono's request id, the rate
 * limiter's) collects into a plain object until the route answers; `fixed` headers (the secure
 * headers, the same for every request to a path) come first, and a header set later wins.
 * An answer not made by {@link plainAnswer} (hono's `c.json()`, an error page, a stream) gets the
 * collected headers set on it after the route.
 */
export function plainResponseHeaders(fixed?: (c: Context) => Readonly<Record<string, string>>): MiddlewareHandler {
  return async function responseHeaders(c, next) {
    const collected: Collected = { fixed: fixed?.(c), own: {} }
    c.set(COLLECTED, collected)
    const honoHeader = c.header
    c.header = (name: string, value?: string, options?: { append?: boolean }) => {
      // Once answered, a header goes on the answer itself (hono's way).
      if (c.finalized) return honoHeader(name, value, options)
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
      if (options?.append !== true || current === undefined) collected.own[key] = value
      else if (key === 'set-cookie') collected.own[key] = [...[current].flat(), value]
      else collected.own[key] = `${String(current)}, ${value}`
    }
    await next()
    if (carried.has(c.res)) return
    const { headers } = c.res
    for (const [name, value] of Object.entries({ ...collected.fixed, ...collected.own })) {
      if (Array.isArray(value)) for (const each of value) headers.append(name, each)
      else if (name === 'vary' && headers.has('vary')) headers.set(name, `${headers.get('vary')}, ${value}`)
      else headers.set(name, value)
    }
  }
}

/**
 * An answer with the request's collected headers, as a Response @hono/node-server writes without
 * building a `Headers` (a string body and a plain header object). Without the middleware above
 * (an app built with no middleware), it carries only its own headers.
 */
export function plainAnswer(c: Context, body: string, status: number, headers: Readonly<Record<string, string>>): Response {
  const collected = c.get(COLLECTED) as Collected | undefined
  const response = new Response(body, { status, headers: collected === undefined ? headers : { ...collected.fixed, ...collected.own, ...headers } })
  if (collected !== undefined) carried.add(response)
  return response
}
