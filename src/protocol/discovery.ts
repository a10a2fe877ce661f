import { z } from 'zod'
import { dataflowManifestSchema } from './dataflow-manifest.js'
import { jsonValueSchema } from './json.js'
import { workflowJsonSchema } from './workflow-json.js'

/** The closed set of per-file outcomes, used in every report. */
export const FILE_STATUSES = ['ok', 'empty', 'error', 'timeout', 'stuck', 'oom', 'exited', 'crashed', 'invalid', 'conflict'] as const
export type FileStatus = (typeof FILE_STATUSES)[number]

export const serializedErrorSchema = z.object({
  name: z.string(),
  message: z.string(),
  code: z.string().optional(),
  stack: z.string().optional(),
  details: z.record(z.string(), z.unknown()).optional(),
})

/** A workflow a module exported (a built Workflow, or a WorkflowBuilder the worker built). */
export const discoveredWorkflowSchema = z.object({
  /** Final name: `build({ name })`, else the file stem for `default`/`workflow`/`builder`/`wf`, else `<stem>.<export>`. */
  name: z.string().min(1),
  exportName: z.string(),
  workflow: workflowJsonSchema,
})

export const discoveredNodeTypeSchema = z.object({
  type: z.string(),
  description: z.string(),
  exportName: z.string(),
  /** JSON Schema of the node's params. */
  paramsSchema: z.record(z.string(), jsonValueSchema),
})

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
  dataflows: z.array(dataflowManifestSchema),
  nodeTypes: z.array(discoveredNodeTypeSchema),
  warnings: z.array(z.string()),
})

export type SerializedErrorData = z.infer<typeof serializedErrorSchema>
export type DiscoveredWorkflow = z.infer<typeof discoveredWorkflowSchema>
export type DiscoveredNodeType = z.infer<typeof discoveredNodeTypeSchema>
export type FileManifest = z.infer<typeof fileManifestSchema>
