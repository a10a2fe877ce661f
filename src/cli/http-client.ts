/**
 * The CLI's side of the HTTP API: one request to a running `nexflow start`, its answer read as
 * JSON. A server that cannot be reached, or that answers something other than JSON, is an error
 * value the commands print in one line; an error answer from the server is still an answer.
 */

/** A JSON answer from the server, whatever its status. */
export interface ServerAnswer {
  status: number
  body: unknown
}

/** Why there is no JSON answer: the server could not be reached, or did not answer JSON. */
export class ServerRequestError extends Error {
  readonly url: string

  constructor(message: string, url: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'ServerRequestError'
    this.url = url
  }
}

/** The error body every nexflow server answers with: `{ error: { code, message, details? } }`. */
export interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> }
}

export function isErrorBody(body: unknown): body is ErrorBody {
  const error = (body as { error?: unknown } | null)?.error as { code?: unknown; message?: unknown } | undefined
  return typeof error === 'object' && error !== null && typeof error.code === 'string' && typeof error.message === 'string'
}

/** The system error behind a failed fetch (`connect ECONNREFUSED 127.0.0.1:8000`), else fetch's own message. */
function networkReason(error: unknown): string {
  const cause = (error as { cause?: unknown }).cause
  if (cause instanceof Error) {
    // A connection refused on every address of a name comes as an AggregateError without a message.
    const inner = cause instanceof AggregateError && cause.message === '' ? (cause.errors[0] as Error | undefined) : undefined
    return (inner ?? cause).message || (cause as NodeJS.ErrnoException).code || String(cause)
  }
  return error instanceof Error ? error.message : String(error)
}

/**
 * Sends one request and reads the answer as JSON. Rejects with a {@link ServerRequestError}
 * naming the URL when nothing answers, or when the answer is not JSON (a proxy's error page).
 * `apiKey` goes in `Authorization: Bearer` (an API key or a JWT: the server tells them apart).
 */
export async function requestJson(url: string, init: { method: 'GET' } | { method: 'POST'; body: unknown; headers?: Record<string, string> }, apiKey?: string): Promise<ServerAnswer> {
  let response: Response
  const auth: Record<string, string> = apiKey === undefined ? {} : { authorization: `Bearer ${apiKey}` }
  try {
    response = await fetch(
      url,
      init.method === 'GET' ? { method: 'GET', headers: { accept: 'application/json', ...auth } } : { method: 'POST', headers: { accept: 'application/json', 'content-type': 'application/json', ...init.headers, ...auth }, body: JSON.stringify(init.body) },
    )
  } catch (error) {
    throw new ServerRequestError(`cannot reach ${url} (${networkReason(error)}); is \`nexflow start\` running? Pass its address with --url or NEXFLOW_URL`, url, { cause: error })
  }
  let text: string
  try {
    text = await response.text()
  } catch (error) {
    throw new ServerRequestError(`the answer of ${url} broke off (${networkReason(error)})`, url, { cause: error })
  }
  try {
    return { status: response.status, body: JSON.parse(text) as unknown }
  } catch {
    const start = text.trim().slice(0, 120).replace(/\s+/g, ' ')
    throw new ServerRequestError(`${url} answered HTTP ${response.status} with something other than JSON${start === '' ? ' (an empty body)' : `: ${start}`}; is it a nexflow server? Check --url or NEXFLOW_URL`, url)
  }
}
