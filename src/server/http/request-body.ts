import type { IncomingMessage } from 'node:http'
import type { Context } from 'hono'
import { NexflowError } from '../../errors.js'

function tooLarge(limit: number): NexflowError {
  return new NexflowError('BODY_TOO_LARGE', `The request body is larger than ${limit} bytes (maxRequestBodyBytes)`, { details: { limit } })
}

/** The Node request behind a hono context when served by @hono/node-server; undefined under `app.request()` and other runtimes. */
function incomingOf(c: Context): IncomingMessage | undefined {
  const incoming = (c.env as { incoming?: unknown } | undefined)?.incoming
  return incoming !== null && typeof incoming === 'object' && 'headers' in incoming && 'on' in incoming ? (incoming as IncomingMessage) : undefined
}

function declaredLength(value: string | null | undefined): number | undefined {
  if (value === null || value === undefined || value === '') return undefined
  const length = Number(value)
  return Number.isSafeInteger(length) && length >= 0 ? length : undefined
}

/** Reads a Node request's body, refusing it the moment it passes `limit` bytes. */
function readIncoming(incoming: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const cleanUp = () => {
      incoming.off('data', onData)
      incoming.off('end', onEnd)
      incoming.off('error', onError)
      incoming.off('aborted', onAborted)
    }
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size > limit) {
        cleanUp()
        // Stop buffering what is left of it; the answer is already decided.
        incoming.resume()
        reject(tooLarge(limit))
        return
      }
      chunks.push(chunk)
    }
    const onEnd = () => {
      cleanUp()
      resolve(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks, size).toString('utf8'))
    }
    const onError = (error: Error) => {
      cleanUp()
      reject(new NexflowError('REQUEST_INVALID', `The request body could not be read: ${error.message}`, { cause: error }))
    }
    const onAborted = () => onError(new Error('the client closed the connection'))
    incoming.on('data', onData)
    incoming.on('end', onEnd)
    incoming.on('error', onError)
    incoming.on('aborted', onAborted)
  })
}

/** Reads a web request's body the same way (tests through `app.request()`, other runtimes). */
async function readWeb(request: Request, limit: number): Promise<string> {
  if (request.body === null) return ''
  const reader = (request.body as ReadableStream<Uint8Array>).getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > limit) {
      await reader.cancel()
      throw tooLarge(limit)
    }
    chunks.push(value)
  }
  return Buffer.concat(chunks, size).toString('utf8')
}

/**
 * The request body as text, at most `limit` bytes: a declared length over the limit is refused
 * before anything is read, and a body without one (chunked) is refused as soon as it passes the
 * limit. Read straight from Node's request when there is one: hono's `bodyLimit` goes through a
 * web `Request` and its `ReadableStream`, which cost more main-thread time per request than
 * everything else the execute route does (measured with `--cpu-prof` under load, see BENCHMARKS.md).
 */
export function readBody(c: Context, limit: number): Promise<string> {
  const incoming = incomingOf(c)
  const declared = declaredLength(incoming === undefined ? c.req.header('content-length') : incoming.headers['content-length'])
  if (declared !== undefined && declared > limit) return Promise.reject(tooLarge(limit))
  if (incoming === undefined) return readWeb(c.req.raw, limit)
  if (incoming.readableEnded) return Promise.resolve('')
  return readIncoming(incoming, limit)
}
