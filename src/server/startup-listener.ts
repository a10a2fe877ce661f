import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { NexflowError } from '../errors.js'
import { startingHealth, startingReadiness } from './health.js'

/*
 * The port answers before the server has loaded. Most of `nexflow start`'s startup is loading
 * modules (hono, the routes, zod's schemas, prom-client, the discovery and workflow code), and none
 * of it is needed to say "alive". So the CLI listens with this bare node:http handler first, then
 * loads the app and hands it the same server (Nexus.start({ listener })):
 * - `GET /health` answers 200 at once with the fields the app's /health has, as the app would
 *   answer at its first instant (no file, no pool, no run yet), in `phase: 'starting'` (the app
 *   says `serving`; see health.ts);
 * - `GET /ready` answers 503, as the app's does until discovery and the warm-up are done;
 * - any other request waits, never refused: the app serves it once loaded, in arrival order.
 * While loading, `/health` and `/ready` carry none of the app's middleware (request id, secure
 * headers, CORS, metrics, the request log): they are public routes that answer the same body.
 * If loading fails, the waiting requests are answered 503 and the port closes.
 * This module loads nothing but node:http: what it saves is what it does not import.
 */

/** After a failed start, how long open connections have to read their 503 before they are cut. */
const CLOSE_GRACE_MS = 1000

/** A request listener of node:http (what @hono/node-server's getRequestListener returns). */
export type RequestListener = (request: IncomingMessage, response: ServerResponse) => unknown

/** The message of a port that cannot be listened on, as every server of nexflow says it. */
export function listenError(error: NodeJS.ErrnoException, port: number, host: string, option: string, flag: string): NexflowError {
  const message = error.code === 'EADDRINUSE' ? `Port ${port} on ${host} is in use; pick another with ${option} (${flag})` : `The server cannot listen on ${host}:${port}: ${error.message}`
  return new NexflowError('CONFIG_INVALID', message, { cause: error, details: { port, host } })
}

/** The base URL of a listening server (`http://127.0.0.1:8000`); a wildcard host is reached on loopback. */
export function serverUrl(server: Pick<Server, 'address'>, host: string): string | undefined {
  const address = server.address()
  if (address === null || typeof address === 'string') return undefined
  const shownHost = host.includes(':') ? `[${host}]` : host
  return `http://${shownHost === '0.0.0.0' || shownHost === '[::]' ? '127.0.0.1' : shownHost}:${address.port}`
}

function sendJson(request: IncomingMessage, response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
  response.end(request.method === 'HEAD' ? undefined : text)
}

/** A port that answers `/health` and `/ready` while the app loads, and holds every other request for it. */
export class StartupListener {
  readonly server: Server
  readonly host: string
  /** Whether the server will discover files: what /health and /ready say of discovery meanwhile. */
  readonly #discovery: boolean
  readonly #startedAt: number
  /** Requests that came before the app, in arrival order. */
  readonly #held = new Set<{ request: IncomingMessage; response: ServerResponse }>()
  #app: RequestListener | undefined
  #failed: string | undefined

  private constructor(server: Server, host: string, discovery: boolean) {
    this.server = server
    this.host = host
    this.#discovery = discovery
    this.#startedAt = Date.now()
  }

  /**
   * Listens on `host:port` (0 picks a free port) with the loading handler. Rejects with
   * `CONFIG_INVALID` when the port cannot be had (in use, no such interface), naming it.
   * `discovery`: whether the server will discover files (its options' `autoDiscovery`).
   */
  static listen(port: number, host: string, { discovery }: { discovery: boolean }): Promise<StartupListener> {
    const server = createServer()
    const listener = new StartupListener(server, host, discovery)
    server.on('request', listener.#onRequest)
    return new Promise((resolve, reject) => {
      server.once('error', (error: NodeJS.ErrnoException) => reject(listenError(error, port, host, 'apiPort', '--port')))
      server.listen(port, host, () => resolve(listener))
    })
  }

  /** The base URL (`http://127.0.0.1:8000`). */
  get url(): string {
    return serverUrl(this.server, this.host) ?? `http://${this.host}`
  }

  /** Requests waiting for the app. */
  get waiting(): number {
    return this.#held.size
  }

  /** Whether the app has taken over the port. */
  get serving(): boolean {
    return this.#app !== undefined
  }

  readonly #onRequest = (request: IncomingMessage, response: ServerResponse): void => {
    if (this.#app !== undefined) {
      this.#app(request, response)
      return
    }
    const path = (request.url ?? '/').split('?')[0]
    if ((request.method === 'GET' || request.method === 'HEAD') && (path === '/health' || path === '/ready')) {
      if (path === '/health') sendJson(request, response, 200, startingHealth(this.#discovery, Date.now() - this.#startedAt))
      else sendJson(request, response, 503, startingReadiness(this.#discovery))
      return
    }
    const entry = { request, response }
    this.#held.add(entry)
    // A client that gives up is not answered later.
    response.once('close', () => this.#held.delete(entry))
  }

  /**
   * The app takes the port: the requests held so far go to `app` in the order they came, then
   * every new one. Once only.
   */
  serve(app: RequestListener): void {
    if (this.#app !== undefined) throw new Error('StartupListener.serve() was already called')
    this.#app = app
    const held = [...this.#held]
    this.#held.clear()
    for (const { request, response } of held) if (!response.destroyed && !response.writableEnded) app(request, response)
  }

  /**
   * Loading failed: the waiting requests are answered 503 with `reason`, and the port closes
   * (open connections too). Resolves once it is closed.
   */
  async close(reason: string): Promise<void> {
    this.#failed = reason
    this.server.off('request', this.#onRequest)
    this.server.on('request', (request: IncomingMessage, response: ServerResponse) => this.#refuse(request, response))
    const held = [...this.#held]
    this.#held.clear()
    for (const { request, response } of held) this.#refuse(request, response)
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve())
      this.server.closeIdleConnections()
      // A connection still open a moment later (a slow reader of its 503) does not keep the port.
      setTimeout(() => this.server.closeAllConnections(), CLOSE_GRACE_MS).unref()
    })
  }

  #refuse(request: IncomingMessage, response: ServerResponse): void {
    response.setHeader('connection', 'close')
    sendJson(request, response, 503, { error: { code: 'SERVER_CLOSING', message: `The server did not start: ${this.#failed ?? 'unknown error'}` } })
  }
}
