import { z } from 'zod'
import { fileManifestSchema, serializedErrorSchema } from '../protocol/discovery.js'
import type { TaskOutcome } from './pool/pool.js'

/** A settled file's outcome, as the cache stores it. */
export type SettledOutcome = Exclude<TaskOutcome, { kind: 'cancelled' }>

export const FAILURE_STATUSES = ['error', 'invalid', 'timeout', 'stuck', 'oom', 'exited', 'crashed'] as const

/**
 * Statuses that depend on the limits a run imposes (deadline, memory, isolation, grace): such a
 * quarantined file is only reused from the cache under the same limits. A thrown error or an
 * invalid manifest does not depend on them.
 */
export const LIMIT_BOUND_STATUSES: ReadonlySet<string> = new Set(['timeout', 'stuck', 'oom', 'exited', 'crashed'])

export const settledOutcomeSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('imported'), manifest: fileManifestSchema, durationMs: z.number().nonnegative() }),
  z.object({
    kind: z.literal('failed'),
    status: z.enum(FAILURE_STATUSES),
    error: serializedErrorSchema,
    durationMs: z.number().nonnegative(),
    imports: z.array(z.string()),
    loadingModule: z.string().optional(),
    exitCode: z.number().int().optional(),
  }),
])
