import { z } from 'zod'
import { MAX_CAUSE_DEPTH, type SerializedError } from '../errors.js'
import { dataflowManifestSchema } from './dataflow-manifest.js'
import type { JsonValue } from './json.js'
import { workflowJsonSchema, workflowNodeJsonSchema } from './workflow-json.js'

/**
 * The closed set of per-file outcomes, used in every report. `invalid`: what the import produced
 * cannot be used, either a manifest the worker could not send or the main side refused, or an
 * exported workflow that cannot run with the node types of the thread that imported it (an
 * unknown node type, a config value its param schema refuses, an unknown param key).
 */
export const FILE_STATUSES = ['ok', 'empty', 'error', 'timeout', 'stuck', 'oom', 'exited', 'crashed', 'invalid', 'conflict'] as const
export type FileStatus = (typeof FILE_STATUSES)[number]

/**
 * What each status says about a file, one entry per status, so a new status does not compile until
 * it is placed; every subset below (and its type) is derived from this table.
 * - `pass`: the file passes a check.
 * - `import`: the import failed whatever the limits: it threw (`error`), or what it produced cannot
 *   be used (`invalid`). The worker itself reports these.
 * - `limit`: the worker was ended by, or ran into, a limit of the run (deadline, memory,
 *   isolation, grace), so a quarantine holds only under the same limits.
 * - `across`: decided across files, after each was settled on its own.
 */
export const FILE_STATUS_KINDS = {
  ok: 'pass',
  empty: 'pass',
  error: 'import',
  timeout: 'limit',
  stuck: 'limit',
  oom: 'limit',
  exited: 'limit',
  crashed: 'limit',
  invalid: 'import',
  conflict: 'across',
} as const satisfies Record<FileStatus, 'pass' | 'import' | 'limit' | 'across'>

type Kinds = typeof FILE_STATUS_KINDS
type StatusOfKind<K extends Kinds[FileStatus]> = { [S in FileStatus]: Kinds[S] extends K ? S : never }[FileStatus]
export type PassingStatus = StatusOfKind<'pass'>
/** Statuses a single file can fail with (`conflict` is decided across files, later). */
export type FailureStatus = StatusOfKind<'import' | 'limit'>
/** Failures a worker reports itself. */
export type ImportFailureStatus = StatusOfKind<'import'>
export type LimitBoundStatus = StatusOfKind<'limit'>

function statusesOf<K extends Kinds[FileStatus]>(...kinds: K[]): [StatusOfKind<K>, ...StatusOfKind<K>[]] {
  return FILE_STATUSES.filter((status) => (kinds as string[]).includes(FILE_STATUS_KINDS[status])) as [StatusOfKind<K>, ...StatusOfKind<K>[]]
}

export const PASSING_STATUSES: readonly PassingStatus[] = statusesOf('pass')
export const FAILURE_STATUSES: readonly [FailureStatus, ...FailureStatus[]] = statusesOf('import', 'limit')
export const IMPORT_FAILURE_STATUSES: readonly [ImportFailureStatus, ...ImportFailureStatus[]] = statusesOf('import')
export const LIMIT_BOUND_STATUSES: readonly LimitBoundStatus[] = statusesOf('limit')

/** Whether the file failed on its own (not a `conflict` with another file). */
export function isFailure(status: FileStatus): status is FailureStatus {
  return FILE_STATUS_KINDS[status] === 'import' || FILE_STATUS_KINDS[status] === 'limit'
}

/** Whether a file with this status passes a check. */
export function isPassing(status: FileStatus): status is PassingStatus {
  return FILE_STATUS_KINDS[status] === 'pass'
}

const errorFields = {
  name: z.string(),
  message: z.string(),
  code: z.string().optional(),
  stack: z.string().optional(),
  details: z.record(z.string(), z.unknown()).optional(),
}

/**
 * A serialized error (see `serializeError`), its `cause` chain at most MAX_CAUSE_DEPTH deep. Built
 * level by level, not with `z.lazy`: a worker is untrusted, and a chain thousands deep must fail
 * the schema, not overflow a recursive validator.
 */
export const serializedErrorSchema: z.ZodType<SerializedError> = Array.from({ length: MAX_CAUSE_DEPTH }).reduce<z.ZodType<SerializedError>>(
  (inner) => z.object({ ...errorFields, cause: inner.optional() }),
  z.object(errorFields),
)

/** Values in a manifest nest at most this deep (params, JSON Schemas, DataFlow options). */
export const MAX_JSON_DEPTH = 256

function isPlainObject(item: unknown): item is Record<string, unknown> {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) return false
  const proto = Object.getPrototypeOf(item) as unknown
  return proto === Object.prototype || proto === null
}

/** The first value in `root` that is not plain JSON, as a path (`.a[2].b`); walks again, slowly, to say where. */
function pathOfFirstNonJson(root: Record<string, unknown>): string {
  const stack: [unknown, string, number][] = [[root, '', 1]]
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const [item, path, depth] = next
    if (item === null || typeof item === 'string' || typeof item === 'boolean' || (typeof item === 'number' && Number.isFinite(item))) continue
    if (depth > MAX_JSON_DEPTH || typeof item !== 'object') return path
    if (Array.isArray(item)) for (let i = item.length - 1; i >= 0; i--) stack.push([item[i], `${path}[${i}]`, depth + 1])
    else if (isPlainObject(item)) for (const key of Object.keys(item).reverse()) stack.push([item[key], `${path}.${key}`, depth + 1])
    else return path
  }
  return ''
}

/**
 * Where `value` is not a plain JSON object (a plain object whose values are strings, finite
 * numbers, booleans, null, arrays or plain objects, at most {@link MAX_JSON_DEPTH} deep), as a
 * path from it (`.a[2].b`, `''` for the object itself), or `undefined` if it is one. Iterative.
 */
export function nonJsonObjectAt(value: unknown): string | undefined {
  if (!isPlainObject(value)) return ''
  // Values and their depths, side by side: no allocation per value on the way.
  const items: unknown[] = [value]
  const depths: number[] = [1]
  while (items.length > 0) {
    const item = items.pop()
    const depth = depths.pop() as number
    if (item === null || typeof item === 'string' || typeof item === 'boolean') continue
    if (typeof item === 'number' && Number.isFinite(item)) continue
    if (depth > MAX_JSON_DEPTH || typeof item !== 'object') return pathOfFirstNonJson(value)
    if (Array.isArray(item)) {
      for (let i = 0; i < item.length; i++) {
        items.push(item[i])
        depths.push(depth + 1)
      }
    } else if (isPlainObject(item)) {
      for (const key in item) {
        if (!Object.hasOwn(item, key)) continue
        items.push(item[key])
        depths.push(depth + 1)
      }
    } else {
      return pathOfFirstNonJson(value)
    }
  }
  return undefined
}

/**
 * A plain JSON object, as the shared `z.record(z.string(), jsonValueSchema)` accepts (bounded in
 * depth), checked without recursion. Why not that schema: the main thread validates every
 * manifest, and its lazy union tries and fails each alternative at every value (about half the
 * cost of parsing a manifest), and recursing, it overflows the stack on a value nested a few
 * thousand levels deep.
 */
const jsonObjectSchema = z.custom<Record<string, JsonValue>>().superRefine((value, ctx) => {
  const at = nonJsonObjectAt(value)
  const where = at !== undefined && at.length > 120 ? `${at.slice(0, 120)}...` : at
  if (where !== undefined) ctx.addIssue({ code: 'custom', message: `${where === '' ? 'expected' : `at ${where}: expected`} plain JSON (strings, finite numbers, booleans, null, arrays, plain objects; at most ${MAX_JSON_DEPTH} levels deep)` })
})

/** The JSON form of a workflow, as `workflowJsonSchema`, with its JSON values checked by {@link jsonObjectSchema}. */
const manifestWorkflowSchema = workflowJsonSchema.extend({
  nodes: z.array(workflowNodeJsonSchema.extend({ params: jsonObjectSchema })),
  inputSchema: jsonObjectSchema,
})

/** A workflow a module exported (a built Workflow, or a WorkflowBuilder the worker built). */
export const discoveredWorkflowSchema = z.object({
  /** Final name: `build({ name })`, else the file stem for `default`/`workflow`/`builder`/`wf`, else `<stem>.<export>`. */
  name: z.string().min(1),
  exportName: z.string(),
  workflow: manifestWorkflowSchema,
})

export const discoveredNodeTypeSchema = z.object({
  type: z.string(),
  description: z.string(),
  exportName: z.string(),
  /** JSON Schema of the node's params. */
  paramsSchema: jsonObjectSchema,
})

/** A DataFlow instance the file (or a module it imports) created. */
export const discoveredDataflowSchema = dataflowManifestSchema.extend({ options: jsonObjectSchema })

/**
 * What a worker reports for one successfully imported file. The main thread parses every manifest
 * with this schema: a worker is untrusted, and anything malformed makes the file `invalid`.
 */
export const fileManifestSchema = z.object({
  /** Absolute path of the candidate file. */
  file: z.string(),
  /** sha256 (hex) of the file's content when it was imported. */
  hash: z.string(),
  /** Local files (inside the root, outside node_modules) the import loaded, with their hashes. */
  imports: z.array(z.object({ path: z.string(), hash: z.string() })),
  importMs: z.number().nonnegative(),
  workflows: z.array(discoveredWorkflowSchema),
  dataflows: z.array(discoveredDataflowSchema),
  nodeTypes: z.array(discoveredNodeTypeSchema),
  warnings: z.array(z.string()),
})

/** The same shape as `SerializedError`, named for the data that crosses from a worker. */
export type SerializedErrorData = SerializedError
export type DiscoveredWorkflow = z.infer<typeof discoveredWorkflowSchema>
export type DiscoveredNodeType = z.infer<typeof discoveredNodeTypeSchema>
export type FileManifest = z.infer<typeof fileManifestSchema>
export type DiscoveredDataflow = z.infer<typeof discoveredDataflowSchema>
