import { z } from 'zod'
import { defineNode } from '../node.js'

/**
 * Sends an HTTP request with fetch. A JSON response body is parsed; anything else is text. A
 * non-2xx status fails the node unless `throwOnHttpError` is false, in which case `ok` says so.
 */
export const HttpRequestNode = defineNode({
  type: 'HTTPRequest',
  description: 'Sends an HTTP request and returns status, headers and the (JSON-parsed) body.',
  params: z.object({
    url: z.url(),
    method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS']).default('GET'),
    headers: z.record(z.string(), z.string()).default({}),
    query: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
    body: z.unknown().optional(),
    timeoutMs: z.number().int().positive().default(30_000),
    throwOnHttpError: z.boolean().default(true),
  }),
  async run(params, context) {
    const url = new URL(params.url)
    for (const [key, value] of Object.entries(params.query ?? {})) url.searchParams.set(key, String(value))
    const headers = new Headers(params.headers)
    let body: string | undefined
    if (params.body !== undefined) {
      body = typeof params.body === 'string' ? params.body : JSON.stringify(params.body)
      if (typeof params.body !== 'string' && !headers.has('content-type')) headers.set('content-type', 'application/json')
    }
    const response = await fetch(url, {
      method: params.method,
      headers,
      body,
      signal: AbortSignal.any([context.signal, AbortSignal.timeout(params.timeoutMs)]),
    })
    const text = await response.text()
    const isJson = (response.headers.get('content-type') ?? '').includes('json')
    let parsed: unknown = text
    if (isJson && text.length > 0) {
      try {
        parsed = JSON.parse(text)
      } catch {
        parsed = text
      }
    }
    if (!response.ok && params.throwOnHttpError) {
      throw new Error(`${params.method} ${url.href} answered ${response.status} ${response.statusText}`)
    }
    return { status: response.status, ok: response.ok, headers: Object.fromEntries(response.headers), body: parsed }
  },
})
