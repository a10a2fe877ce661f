import { randomUUID } from 'node:crypto'
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js'
import { createMcpServer, toolListNotifier, type McpServices } from './mcp-server.js'

interface Session {
  mcp: McpServer
  transport: WebStandardStreamableHTTPServerTransport
  notifier: ReturnType<typeof toolListNotifier>
}

function jsonRpcError(status: number, message: string): Response {
  return new Response(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message }, id: null }), { status, headers: { 'content-type': 'application/json' } })
}

/**
 * The Streamable HTTP side of MCP (`/mcp`): one SDK server and transport per client session,
 * found by the `mcp-session-id` header. Sessions are what let the server tell connected clients
 * that the tool list changed as discovery adds workflows.
 */
export class McpSessions {
  readonly #services: McpServices
  readonly #sessions = new Map<string, Session>()
  #closed = false

  constructor(services: McpServices) {
    this.#services = services
  }

  get size(): number {
    return this.#sessions.size
  }

  async handle(request: Request): Promise<Response> {
    if (this.#closed) return jsonRpcError(503, 'The server is shutting down')
    const sessionId = request.headers.get('mcp-session-id')
    if (sessionId !== null) {
      const session = this.#sessions.get(sessionId)
      if (session === undefined) return jsonRpcError(404, `No MCP session ${sessionId}: it ended or the server restarted; initialize a new one`)
      return session.transport.handleRequest(request)
    }
    // No session yet: only an initialize request may come without one, and the transport itself
    // refuses anything else; a session that was never initialized is dropped.
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        this.#sessions.set(id, session)
      },
      onsessionclosed: (id) => {
        this.#sessions.delete(id)
      },
    })
    const mcp = createMcpServer(this.#services)
    const session: Session = { mcp, transport, notifier: toolListNotifier(mcp) }
    await session.mcp.connect(transport)
    const response = await transport.handleRequest(request)
    if (transport.sessionId === undefined) await session.mcp.close()
    return response
  }

  /** Tells every connected client that the tool list changed (debounced per client). */
  notifyToolsChanged(): void {
    if (this.#closed) return
    for (const { notifier } of this.#sessions.values()) notifier.notify()
  }

  async close(): Promise<void> {
    this.#closed = true
    const sessions = [...this.#sessions.values()]
    this.#sessions.clear()
    for (const { notifier } of sessions) notifier.stop()
    await Promise.allSettled(sessions.map(({ mcp }) => mcp.close()))
  }
}
