import { z } from 'zod'
import { discoveredDataflowSchema, fileManifestSchema, IMPORT_FAILURE_STATUSES, serializedErrorSchema } from './discovery.js'

/**
 * The messages discovery's main thread and its isolated workers (threads or child processes)
 * exchange. Both sides parse what they receive with these schemas; the main thread treats a
 * worker as untrusted, so a message that fails to parse makes the file `invalid`.
 */

/** What a worker is started with (`workerData.init` for a thread, `argv[3]` for a child process). */
export const workerInitSchema = z.object({
  /** Absolute, real path of the discovery root: "local" files live under it, outside node_modules. */
  root: z.string().min(1),
  /** file: URL of the module.register() hooks that namespace local modules and report them. */
  hooksUrl: z.string().min(1),
  /** The tsconfig.json tsx should use for user files, if one was found. */
  tsconfig: z.string().optional(),
  /** A manifest whose JSON is longer than this is reported `invalid` instead of being sent. */
  maxManifestBytes: z.number().int().positive(),
})

/** Main to worker: import one candidate file. A worker runs one import at a time, in the order asked. */
export const importRequestSchema = z.object({
  type: z.literal('import'),
  taskId: z.number().int().nonnegative(),
  file: z.string().min(1),
})

/**
 * Main to worker: drop an import request not yet begun, if it still can be. A worker may be handed
 * its next file before it finishes the current one; if the current one lingers, main asks for the
 * next one back. It is back only once the worker answers "cancelled": a worker may already have
 * begun it (its report says so), and handing it elsewhere then would evaluate it twice.
 */
export const cancelRequestSchema = z.object({
  type: z.literal('cancel'),
  taskId: z.number().int().nonnegative(),
})

export const mainToWorkerMessageSchema = z.discriminatedUnion('type', [importRequestSchema, cancelRequestSchema])

const taskId = z.number().int().nonnegative()

/** Why a worker asks to be replaced after a file: state the import left behind could leak into the next file. */
const retire = z.string().optional()

/**
 * The worker began the import of this task (handed over in advance) right after the one it
 * reports on: the same as a "started" message, without one more message (and wake-up) per file.
 */
const next = taskId.optional()

/**
 * A file's manifest as a worker sends it: its DataFlow instances by id. Every file that imports
 * the app's models module names the same instances, so each description crosses (and is
 * validated) once per worker, in the `described` list of the first message that names it.
 */
export const wireManifestSchema = fileManifestSchema.omit({ dataflows: true }).extend({
  dataflows: z.array(z.number().int().nonnegative()),
})

export const describedDataflowSchema = z.object({ id: z.number().int().nonnegative(), dataflow: discoveredDataflowSchema })

export const workerToMainMessageSchema = z.discriminatedUnion('type', [
  /** The worker has registered its loaders and waits for work. */
  z.object({ type: z.literal('ready'), pid: z.number().int(), threadId: z.number().int() }),
  /** The import of `taskId` begins now: the per-file deadline counts from here. */
  z.object({ type: z.literal('started'), taskId }),
  /** The request `taskId` was dropped, never begun, as main asked ("cancel"). */
  z.object({ type: z.literal('cancelled'), taskId }),
  /** A local module of `taskId` began evaluating; the last one is what a hang is blamed on. */
  z.object({ type: z.literal('loading'), taskId, module: z.string().min(1) }),
  /** The import finished; everything found is in the manifest. */
  z.object({ type: z.literal('imported'), taskId, manifest: wireManifestSchema, described: z.array(describedDataflowSchema).optional(), retire, next }),
  /** The import (or collecting its exports) failed: `error` for a throw, `invalid` for an oversized manifest. */
  z.object({
    type: z.literal('failed'),
    taskId,
    status: z.enum(IMPORT_FAILURE_STATUSES),
    error: serializedErrorSchema,
    importMs: z.number().nonnegative(),
    /** Local files the import had loaded when it failed (absolute paths). */
    imports: z.array(z.string()),
    retire,
    next,
  }),
  /** Child processes only: an uncaught exception is about to end the process. */
  z.object({ type: z.literal('crash'), error: serializedErrorSchema }),
])

export type WorkerInit = z.infer<typeof workerInitSchema>
export type ImportRequest = z.infer<typeof importRequestSchema>
export type MainToWorkerMessage = z.infer<typeof mainToWorkerMessageSchema>
export type WorkerToMainMessage = z.infer<typeof workerToMainMessageSchema>
export type WireManifest = z.infer<typeof wireManifestSchema>
export type DescribedDataflow = z.infer<typeof describedDataflowSchema>
