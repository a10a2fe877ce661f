import { createRequire } from 'node:module'
import { relative } from 'node:path'
import { pathToFileURL } from 'node:url'
import { serializeError } from '../../src/errors.js'
import { dataflowInstances } from '../../src/dataflow/instances.js'
import { takeIsolationWarnings } from '../../src/protocol/isolation.js'
import type { FileManifest, ImportFailureStatus, SerializedErrorData } from '../../src/protocol/discovery.js'
import { BuiltWorkflows, collect, exportsOf, invalidWorkflowsError, unexportedWarnings } from './collect.js'
import { heapPressure, leftovers, takeSnapshot } from './hygiene.js'
import { hashFile, intrinsics } from './intrinsics.js'
import type { ModuleTracker } from './module-tracker.js'

export type ImportOutcome =
  | { type: 'imported'; manifest: FileManifest; retire?: string }
  | { type: 'failed'; status: ImportFailureStatus; error: SerializedErrorData; importMs: number; imports: string[]; retire?: string }

export interface ImportContext {
  root: string
  tracker: ModuleTracker
  maxManifestBytes: number
  /** Told each time a local module of this import starts evaluating. */
  onLoading: (path: string) => void
}

const requireCache = createRequire(import.meta.url).cache
/**
 * Hashes of local modules, taken as each starts evaluating (before its body runs). A worker
 * evaluates a module once, so this is the content it evaluated (even if the file changes later in
 * the run), and a models module shared by a thousand files is read and hashed once, not a
 * thousand times.
 */
const moduleHashes = new Map<string, string>()

function moduleHash(path: string): string {
  let hash = moduleHashes.get(path)
  if (hash === undefined) {
    hash = hashFile(path) ?? ''
    moduleHashes.set(path, hash)
  }
  return hash
}
/** Which module built each workflow, to warn about workflows a file built but did not export. */
const builtWorkflows = new BuiltWorkflows()

/** Messages and stacks are cut to this many characters: a thrown value is untrusted too. */
const MAX_TEXT = 64 * 1024


/**
 * Imports one candidate file in this worker and describes it. Never throws: a failure of the
 * user's code is returned as data. The file is described by its own import graph (see
 * ModuleTracker), whatever else this worker imported before.
 */
export async function importModule(file: string, context: ImportContext): Promise<ImportOutcome> {
  const registry = dataflowInstances()
  // Notes left by an earlier file belong to it, not to this one.
  takeIsolationWarnings()
  const snapshot = takeSnapshot()
  // Hashed before they run: a module that changes while it is imported (or rewrites itself) must
  // be described by the content evaluated, so the cache never pairs a manifest with other content.
  const fileHash = hashFile(file) ?? ''
  builtWorkflows.evaluating(file)
  context.tracker.begin(file, (module) => {
    moduleHash(module)
    builtWorkflows.evaluating(module)
    context.onLoading(module)
  })
  const started = intrinsics.now()

  let thrown: { value: unknown } | undefined
  let module: Record<string, unknown> | undefined
  try {
    module = (await import(pathToFileURL(file).href)) as Record<string, unknown>
  } catch (error) {
    thrown = { value: error }
  }
  const graph = context.tracker.end(file)
  builtWorkflows.evaluating(undefined)
  let manifestParts: ReturnType<typeof collect> | undefined
  if (module !== undefined) {
    try {
      const commonjs = requireCache[file]
      const exported = exportsOf(module, commonjs === undefined ? undefined : { exports: commonjs.exports }, registry)
      manifestParts = collect(file, exported, graph.dataflows, registry)
    } catch (error) {
      thrown = { value: error }
    }
  }
  const importMs = intrinsics.now() - started
  const loaded = graph.imports

  const problems = leftovers(snapshot)
  const retireReasons = [...problems, heapPressure()].filter((reason): reason is string => reason !== undefined)
  const retire = retireReasons.length > 0 ? retireReasons.join('; ') : undefined
  const withRetire = <T extends object>(outcome: T): T & { retire?: string } => (retire === undefined ? outcome : { ...outcome, retire })

  if (thrown !== undefined || manifestParts === undefined) {
    return withRetire({ type: 'failed', status: 'error', error: serializeError(thrown?.value, { maxText: MAX_TEXT }), importMs, imports: loaded })
  }
  // Workflows that would fail on their first run fail the file now.
  if (manifestParts.invalid.length > 0) {
    return withRetire({ type: 'failed', status: 'invalid', error: invalidWorkflowsError(manifestParts.invalid), importMs, imports: loaded })
  }

  const manifest: FileManifest = {
    file,
    hash: fileHash,
    imports: loaded.map((path) => ({ path, hash: moduleHash(path) })),
    importMs,
    workflows: manifestParts.workflows,
    dataflows: manifestParts.dataflows,
    nodeTypes: manifestParts.nodeTypes,
    warnings: [...manifestParts.warnings, ...unexportedWarnings(builtWorkflows.builtBy(file), manifestParts.exportedValues), ...takeIsolationWarnings(), ...problems.map((problem) => `${problem}; its worker was replaced`)],
  }
  const size = (intrinsics.stringify(manifest) as string | undefined)?.length ?? 0
  if (size > context.maxManifestBytes) {
    const mb = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MB`
    const error: SerializedErrorData = {
      name: 'ManifestTooLarge',
      message: `the manifest of ${relative(context.root, file)} is ${mb(size)}, over the ${mb(context.maxManifestBytes)} limit (${manifest.workflows.length} workflows, ${manifest.nodeTypes.length} node types, ${manifest.dataflows.length} DataFlow instances); split the file or raise maxManifestBytes`,
    }
    return withRetire({ type: 'failed', status: 'invalid', error, importMs, imports: loaded })
  }
  return withRetire({ type: 'imported', manifest })
}
