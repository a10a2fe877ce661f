import { z } from 'zod'
import { FAILURE_STATUSES, fileManifestSchema, serializedErrorSchema } from '../protocol/discovery.js'
import type { TaskOutcome } from './pool/pool.js'

/** A settled file's outcome, as the cache stores it. */
export type SettledOutcome = Exclude<TaskOutcome, { kind: 'cancelled' }>


/**
 * Errors that depend on files or packages that do not exist yet: a module that could not be
 * resolved is in no import list, so no change the cache watches would lift a quarantine.
 */
const UNRESOLVED_CODES: ReadonlySet<string> = new Set(['ERR_MODULE_NOT_FOUND', 'MODULE_NOT_FOUND', 'ERR_PACKAGE_PATH_NOT_EXPORTED', 'ERR_UNSUPPORTED_DIR_IMPORT'])

/**
 * Whether the cache may keep this outcome: an import, or a failure that the file or the local
 * files it loaded caused, which lasts until one of them changes. Not a failure whose import never
 * began (workers could not start: once the install or tsconfig.json is fixed it is tried again),
 * nor one to resolve a module (once the module is created or installed it is tried again).
 */
export function isRememberable(outcome: SettledOutcome): boolean {
  if (outcome.kind === 'imported') return true
  if (outcome.unattempted === true) return false
  return outcome.error.code === undefined || !UNRESOLVED_CODES.has(outcome.error.code)
}

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
