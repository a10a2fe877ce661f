/**
 * The page's only way to the server: the same JSON API everyone uses, with the API key the user
 * gave kept in sessionStorage (this tab only; never in the URL) and sent as X-API-Key.
 */

const KEY = 'nexflow.apiKey'

/** The server wants a key (none was given, or it was refused). */
export class Unauthorized extends Error {}

/** An error answer of the API: its status and `{ error: { code, message, details } }` body. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: ErrorBody | undefined,
  ) {
    super(body?.error?.message ?? `HTTP ${status}`)
  }
}

export interface ErrorBody {
  error?: { code?: string; message?: string; details?: Record<string, unknown> }
}

export function apiKey(): string | null {
  return sessionStorage.getItem(KEY)
}

export function setApiKey(key: string | null): void {
  if (key === null) sessionStorage.removeItem(KEY)
  else sessionStorage.setItem(KEY, key)
}

function headers(extra: Record<string, string> = {}): Record<string, string> {
  const key = apiKey()
  return { accept: 'application/json', ...extra, ...(key === null ? {} : { 'x-api-key': key }) }
}

/** Any answer, parsed; throws {@link Unauthorized} on 401. */
export async function request(path: string, init: { method?: string; body?: unknown; signal?: AbortSignal } = {}): Promise<{ status: number; body: unknown }> {
  const response = await fetch(path, {
    method: init.method ?? 'GET',
    headers: headers(init.body === undefined ? {} : { 'content-type': 'application/json' }),
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    ...(init.signal === undefined ? {} : { signal: init.signal }),
  })
  if (response.status === 401) throw new Unauthorized((await response.text()) || 'unauthorized')
  const text = await response.text()
  let body: unknown
  try {
    body = text === '' ? undefined : JSON.parse(text)
  } catch {
    body = { error: { message: text } }
  }
  return { status: response.status, body }
}

/** A 2xx answer's body; anything else throws {@link ApiError}. */
export async function getJson<T>(path: string): Promise<T> {
  const { status, body } = await request(path)
  if (status >= 400) throw new ApiError(status, body as ErrorBody)
  return body as T
}

/**
 * Reads `/events` (server-sent events) with fetch rather than EventSource, which cannot send the
 * key. Resolves when the stream ends; rejects on a network error or {@link Unauthorized}.
 */
export async function readEvents(onEvent: (type: string, data: unknown) => void, signal: AbortSignal): Promise<void> {
  const response = await fetch('/events', { headers: headers({ accept: 'text/event-stream' }), signal })
  if (response.status === 401) throw new Unauthorized('unauthorized')
  if (!response.ok || response.body === null) throw new Error(`/events answered ${response.status}`)
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
  let buffer = ''
  for (;;) {
    const { value, done } = await reader.read()
    if (done) return
    buffer += value
    let end: number
    while ((end = buffer.indexOf('\n\n')) !== -1) {
      const block = buffer.slice(0, end)
      buffer = buffer.slice(end + 2)
      let type = 'message'
      const data: string[] = []
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) type = line.slice(6).trim()
        else if (line.startsWith('data:')) data.push(line.slice(5).trimStart())
      }
      try {
        onEvent(type, JSON.parse(data.join('\n')))
      } catch {
        // Not JSON (a comment, a keep-alive): nothing to show.
      }
    }
  }
}
