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

const runStatusSchema = {
  type: 'object',
  required: ['execution_id', 'workflow_id', 'status', 'created_at', 'started_at', 'finished_at'],
  properties: {
    execution_id: { type: 'string', format: 'uuid' },
    workflow_id: { type: 'string' },
    status: { type: 'string', enum: ['pending', 'running', 'completed', 'failed', 'timeout', 'interrupted', 'cancelled'] },
    outputs: { type: 'object', additionalProperties: true },
    error: { type: 'object' },
    created_at: { type: ['string', 'null'], format: 'date-time' },
    started_at: { type: ['string', 'null'], format: 'date-time' },
    finished_at: { type: ['string', 'null'], format: 'date-time' },
  },
}

/** One run as `GET /runs` lists it (src/protocol/run-record.ts). */
const runRecordSchema = {
  type: 'object',
  required: ['run_id', 'workflow', 'mode', 'status', 'started_at', 'duration_ms', 'inputs'],
  properties: {
    run_id: { type: 'string' },
    workflow: { type: 'string' },
    mode: { type: 'string', enum: ['sync', 'stream', 'async'] },
    status: { type: 'string', description: 'completed, failed, timeout, cancelled, crashed or error; an async run may also be pending, running or interrupted' },
    started_at: { type: 'string', format: 'date-time' },
    duration_ms: { type: 'number' },
    inputs: { description: 'The caller\'s inputs, or { truncated: true, bytes } when larger than the bound' },
    outputs: {},
    error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' }, node: { type: 'string' } }, required: ['message'] },
  },
}

/** The routes every server has, whatever it serves. */
const serverPaths = {
  '/runs': {
    get: {
      operationId: 'recent_runs',
      summary: 'The most recent runs, newest first: sync and streamed runs of this instance, async runs from the durable store',
      tags: ['runs'],
      parameters: [{ name: 'limit', in: 'query', required: false, schema: { type: 'integer', minimum: 1 } }],
      responses: { '200': { description: 'The runs', content: { 'application/json': { schema: { type: 'array', items: { $ref: '#/components/schemas/RunRecord' } } } } } },
    },
  },
}

const idempotencyKey = {
  name: 'Idempotency-Key',
  in: 'header',
  required: false,
  description: 'The same key and body again replays the first answer (Idempotent-Replayed: true); 1 to 255 printable ASCII characters.',
  schema: { type: 'string', maxLength: 255 },
}

const modeSchema = {
  type: 'string',
  enum: [...EXECUTE_MODES],
  default: 'sync',
  description: '`sync` (default): the response is the result. `async`: 202 with an `execution_id` at once; poll `/workflows/{name}/status/{execution_id}`. `stream`: the response is `text/event-stream`, one event per node started and finished, then `result` or `error`; closing it cancels the run.',
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
  const paths: Record<string, unknown> = { ...serverPaths }
  for (const workflow of workflows) {
    paths[`/workflows/${encodeURIComponent(workflow.name)}/execute`] = {
      post: {
        operationId: `execute_${workflow.name.replace(/[^A-Za-z0-9_]/g, '_')}`,
        summary: workflow.description || `Runs ${workflow.name}`,
        tags: ['workflows'],
        parameters: [idempotencyKey],
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
          '202': { description: 'mode "async": accepted; poll the status path with the execution_id', content: { 'application/json': { schema: { type: 'object', properties: { execution_id: { type: 'string', format: 'uuid' }, status: { const: 'pending' } } } } } },
          '409': errorResponse('A request with this Idempotency-Key is still running'),
          '422': errorResponse('This Idempotency-Key was used with another body'),
          '400': errorResponse('Malformed JSON or invalid inputs (the issues name each input)'),
          '404': errorResponse('No such workflow (or it is still being discovered)'),
          '413': errorResponse('The body is larger than maxRequestBodyBytes'),
          '500': errorResponse('The run failed; names the failed node and its error'),
          '503': errorResponse('The server is shutting down'),
          '504': errorResponse('The run did not finish within runTimeoutMs'),
        },
      },
    }
    const statusPath = {
      parameters: [{ name: 'execution_id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } }],
      get: { operationId: `status_${workflow.name.replace(/[^A-Za-z0-9_]/g, '_')}`, summary: `An async run of ${workflow.name}`, tags: ['runs'], responses: { '200': { description: 'The run', content: { 'application/json': { schema: { $ref: '#/components/schemas/RunStatus' } } } }, '404': errorResponse('No such run of this workflow') } },
      delete: { operationId: `cancel_${workflow.name.replace(/[^A-Za-z0-9_]/g, '_')}`, summary: `Cancels an async run of ${workflow.name}`, tags: ['runs'], responses: { '200': { description: 'The run, cancelled', content: { 'application/json': { schema: { $ref: '#/components/schemas/RunStatus' } } } }, '404': errorResponse('No such run of this workflow'), '409': errorResponse('The run has already ended') } },
    }
    paths[`/workflows/${encodeURIComponent(workflow.name)}/status/{execution_id}`] = statusPath
  }
  return {
    openapi: '3.1.0',
    info: { title: 'nexflow', version: VERSION, description: 'Every workflow this server serves, as an execute operation.' },
    paths,
    components: { schemas: { RunResult: resultSchema, RunStatus: runStatusSchema, RunRecord: runRecordSchema, Error: errorSchema } },
  }
}
