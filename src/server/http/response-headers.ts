import type { Context, MiddlewareHandler } from 'hono'

/**
 * The headers of a request's answer, kept as a plain object (lowercase names) until the answer is
 * made. hono keeps them in a web `Headers` from the first `c.header()`, and @hono/node-server
 * then copies that into Node's own form: each `set` validates its name and value in JavaScript
 * (undici), and the copy sorts them. With a request id and the secure headers, that was about 15
 * `set`s per request, all on the server's one thread.
 */
type Plain = Record<string, string | string[]>

const PLAIN = 'nexflowResponseHeaders'

declare module 'hono' {
  interface ContextVariableMap {
    [PLAIN]: Plain
  }
}

/** Answers made by {@link plainAnswer}: they already carry the request's headers. */
const carried = new WeakSet<Response>()

/**
 * Mounted before every other middleware. `c.header()` (ours, hono's request id, the rate
 * limiter's) collects into a plain object until the route answers; `fixed` headers (the secure
 * headers, the same for every request to a path) are added first, and a header set later wins.
 * An answer not made by {@link plainAnswer} (hono's `c.json()`, an error page, a stream) gets the
 * collected headers set on it after the route.
 */
export function plainResponseHeaders(fixed?: (path: string) => Readonly<Record<string, string>>): MiddlewareHandler {
  return async function responseHeaders(c, next) {
    const plain: Plain = fixed === undefined ? {} : { ...fixed(c.req.path) }
    c.set(PLAIN, plain)
    const honoHeader = c.header
    c.header = (name: string, value?: string, options?: { append?: boolean }) => {
      // Once answered, a header goes on the answer itself (hono's way).
      if (c.finalized) return honoHeader(name, value, options)
      const key = name.toLowerCase()
      if (value === undefined) delete plain[key]
      else if (options?.append !== true || plain[key] === undefined) plain[key] = value
      else if (key === 'set-cookie') plain[key] = [...[plain[key]].flat(), value]
      else plain[key] = `${String(plain[key])}, ${value}`
    }
    await next()
    if (carried.has(c.res)) return
    const { headers } = c.res
    for (const [name, value] of Object.entries(plain)) {
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
  const plain = c.get(PLAIN) as Plain | undefined
  const response = new Response(body, { status, headers: plain === undefined ? headers : { ...plain, ...headers } })
  if (plain !== undefined) carried.add(response)
  return response
}
