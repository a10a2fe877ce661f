import { performance } from 'node:perf_hooks'
import { discoveredWorkflowSchema, type DiscoveredWorkflow } from '../../protocol/discovery.js'

/** A manifest with more workflows than this is validated in pieces. */
export const WORKFLOWS_AT_ONCE = 256
/** The main thread's time per piece: a deadline due meanwhile fires at most about this late. */
const SLICE_MS = 10

/**
 * An "imported" report split for validation in pieces: the message without its workflows, and the
 * workflows apart; `undefined` for one small enough to validate at once, or anything unusual (a
 * getter that throws), which then takes the ordinary path.
 */
export function splitLargeReport(raw: unknown): { envelope: Record<string, unknown>; taskId: unknown; workflows: unknown[] } | undefined {
  try {
    const message = raw as { type?: unknown; taskId?: unknown; manifest?: { workflows?: unknown } }
    const workflows = message.manifest?.workflows
    if (message.type !== 'imported' || !Array.isArray(workflows) || workflows.length <= WORKFLOWS_AT_ONCE) return undefined
    return { envelope: { ...message, manifest: { ...message.manifest, workflows: [] } }, taskId: message.taskId, workflows }
  } catch {
    return undefined
  }
}

export interface PieceCallbacks {
  /** Asked before each piece: false drops the validation (the worker was stopped meanwhile). */
  wanted(): boolean
  /** All valid: the parsed workflows, and the sum of their lengths as JSON (for the size limit). */
  done(valid: DiscoveredWorkflow[], bytes: number): void
  /** Why the workflow at `path` is not valid (`manifest.workflows.3.name: ...`). */
  invalid(why: string): void
}

/**
 * Validates `workflows` a slice per turn of the event loop (about SLICE_MS each), so timers on this
 * thread, other workers' deadlines among them, fire on time meanwhile: no timer fires during one
 * long synchronous validation. Measures each one's length as JSON in the same pieces.
 */
export function validateWorkflowsInPieces(workflows: readonly unknown[], callbacks: PieceCallbacks): void {
  const valid: DiscoveredWorkflow[] = []
  let bytes = 0
  const piece = (): void => {
    if (!callbacks.wanted()) return
    const until = performance.now() + SLICE_MS
    try {
      // The clock is read every 16 workflows: reading it costs about as much as validating one.
      while (valid.length < workflows.length && (valid.length % 16 !== 0 || performance.now() < until)) {
        const index = valid.length
        const result = discoveredWorkflowSchema.safeParse(workflows[index])
        if (!result.success) {
          const issue = result.error.issues[0]
          return callbacks.invalid(`manifest.workflows.${index}${issue === undefined ? '' : `.${issue.path.join('.')}: ${issue.message}`}`)
        }
        valid.push(result.data)
        bytes += JSON.stringify(result.data).length
      }
    } catch (error) {
      // zod recursing into a value nested thousands of levels deep overflows the stack.
      return callbacks.invalid(`it cannot be validated (${String(error)})`)
    }
    if (valid.length < workflows.length) setImmediate(piece)
    else callbacks.done(valid, bytes)
  }
  setImmediate(piece)
}
