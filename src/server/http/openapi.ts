import { VERSION } from '../../version.js'
import type { ServedWorkflow } from '../workflow-table.js'
import { EXECUTE_MODES } from './execute-body.js'

const errorSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: { code: { type: 'string' }, message: { type: 'string' }, details: { type: 'object' } },
    },
  },
}

const resultSchema = {
  type: 'object',
  required: ['outputs', 'execution_time', 'workflow_id', 'run_id', 'version'],
  properties: {
    outputs: { type: 'object', description: 'Each node\'s output, by node id.', additionalProperties: true },
    execution_time: { type: 'number', description: 'Seconds the run took.' },
    workflow_id: { type: 'string' },
    run_id: { type: 'string' },
    version: { type: 'string', description: 'Content hash of the workflow that ran.' },
  },
}

const modeSchema = {
  type: 'string',
  enum: [...EXECUTE_MODES],
  default: 'sync',
  description: '`sync` (default): the response is the result. `stream`: the response is `text/event-stream`, one event per node started and finished, then `result` or `error`; closing it cancels the run.',
}

/** The events of a streamed run (`mode: "stream"`), as the `text/event-stream` response's description says them. */
const STREAM_DESCRIPTION = [
  'Server-sent events, each with an `id:` sequence from 1:',
  '`node-started` `{ node_id, node_type }`;',
  '`node-finished` `{ node_id, ms, ok, truncated, chars?, output }` (the node\'s output, or `{ error }` when it threw; an output over 64 KiB of JSON is a string of its start, `truncated: true`, `chars` its length);',
  'then one `result` (the body a sync run answers) or `error` (`{ status, error: { code, message, details? } }`, the status and body a sync run answers).',
  'Errors found before the run starts (invalid inputs, unknown workflow, bad body) are JSON answers, not a stream. Closing the stream cancels the run.',
].join(' ')

const errorResponse = (description: string) => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } })

/** An OpenAPI 3.1 document: every served workflow's execute operation, its declared inputs as the request body. */
export function openApiDocument(workflows: readonly ServedWorkflow[]): Record<string, unknown> {
  const paths: Record<string, unknown> = {}
  for (const workflow of workflows) {
    paths[`/workflows/${encodeURIComponent(workflow.name)}/execute`] = {
      post: {
        operationId: `execute_${workflow.name.replace(/[^A-Za-z0-9_]/g, '_')}`,
        summary: workflow.description || `Runs ${workflow.name}`,
        tags: ['workflows'],
        requestBody: {
          required: false,
          content: {
            'application/json': {
              schema: { type: 'object', properties: { inputs: workflow.callerSchema, parameters: workflow.callerSchema, mode: modeSchema }, additionalProperties: false },
            },
          },
        },
        responses: {
          '200': {
            description: 'The run finished (`mode: "sync"`), or its events (`mode: "stream"`)',
            content: {
              'application/json': { schema: { $ref: '#/components/schemas/RunResult' } },
              'text/event-stream': { schema: { type: 'string', description: STREAM_DESCRIPTION } },
            },
          },
          '400': errorResponse('Malformed JSON or invalid inputs (the issues name each input)'),
          '404': errorResponse('No such workflow (or it is still being discovered)'),
          '413': errorResponse('The body is larger than maxRequestBodyBytes'),
          '500': errorResponse('The run failed; names the failed node and its error'),
          '503': errorResponse('The server is shutting down'),
          '504': errorResponse('The run did not finish within runTimeoutMs'),
        },
      },
    }
  }
  return {
    openapi: '3.1.0',
    info: { title: 'nexflow', version: VERSION, description: 'Every workflow this server serves, as an execute operation.' },
    paths,
    components: { schemas: { RunResult: resultSchema, Error: errorSchema } },
  }
}
