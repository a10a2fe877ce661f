import { createRequire } from 'node:module'
import { relative } from 'node:path'
import { pathToFileURL } from 'node:url'
import { serializeError, type SerializedError } from '../../src/errors.js'
import { dataflowInstances, type DescribableDataFlow } from '../../src/protocol/dataflow-manifest.js'
import type { FileManifest } from '../../src/protocol/discovery.js'
import { DISCOVERY_NAMESPACE_PARAM } from '../../src/protocol/discovery-messages.js'
import { collect, exportsOf } from './collect.js'
import { heapPressure, leftovers, takeSnapshot } from './hygiene.js'
import { hashFile, intrinsics } from './intrinsics.js'
import type { ModuleTracker } from './module-tracker.js'

export type ImportOutcome =
  | { type: 'imported'; manifest: FileManifest; retire?: string }
  | { type: 'failed'; status: 'error' | 'invalid'; error: SerializedError; importMs: number; imports: string[]; retire?: string }

export interface ImportContext {
  root: string
  tracker: ModuleTracker
  maxManifestBytes: number
  /** Told each time a local module of this import starts evaluating. */
  onLoading: (path: string) => void
}

const requireCache = createRequire(import.meta.url).cache
const NAMESPACE_QUERY = new RegExp(`\\?${DISCOVERY_NAMESPACE_PARAM}=\\d+`, 'g')
/** Messages and stacks are cut to this many characters: a thrown value is untrusted too. */
const MAX_TEXT = 64 * 1024

function clean(text: string | undefined): string | undefined {
  if (text === undefined) return undefined
  const cleaned = text.replace(NAMESPACE_QUERY, '')
  return cleaned.length > MAX_TEXT ? `${cleaned.slice(0, MAX_TEXT)}... (${cleaned.length - MAX_TEXT} more characters)` : cleaned
}

/** Serializes anything thrown, however hostile (a Proxy, a getter that throws), without throwing. */
function describeThrown(thrown: unknown): SerializedError {
  try {
    const error = serializeError(thrown)
    const serialized: SerializedError = { name: String(error.name), message: clean(String(error.message)) ?? '' }
    const stack = clean(error.stack)
    if (stack !== undefined) serialized.stack = stack
    if (error.code !== undefined) serialized.code = error.code
    return serialized
  } catch {
    return { name: 'NonError', message: 'a value that cannot be described was thrown' }
  }
}

/**
 * Imports one candidate file in this worker and describes it. Never throws: a failure of the
 * user's code is returned as data. Local modules are namespaced per import (see loader-hooks.mjs),
 * so the file is described by its own import graph.
 */
export async function importModule(file: string, context: ImportContext): Promise<ImportOutcome> {
  const registry = dataflowInstances()
  const before = new Set<DescribableDataFlow>(registry)
  const snapshot = takeSnapshot()
  const namespace = context.tracker.begin(context.onLoading)
  const started = intrinsics.now()

  let thrown: { value: unknown } | undefined
  let manifestParts: ReturnType<typeof collect> | undefined
  try {
    const url = `${pathToFileURL(file).href}?${DISCOVERY_NAMESPACE_PARAM}=${namespace}`
    const module = (await import(url)) as Record<string, unknown>
    const commonjs = requireCache[file]
    const exported = exportsOf(module, commonjs === undefined ? undefined : { exports: commonjs.exports }, registry)
    const created = [...registry].filter((instance) => !before.has(instance))
    manifestParts = collect(file, exported, created, registry)
  } catch (error) {
    thrown = { value: error }
  }
  const importMs = intrinsics.now() - started
  const loaded = (await context.tracker.end(namespace)).filter((path) => path !== file)

  // Instances described once are dropped from this thread's registry: the next file must not see them.
  for (const instance of registry) if (!before.has(instance)) registry.delete(instance)

  const problems = leftovers(snapshot)
  const retireReasons = [...problems, heapPressure()].filter((reason): reason is string => reason !== undefined)
  const retire = retireReasons.length > 0 ? retireReasons.join('; ') : undefined
  const withRetire = <T extends object>(outcome: T): T & { retire?: string } => (retire === undefined ? outcome : { ...outcome, retire })

  if (thrown !== undefined || manifestParts === undefined) {
    return withRetire({ type: 'failed', status: 'error', error: describeThrown(thrown?.value), importMs, imports: loaded })
  }

  const manifest: FileManifest = {
    file,
    hash: hashFile(file) ?? '',
    imports: loaded.map((path) => ({ path, hash: hashFile(path) ?? '' })),
    importMs,
    workflows: manifestParts.workflows,
    dataflows: manifestParts.dataflows,
    nodeTypes: manifestParts.nodeTypes,
    warnings: [...manifestParts.warnings, ...problems.map((problem) => `${problem}; its worker was replaced`)],
  }
  const size = (intrinsics.stringify(manifest) as string | undefined)?.length ?? 0
  if (size > context.maxManifestBytes) {
    const mb = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MB`
    const error: SerializedError = {
      name: 'ManifestTooLarge',
      message: `the manifest of ${relative(context.root, file)} is ${mb(size)}, over the ${mb(context.maxManifestBytes)} limit (${manifest.workflows.length} workflows, ${manifest.nodeTypes.length} node types, ${manifest.dataflows.length} DataFlow instances); split the file or raise maxManifestBytes`,
    }
    return withRetire({ type: 'failed', status: 'invalid', error, importMs, imports: loaded })
  }
  return withRetire({ type: 'imported', manifest })
}
