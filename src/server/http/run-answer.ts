import type { ServedWorkflow } from '../workflow-table.js'
import type { RunAnswer } from './app.js'
import { failedRunResponse } from './errors.js'

/**
 * A finished run's answer as the sync response's status and JSON text, shared by the modes: a
 * sync run answers it as the body, a streamed run sends it as its last event.
 */
export function runAnswerBody(workflow: ServedWorkflow, answer: RunAnswer, development: boolean): { status: number; json: string } {
  if (!answer.ok) {
    const { status, body } = failedRunResponse(answer.error, development)
    body.error.details = { ...body.error.details, run_id: answer.runId }
    return { status, json: JSON.stringify(body) }
  }
  // The outputs arrive as JSON text from the worker: embedded, not parsed and serialized again.
  const tail = JSON.stringify({ execution_time: answer.durationMs / 1000, workflow_id: workflow.name, run_id: answer.runId, version: workflow.version })
  return { status: 200, json: `{"outputs":${answer.outputs},${tail.slice(1)}` }
}
