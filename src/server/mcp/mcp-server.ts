import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js'
import { CallToolRequestSchema, ListToolsRequestSchema, type CallToolResult, type Tool } from '@modelcontextprotocol/sdk/types.js'
import { NexflowError, ValidationError } from '../../errors.js'
import { VERSION } from '../../version.js'
import type { RunAnswer } from '../http/app.js'
import type { ServedWorkflow } from '../workflow-table.js'
import { workflowInfo } from '../workflow-views.js'
import { nameTools } from './tool-names.js'

/** What the MCP channel needs from the server: the same workflows and the same runs as HTTP. */
export interface McpServices {
  workflows(): ServedWorkflow[]
  /** Runs a workflow for a remote caller (validated, in the pool, with its deadline). */
  execute(workflow: ServedWorkflow, inputs: Record<string, unknown>): Promise<RunAnswer>
  discovery(): Record<string, unknown>
  /** Where warnings go (tool name collisions). */
  warn(message: string): void
}

/**
 * What a successful call returns as `structuredContent`, for every tool: the same shape as the
 * HTTP execute answer. Node outputs are whatever each node returns, so they stay open objects.
 */
const RESULT_SCHEMA: NonNullable<Tool['outputSchema']> = {
  type: 'object',
  properties: {
    outputs: { type: 'object', description: "Each node's output, by node id", additionalProperties: true },
    run_id: { type: 'string' },
    execution_time: { type: 'number', description: 'Seconds the run took' },
    workflow_id: { type: 'string' },
    version: { type: 'string', description: 'Content hash of the workflow that ran' },
  },
  required: ['outputs', 'run_id', 'execution_time', 'workflow_id', 'version'],
}

/** Workflows arrive one file at a time; a burst of them is one notification. */
const NOTIFY_DEBOUNCE_MS = 50

/**
 * A function that tells the client of `mcp` that the tool list changed: debounced, and only once
 * the client has initialized (a notification before that breaks the handshake of some clients).
 */
export function toolListNotifier(mcp: McpServer): { notify(): void; stop(): void } {
  let initialized = false
  let pending = false
  let timer: NodeJS.Timeout | undefined
  const send = () => {
    timer = undefined
    if (mcp.isConnected()) mcp.sendToolListChanged()
  }
  mcp.server.oninitialized = () => {
    initialized = true
    // Tools may have changed between the client's first list and now.
    if (pending) send()
  }
  return {
    notify() {
      if (!initialized) {
        pending = true
        return
      }
      if (timer !== undefined) return
      timer = setTimeout(send, NOTIFY_DEBOUNCE_MS)
      timer.unref()
    },
    stop() {
      clearTimeout(timer)
    },
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

function errorResult(message: string): CallToolResult {
  return { isError: true, content: [{ type: 'text', text: message }] }
}

/** Why a call failed, for a person reading the tool result: the code, the message, each bad input. */
function describeFailure(error: unknown): string {
  if (error instanceof ValidationError) {
    const inputs = error.issues.map((issue) => `- ${issue.path.length > 0 ? issue.path.join('.') : '(arguments)'}: ${issue.message}`)
    return `${error.code}: ${error.message}${inputs.length > 0 ? `\n${inputs.join('\n')}` : ''}`
  }
  if (error instanceof NexflowError) return `${error.code}: ${error.message}`
  return `INTERNAL: ${error instanceof Error ? error.message : String(error)}`
}

/**
 * One MCP server (the official SDK's `McpServer`) over the server's workflows: a tool per
 * workflow, and the resources `workflow://{name}` and `nexflow://discovery`. Tools are listed from
 * the live table at each request; tool handlers are set on the SDK's low-level server because a
 * workflow's inputs are already a JSON Schema, and a failed run or bad arguments must be a tool
 * result with `isError`, not a protocol error. One instance per connected client (a session, or
 * stdio): the SDK binds a server to one transport.
 */
export function createMcpServer(services: McpServices): McpServer {
  const mcp = new McpServer({ name: 'nexflow', version: VERSION }, { instructions: 'Each tool runs one nexflow workflow; its input schema lists the workflow\'s declared inputs.' })
  const reported = new Set<string>()
  const tools = () => {
    const naming = nameTools(services.workflows())
    for (const [tool, names] of naming.collisions) {
      const key = `${tool}:${names.join(',')}`
      if (reported.has(key)) continue
      reported.add(key)
      services.warn(`nexflow: workflows ${names.map((n) => `"${n}"`).join(' and ')} map to the same MCP tool name "${tool}"; neither is an MCP tool until one is renamed`)
    }
    return naming
  }

  mcp.server.registerCapabilities({ tools: { listChanged: true } })
  mcp.server.setRequestHandler(ListToolsRequestSchema, () => ({
    tools: [...tools().tools].map(
      ([name, workflow]): Tool => ({
        name,
        title: workflow.name,
        description: workflow.description || `Runs the nexflow workflow "${workflow.name}".`,
        inputSchema: workflow.callerSchema as Tool['inputSchema'],
        outputSchema: RESULT_SCHEMA,
      }),
    ),
  }))
  mcp.server.setRequestHandler(CallToolRequestSchema, async (request): Promise<CallToolResult> => {
    const workflow = tools().tools.get(request.params.name)
    if (workflow === undefined) return errorResult(`WORKFLOW_NOT_FOUND: no tool "${request.params.name}"; list the tools again (workflows arrive as discovery finds them)`)
    const args = request.params.arguments ?? {}
    if (!isPlainObject(args)) return errorResult('VALIDATION_FAILED: the arguments must be an object of input names to values')
    try {
      const answer = await services.execute(workflow, args)
      if (!answer.ok) {
        const cause = (answer.error.details?.cause as { code?: string } | undefined)?.code
        return errorResult(`${cause ?? answer.error.code ?? 'WORKFLOW_EXECUTION_FAILED'}: ${answer.error.message} (run ${answer.runId})`)
      }
      const result = { outputs: JSON.parse(answer.outputs) as Record<string, unknown>, run_id: answer.runId, execution_time: answer.durationMs / 1000, workflow_id: workflow.name, version: workflow.version }
      return { content: [{ type: 'text', text: JSON.stringify(result) }], structuredContent: result }
    } catch (error) {
      return errorResult(describeFailure(error))
    }
  })

  mcp.registerResource(
    'workflow',
    new ResourceTemplate('workflow://{name}', {
      list: () => ({
        resources: services.workflows().map((workflow) => ({ uri: `workflow://${encodeURIComponent(workflow.name)}`, name: workflow.name, description: workflow.description, mimeType: 'application/json' })),
      }),
    }),
    { description: "A workflow's nodes, edges and input schema", mimeType: 'application/json' },
    (uri, variables) => {
      const name = decodeURIComponent(String(variables.name))
      const workflow = services.workflows().find((w) => w.name === name)
      if (workflow === undefined) throw new NexflowError('WORKFLOW_NOT_FOUND', `Workflow "${name}" is not served`)
      return { contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(workflowInfo(workflow)) }] }
    },
  )
  mcp.registerResource('discovery', 'nexflow://discovery', { description: 'The discovery report: every candidate file, its status and workflows', mimeType: 'application/json' }, (uri) => ({
    contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(services.discovery()) }],
  }))
  return mcp
}
