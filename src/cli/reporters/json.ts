import type { FileStatus } from '../../protocol/discovery.js'
import type { CheckReport } from '../check-report.js'

/** The `--json` document. Keys beyond the documented shape appear only when true (`slow`, `overBudget`, `noFiles`) or not empty (`warnings`). */
export interface CheckJson {
  ok: boolean
  durationMs: number
  files: CheckJsonFile[]
  workflows: string[]
  overBudget?: true
  /** No candidate file was found (and `--allow-empty` was not given). */
  noFiles?: true
}

export interface CheckJsonFile {
  /** Relative to the checked root. */
  path: string
  status: FileStatus
  cached: boolean
  durationMs: number
  workflows: string[]
  models: string[]
  error?: { message: string; stack?: string }
  slow?: true
  /** What the import noted without failing (a workflow built but not exported). */
  warnings?: string[]
}

export function toCheckJson(report: CheckReport): CheckJson {
  const json: CheckJson = {
    ok: report.ok,
    durationMs: Math.round(report.durationMs),
    files: report.files.map((f) => ({
      path: f.path,
      status: f.status,
      cached: f.cached,
      durationMs: Math.round(f.durationMs),
      workflows: f.workflows,
      models: f.models,
      ...(f.error === undefined ? {} : { error: f.error }),
      ...(f.slow ? { slow: true as const } : {}),
      ...(f.warnings.length > 0 ? { warnings: f.warnings } : {}),
    })),
    workflows: report.workflows,
  }
  if (report.overBudget) json.overBudget = true
  if (report.noFiles) json.noFiles = true
  return json
}

export function renderJson(report: CheckReport): string {
  return `${JSON.stringify(toCheckJson(report), null, 2)}\n`
}
