import type { SerializedError } from '../errors.js'
import type { FileManifest, FileStatus } from '../protocol/discovery.js'
import { relativeToRoot } from './candidates.js'
import type { SettledOutcome } from './outcome.js'

/** What discovery reports for one candidate file. */
export interface FileResult {
  /** Absolute path. */
  path: string
  /** Relative to the root, with forward slashes. */
  relativePath: string
  status: FileStatus
  /** Reported from the manifest cache, without importing the file. */
  cached: boolean
  /**
   * Import time in ms, measured by the worker from the start of the import (queue time
   * excluded); for a file that failed in a way the worker could not report, the time until the
   * main thread settled it. A cached result keeps the time measured when it was imported.
   */
  durationMs: number
  /** Names of the workflows it produced. */
  workflows: string[]
  /** Names of the DataFlow models it declared (also through the modules it imports). */
  models: string[]
  /** For `ok`, `empty` and `conflict`. */
  manifest?: FileManifest
  /** For every other status, and for `conflict` (which names the other files). */
  error?: SerializedError
  /** For `timeout`, `stuck`, `oom`, `crashed` (and an `error` whose thrown value has no stack): the local module that was evaluating, when known. Never for `invalid`, which is about what the import produced. */
  loadingModule?: string
  /** For `exited`: the code the module passed to `process.exit()`. */
  exitCode?: number
  /**
   * When a worker began importing it, in ms from the start of this discovery run (a cached file:
   * when the cache answered, so `startMs === endMs`). With `endMs`, what a waterfall draws.
   */
  startMs?: number
  /** When it was settled, in ms from the start of this discovery run. */
  endMs?: number
}

/** Duplicate workflow names inside one manifest. */
export function duplicateNames(manifest: FileManifest): Map<string, string[]> {
  const exportsByName = new Map<string, string[]>()
  for (const workflow of manifest.workflows) {
    exportsByName.set(workflow.name, [...(exportsByName.get(workflow.name) ?? []), workflow.exportName])
  }
  return new Map([...exportsByName].filter(([, exportNames]) => exportNames.length > 1))
}

/** Turns a settled outcome into the file's own result (before conflicts across files are applied). */
export function resultFromOutcome(root: string, path: string, outcome: SettledOutcome, cached: boolean): FileResult {
  const base = { path, relativePath: relativeToRoot(root, path), cached, durationMs: Math.round(outcome.durationMs * 100) / 100 }
  if (outcome.kind === 'failed') {
    return {
      ...base,
      status: outcome.status,
      workflows: [],
      models: [],
      error: outcome.error,
      ...(outcome.loadingModule === undefined || outcome.status === 'invalid' ? {} : { loadingModule: outcome.loadingModule }),
      ...(outcome.exitCode === undefined ? {} : { exitCode: outcome.exitCode }),
    }
  }
  const { manifest } = outcome
  const workflows = [...new Set(manifest.workflows.map((workflow) => workflow.name))]
  const models = [...new Set(manifest.dataflows.flatMap((dataflow) => dataflow.models.map((model) => model.name)))]
  const duplicates = duplicateNames(manifest)
  if (duplicates.size > 0) {
    const listed = [...duplicates].map(([name, exportNames]) => `"${name}" (exports ${exportNames.map((e) => `"${e}"`).join(', ')})`)
    return {
      ...base,
      status: 'conflict',
      workflows,
      models,
      manifest,
      error: {
        name: 'NexflowError',
        code: 'WORKFLOW_NAME_CONFLICT',
        message: `${base.relativePath} produces more than one workflow named ${listed.join(', ')}; give each a distinct name`,
        details: { names: Object.fromEntries(duplicates) },
      },
    }
  }
  return { ...base, status: workflows.length === 0 && models.length === 0 ? 'empty' : 'ok', workflows, models, manifest }
}
