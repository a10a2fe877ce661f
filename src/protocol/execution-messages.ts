import { MessagePort } from 'node:worker_threads'
import { z } from 'zod'
import { serializedErrorSchema } from './discovery.js'
import { workflowJsonSchema } from './workflow-json.js'

/**
 * The tasks the server's execution pool hands its worker threads and the answers they give.
 * Both sides parse what they receive: the main thread treats a worker's answer as untrusted.
 */

/** What an execution worker is started with (`workerData`). */
export const executionWorkerDataSchema = z.object({
  /** file: URL of the execution entry (`workers/execution-worker.ts`, or `.js` when built). */
  entry: z.string().min(1),
  /** The tsconfig.json tsx compiles user files with, if one was found. */
  tsconfig: z.string().optional(),
  /** Send what user code prints to stderr: the main process's stdout carries a protocol. */
  stdoutToStderr: z.boolean(),
  /** The pool's run-start board (`run-starts.ts`): where the worker notes when it begins each run. */
  runStarts: z.instanceof(SharedArrayBuffer),
})

/** A workflow a discovered file exports: the worker imports the file once and keeps it. */
export const fileTargetSchema = z.object({
  kind: z.literal('file'),
  file: z.string().min(1),
  exportName: z.string().min(1),
  /** The name discovery gave it (a builder export is built with it). */
  name: z.string().min(1),
})

/** A workflow registered with `Nexus.register` whose node types a worker has or can import: sent as data. */
export const jsonTargetSchema = z.object({
  kind: z.literal('json'),
  /** A digest of the JSON: the worker keeps each workflow it built by name and version, not by re-serializing it per run. */
  version: z.string().min(1),
  workflow: workflowJsonSchema,
  /** Files that define its node types beyond the built-ins (a DataFlow's models module): imported once, before the workflow is built. */
  modules: z.array(z.string().min(1)).optional(),
})

export const runTaskSchema = z.object({
  type: z.literal('run'),
  runId: z.string().min(1),
  /**
   * The run's number in its pool (from 1): the worker notes on the run-start board when it
   * begins it, so the run's deadline counts from then, not from when the request joined the queue.
   */
  seq: z.number().int().positive(),
  target: z.discriminatedUnion('kind', [fileTargetSchema, jsonTargetSchema]),
  inputs: z.record(z.string(), z.unknown()),
  /**
   * A streamed run's progress port (transferred with the task, see `run-progress.ts`): the worker
   * posts each node's start and finish on it, then `{ type: 'end' }`. Absent for other runs.
   */
  progress: z.custom<MessagePort>((value) => value instanceof MessagePort, 'a MessagePort').optional(),
})

/** Imports discovered files ahead of the first request. */
export const warmTaskSchema = z.object({
  type: z.literal('warm'),
  files: z.array(z.string().min(1)),
  /** Node types the worker must have once the files are imported (a registered workflow's, before it is moved to the pool). */
  types: z.array(z.string().min(1)).optional(),
})

export const executionTaskSchema = z.discriminatedUnion('type', [runTaskSchema, warmTaskSchema])

export const runReplySchema = z.discriminatedUnion('ok', [
  z.object({
    ok: z.literal(true),
    /** The outputs per node id, already serialized as JSON by the worker: the main thread only embeds them. */
    outputs: z.string(),
    durationMs: z.number().nonnegative(),
  }),
  z.object({
    ok: z.literal(false),
    error: serializedErrorSchema,
    durationMs: z.number().nonnegative(),
  }),
])

export const warmReplySchema = z.object({
  warmed: z.number().int().nonnegative(),
  failures: z.array(z.object({ file: z.string(), error: serializedErrorSchema })),
  /** Of the task's `types`, those the worker does not have after importing the files. */
  missingTypes: z.array(z.string()).optional(),
})

export type ExecutionWorkerData = z.infer<typeof executionWorkerDataSchema>
export type FileTarget = z.infer<typeof fileTargetSchema>
export type JsonTarget = z.infer<typeof jsonTargetSchema>
export type RunTask = z.infer<typeof runTaskSchema>
export type WarmTask = z.infer<typeof warmTaskSchema>
export type ExecutionTask = z.infer<typeof executionTaskSchema>
export type RunReply = z.infer<typeof runReplySchema>
export type WarmReply = z.infer<typeof warmReplySchema>
