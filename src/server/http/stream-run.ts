import type { Context } from 'hono'
import { streamSSE } from 'hono/streaming'
import { NexflowError } from '../../errors.js'
import type { RunProgress } from '../../protocol/run-progress.js'
import { validateCallerInputs } from '../../workflow/caller-inputs.js'
import { ProgressChannel } from '../progress-channel.js'
import type { ServedWorkflow } from '../workflow-table.js'
import type { HttpServices, RunAnswer } from './app.js'
import { errorResponse } from './errors.js'
import { runAnswerBody } from './run-answer.js'

/**
 * While no event is due, a comment line this often: a proxy that drops a connection idle for a
 * minute (nginx's default) would otherwise cancel a run whose node takes that long.
 */
const KEEPALIVE_MS = 15_000

/**
 * One event in the text/event-stream format. `data` is JSON text, which holds no raw line break;
 * should a worker's text hold one anyway, each line is its own `data:` line, so it cannot end the
 * event and forge another.
 */
function sseEvent(event: string, data: string, id: number): string {
  const lines = /[\r\n]/.test(data) ? data.split(/\r\n|\r|\n/).join('\ndata: ') : data
  return `event: ${event}\ndata: ${lines}\nid: ${id}\n\n`
}

/** An event's data: the node events as the protocol has them, the output embedded as the JSON it already is (the channel refused any with a raw line break). */
function progressData(event: RunProgress): string {
  if (event.type === 'node-started') return JSON.stringify({ node_id: event.nodeId, node_type: event.nodeType })
  const head = JSON.stringify({ node_id: event.nodeId, ms: Math.round(event.ms * 100) / 100, ok: event.ok, truncated: event.truncated, ...(event.truncated ? { chars: event.chars } : {}) })
  return `${head.slice(0, -1)},"output":${event.output}}`
}

/**
 * A streamed run (`mode: 'stream'`): server-sent events `node-started` and `node-finished` as the
 * run goes, then one `result` (the sync answer's body) or `error` (the sync error body, with its
 * `status`), each with an `id:` sequence. A client that disconnects cancels the run: its worker is
 * stopped. Errors found before the stream opens (an unknown workflow, a bad body, invalid inputs)
 * are answered as plain JSON with their 4xx status; anything after (a server shutting down, a
 * full queue) is the stream's `error` event.
 */
export function streamRun(c: Context, services: HttpServices, workflow: ServedWorkflow, inputs: Record<string, unknown>): Response {
  validateCallerInputs(workflow.name, workflow.json.inputSchema, inputs)
  const { development } = services
  const requestId = c.get('requestId') as string | undefined
  // A buffering proxy (nginx) would hold the events back until the run ends.
  c.header('X-Accel-Buffering', 'no')
  return streamSSE(c, async (stream) => {
    const cancel = new AbortController()
    // @hono/node-server cancels the response stream when the client goes away.
    stream.onAbort(() => cancel.abort(new NexflowError('WORKFLOW_ABORTED', 'the client closed the event stream before the run finished; the run was stopped')))
    const channel = new ProgressChannel()
    let id = 0
    const send = (event: string, data: string) => stream.write(sseEvent(event, data, ++id))
    let wrote = false
    const keepalive = setInterval(() => {
      if (!wrote) void stream.write(': keep-alive\n\n')
      wrote = false
    }, KEEPALIVE_MS)
    keepalive.unref()
    try {
      const settled: Promise<{ answer: RunAnswer } | { error: unknown }> = services.execute(workflow, inputs, { requestId, signal: cancel.signal, progress: channel }).then(
        (answer) => {
          channel.runAnswered()
          return { answer }
        },
        (error: unknown) => {
          // Stopped, timed out or crashed: what the worker had not sent will not come.
          channel.close()
          return { error }
        },
      )
      for await (const batch of channel.batches()) {
        if (cancel.signal.aborted) break
        let text = ''
        for (const event of batch) text += sseEvent(event.type, progressData(event), ++id)
        wrote = true
        await stream.write(text)
      }
      const outcome = await settled
      if (cancel.signal.aborted) return
      if ('answer' in outcome) {
        const { status, json } = runAnswerBody(workflow, outcome.answer, development)
        if (status === 200) await send('result', json)
        else await send('error', `{"status":${status},${json.slice(1)}`)
        return
      }
      const { status, body } = errorResponse(outcome.error, development)
      await send('error', JSON.stringify({ status, ...body }))
    } finally {
      clearInterval(keepalive)
      channel.close()
    }
  })
}
