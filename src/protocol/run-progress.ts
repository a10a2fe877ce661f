import { z } from 'zod'
import { serializeError } from '../errors.js'

/**
 * A streamed run's progress, as plain data: what an execution worker posts on the run's
 * `MessagePort` (and a run on the main thread reports directly). The main thread parses every
 * message: a worker is untrusted.
 */

/** Longest node output a progress event carries, as JSON text; a longer one is cut and marked `truncated`. */
export const MAX_PROGRESS_OUTPUT_CHARS = 64 * 1024

export const nodeStartedSchema = z.object({
  type: z.literal('node-started'),
  nodeId: z.string().min(1).max(256),
  nodeType: z.string().min(1).max(256),
})

export const nodeFinishedSchema = z.object({
  type: z.literal('node-finished'),
  nodeId: z.string().min(1).max(256),
  ms: z.number().nonnegative(),
  /** False when the node threw (its error's message and code are `output`). */
  ok: z.boolean(),
  /** The node's output (or its error) as JSON text, at most {@link MAX_PROGRESS_OUTPUT_CHARS} (plus the quoting of a cut preview). */
  output: z
    .string()
    .max(MAX_PROGRESS_OUTPUT_CHARS * 7)
    // JSON.stringify never writes a raw line break: one here would be a worker forging stream lines.
    .refine((text) => !/[\r\n]/.test(text), 'JSON text without raw line breaks'),
  /** The output was longer: `output` is a JSON string holding its first characters, `chars` its full length. */
  truncated: z.boolean(),
  chars: z.number().int().nonnegative(),
})

/** The worker is done posting: every event of the run was sent before it. */
export const progressEndSchema = z.object({ type: z.literal('end') })

export const runProgressMessageSchema = z.discriminatedUnion('type', [nodeStartedSchema, nodeFinishedSchema, progressEndSchema])

export type NodeStarted = z.infer<typeof nodeStartedSchema>
export type NodeFinished = z.infer<typeof nodeFinishedSchema>
export type RunProgressMessage = z.infer<typeof runProgressMessageSchema>
/** What a stream carries: the messages but the end marker. */
export type RunProgress = NodeStarted | NodeFinished

function bigintSafe(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value
}

/**
 * A node's output, or its error, as bounded JSON text for a progress event: bigints become
 * strings, and text over {@link MAX_PROGRESS_OUTPUT_CHARS} becomes a JSON string of its start. A
 * value JSON cannot hold (a cycle) is described, not thrown.
 */
export function progressOutput(value: unknown): Pick<NodeFinished, 'output' | 'truncated' | 'chars'> {
  let text: string
  try {
    text = JSON.stringify(value, bigintSafe) ?? 'null'
  } catch (error) {
    text = JSON.stringify({ unserializable: (error as Error).message })
  }
  if (text.length <= MAX_PROGRESS_OUTPUT_CHARS) return { output: text, truncated: false, chars: text.length }
  return { output: JSON.stringify(text.slice(0, MAX_PROGRESS_OUTPUT_CHARS)), truncated: true, chars: text.length }
}

/** The `node-finished` message for a node that ended, its error reduced to name, message and code. */
export function nodeFinished(nodeId: string, ms: number, outcome: { ok: true; output: unknown } | { ok: false; error: unknown }): NodeFinished {
  if (outcome.ok) return { type: 'node-finished', nodeId, ms, ok: true, ...progressOutput(outcome.output) }
  const { name, message, code } = serializeError(outcome.error)
  return { type: 'node-finished', nodeId, ms, ok: false, ...progressOutput({ error: { name, message, ...(code === undefined ? {} : { code }) } }) }
}
