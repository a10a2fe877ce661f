import { Hono, type Context, type MiddlewareHandler } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { streamSSE } from 'hono/streaming'
import { NexflowError } from '../../errors.js'
import type { SerializedErrorData } from '../../protocol/discovery.js'
import type { ServerEvent } from '../events.js'
import type { HealthJson, ReadinessJson } from '../health.js'
import type { ServedWorkflow } from '../workflow-table.js'
import type { ProgressChannel } from '../progress-channel.js'
import { errorResponse } from './errors.js'
import { parseExecuteBody } from './execute-body.js'
import { runAnswerBody } from './run-answer.js'
import { acceptAsync, bodyHash, idempotencyKeyOf, idempotent, jsonResponse, runsRoutes, type JsonAnswer, type RunsService } from './runs-routes.js'
import { streamRun } from './stream-run.js'
import { readBody } from './request-body.js'
import { openApiDocument } from './openapi.js'
import { workflowInfo, workflowSummary } from '../workflow-views.js'
import { dashboardRoutes } from '../dashboard/routes.js'
import { RECENT_RUNS_CAPACITY } from '../runs/recent-runs.js'

/** A run's answer: outputs already serialized as JSON (the main thread only embeds them), or a failure as data. */
export type RunAnswer = { ok: true; outputs: string; runId: string; durationMs: number } | { ok: false; error: SerializedErrorData; runId: string; durationMs: number }

/** What the routes need from the server; the routes hold no state of their own. */
export interface HttpServices {
  readonly maxRequestBodyBytes: number
  /** Stacks in error bodies (NODE_ENV=development). */
  readonly development: boolean
  workflow(name: string): ServedWorkflow | undefined
  workflows(): ServedWorkflow[]
  /**
   * Runs a served workflow for a remote caller. Rejects with a NexflowError for timeouts, dead
   * workers, shutdown. A client that disconnects does not stop a synchronous run: the work it
   * asked for (a row written) finishes, as it would had the answer been lost on the way back.
   */
  execute(workflow: ServedWorkflow, inputs: Record<string, unknown>, context?: RunContext): Promise<RunAnswer>
  /** What to tell a caller asking for a workflow that is not served: the closest name, whether discovery still runs. */
  notFoundHint(name: string): string
  health(): HealthJson
  readiness(): ReadinessJson
  discovery(): Record<string, unknown>
  /** The MCP Streamable HTTP endpoint. */
  mcp(request: Request): Promise<Response>
  /** `GET /runs`: the most recent finished runs, newest first, at most `limit`, and how many finished in the last minute. */
  recentRuns(limit: number): Promise<{ runs: unknown[]; runs_per_minute: number }>
  /** Serve the dashboard page at `/` and `/_nexflow/` (see dashboard/routes.ts). */
  readonly dashboard?: boolean
  /** Subscribes to what the server reports (`/events`); returns the unsubscribe function. */
  events(listener: (event: ServerEvent) => void): () => void
  /** Mounted before every route, in order: request id, metrics and logs, secure headers, CORS, auth, rate limit (see protection.ts). */
  readonly middleware?: readonly MiddlewareHandler[]
  /** Async runs and Idempotency-Key records (`mode: 'async'`, `/workflows/:name/status/:id`); absent, neither is served. */
  runs?: RunsService
  /** `GET /metrics`: the Prometheus text exposition; absent when metrics are off. */
  metrics?: { contentType: string; scrape(): Promise<string> }
}

/** What a run knows of the request that asked for it. */
export interface RunContext {
  /** The request's `X-Request-Id`, carried into the run's log line. */
  requestId?: string | undefined
  /** The run's id, when the caller needs it before the run starts (an async run); else one is made. */
  runId?: string | undefined
  /** Cancels the run: its worker is stopped and the run fails with the signal's reason. */
  signal?: AbortSignal | undefined
  /** A streamed run's progress: each node's start and finish is reported to it (see `stream-run.ts`). */
  progress?: ProgressChannel | undefined
}

function sendError(c: Context, error: unknown, development: boolean): Response {
  const { status, body } = errorResponse(error, development)
  return c.json(body, status as 400)
}

function bodyLimitFor(services: HttpServices): MiddlewareHandler {
  return bodyLimit({
    maxSize: services.maxRequestBodyBytes,
    onError: (c) => sendError(c, new NexflowError('BODY_TOO_LARGE', `The request body is larger than ${services.maxRequestBodyBytes} bytes (maxRequestBodyBytes)`, { details: { limit: services.maxRequestBodyBytes } }), services.development),
  })
}

/**
 * The HTTP API, compatible with the source system's routes. Routes validate and answer; runs
 * happen elsewhere (`services.execute`), never on this thread's event loop for long.
 */
export function createHttpApp(services: HttpServices): Hono {
  const app = new Hono()
  const { development } = services

  app.onError((error, c) => sendError(c, error, development))
  app.notFound((c) => sendError(c, new NexflowError('WORKFLOW_NOT_FOUND', `No route ${c.req.method} ${c.req.path}; see GET /workflows and GET /openapi.json`), development))
  for (const handler of services.middleware ?? []) app.use(handler)

  app.get('/health', (c) => c.json(services.health()))
  app.get('/ready', (c) => {
    const readiness = services.readiness()
    return c.json(readiness, readiness.ready ? 200 : 503)
  })
  app.get('/discovery', (c) => c.json(services.discovery()))
  const { metrics } = services
  if (metrics !== undefined) app.get('/metrics', async (c) => c.body(await metrics.scrape(), 200, { 'content-type': metrics.contentType }))
  app.get('/openapi.json', (c) => c.json(openApiDocument(services.workflows())))
  app.get('/runs', async (c) => {
    const asked = Number(c.req.query('limit') ?? RECENT_RUNS_CAPACITY)
    const limit = Number.isInteger(asked) && asked >= 1 ? Math.min(asked, RECENT_RUNS_CAPACITY) : RECENT_RUNS_CAPACITY
    return c.json(await services.recentRuns(limit))
  })
  if (services.dashboard === true) app.route('/', dashboardRoutes())
  // Server-sent events: each discovered file, development reloads starting and finishing.
  app.get('/events', (c) =>
    streamSSE(c, async (stream) => {
      const queue: ServerEvent[] = []
      let wake: (() => void) | undefined
      const unsubscribe = services.events((event) => {
        queue.push(event)
        wake?.()
      })
      stream.onAbort(() => {
        unsubscribe()
        wake?.()
      })
      await stream.writeSSE({ event: 'hello', data: JSON.stringify({ ok: true }) })
      while (!stream.aborted && !stream.closed) {
        const event = queue.shift()
        if (event === undefined) {
          await new Promise<void>((resolve) => (wake = resolve))
          wake = undefined
          continue
        }
        await stream.writeSSE({ event: event.type, data: JSON.stringify(event) })
      }
      unsubscribe()
    }),
  )

  const workflows = new Hono()
  const find = (name: string): ServedWorkflow => {
    const workflow = services.workflow(name)
    if (workflow === undefined) throw new NexflowError('WORKFLOW_NOT_FOUND', `Workflow "${name}" is not served. ${services.notFoundHint(name)}`, { details: { workflow: name } })
    return workflow
  }
  workflows.get('/', (c) => c.json({ workflows: services.workflows().map(workflowSummary) }))
  workflows.get('/:name/workflow/info', (c) => c.json(workflowInfo(find(c.req.param('name')))))
  workflows.get('/:name/health', (c) => {
    const workflow = find(c.req.param('name'))
    return c.json({ status: 'healthy', workflow: workflow.name, version: workflow.version })
  })

  const { runs } = services
  const execute = async (c: Context) => {
    const workflow = find(c.req.param('name') ?? '')
    const key = idempotencyKeyOf(c)
    const request = parseExecuteBody(await readBody(c, services.maxRequestBodyBytes))
    if (request.mode === 'stream') {
      // A stream's events cannot be stored and replayed: a retry would get a different answer.
      if (key !== undefined) throw new NexflowError('REQUEST_INVALID', 'An Idempotency-Key cannot be used with mode "stream" (a stream is not stored to replay); use "sync" or "async"')
      return streamRun(c, services, workflow, request.inputs)
    }
    const respond = () => (request.mode === 'async' ? acceptAsync(runs, workflow, request.inputs, c.get('requestId')) : runSync(c, workflow, request.inputs))
    if (key === undefined || runs === undefined) return jsonResponse(c, await respond())
    return idempotent(c, runs, key, bodyHash(workflow.name, request), development, respond)
  }
  const runSync = async (c: Context, workflow: ServedWorkflow, inputs: Record<string, unknown>): Promise<JsonAnswer> => {
    const answer = await services.execute(workflow, inputs, { requestId: c.get('requestId') })
    const { status, json } = runAnswerBody(workflow, answer, development)
    return { status, body: json }
  }
  workflows.post('/:name/execute', execute)
  workflows.post('/:name', execute)
  if (runs !== undefined) workflows.route('/', runsRoutes(runs, development))
  app.route('/workflows', workflows)
  // The MCP transport reads the web Request itself: hono's bodyLimit guards it.
  app.all('/mcp', bodyLimitFor(services), (c) => services.mcp(c.req.raw))
  return app
}

/** Only the MCP endpoint, for `mcpPort` (the source system serves MCP on its own port). */
export function createMcpOnlyApp(services: HttpServices): Hono {
  const app = new Hono()
  app.onError((error, c) => sendError(c, error, services.development))
  for (const handler of services.middleware ?? []) app.use(handler)
  app.all('/mcp', bodyLimitFor(services), (c) => services.mcp(c.req.raw))
  return app
}
