import { isAbsolute, relative, sep } from 'node:path'
import { isPassing, type FileStatus } from '../protocol/discovery.js'
import { firstUserFrame } from './user-frame.js'

/**
 * What `nexflow check` decides about a discovery run, as plain data every reporter renders.
 *
 * `slow` is not a status. The status set stays closed (`FILE_STATUSES`) and always says what the
 * import did; a file that would otherwise pass (`ok` or `empty`) but took longer than
 * `--file-budget-ms` keeps its status and is marked `slow: true`, which fails the check. In JSON
 * that is an extra `"slow": true` on the file (absent otherwise); JUnit reports it as a
 * `<failure type="slow">`; the table shows `ok, slow`; GitHub gets an error annotation.
 * Likewise a run longer than `--budget-ms` is `"overBudget": true` at the top of the JSON.
 */
export interface CheckReport {
  /** Absolute root the candidates were found under. */
  root: string
  /**
   * True when no file failed, none was slow, the run was within its budget, and there was at
   * least one candidate file (unless `allowEmpty`).
   */
  ok: boolean
  durationMs: number
  /** One entry per candidate, sorted by path. */
  files: CheckedFile[]
  /** Every workflow name discovered, sorted. */
  workflows: string[]
  budgetMs: number | undefined
  fileBudgetMs: number | undefined
  overBudget: boolean
  /** No candidate file was found, and that fails the check (no `allowEmpty`). */
  noFiles: boolean
}

export interface CheckedFile {
  /** Relative to the root, with `/` separators. */
  path: string
  absolutePath: string
  status: FileStatus
  cached: boolean
  /** How long discovery spent on the file in this run (a cache hit is fast). */
  durationMs: number
  /**
   * The import time `--file-budget-ms` is held against: this run's time, or for a cache hit the
   * time recorded when the file was last imported, so a warm cache cannot hide a slow file.
   */
  importMs: number
  workflows: string[]
  models: string[]
  /**
   * Why a failed file failed: the error discovery reported, else a description of its status.
   * `at`: where the user's code threw, as `path:line` relative to the root (see firstUserFrame).
   */
  error: { message: string; stack?: string; at?: string } | undefined
  /** Would have passed, but `importMs` is over `--file-budget-ms`. */
  slow: boolean
  /** Fails the check: a failing status, or slow. */
  failed: boolean
  /** The module that was evaluating when the file failed, relative to the root when inside it. */
  loadingModule: string | undefined
  /** What the import noted without failing (a workflow built but not exported); never fails the check. */
  warnings: string[]
}

/**
 * The part of a discovery result the check reads: a `FileResult`, or the server's live view of
 * one (declared structurally, so either fits).
 */
export interface DiscoveredFile {
  path: string
  relativePath: string
  status: FileStatus
  cached: boolean
  durationMs: number
  workflows: readonly string[]
  models: readonly string[]
  error?: { message: string; stack?: string | undefined } | undefined
  loadingModule?: string | undefined
  exitCode?: number | undefined
  manifest?: { importMs: number; warnings?: readonly string[] } | undefined
}

export interface DiscoveredRun {
  root: string
  durationMs: number
  files: readonly DiscoveredFile[]
  workflows: readonly string[]
}

export interface Budgets {
  /** The whole run. */
  budgetMs?: number | undefined
  /** Each file's import. */
  fileBudgetMs?: number | undefined
  /** A root without candidate files passes. */
  allowEmpty?: boolean | undefined
}

/** Applies the check's rules (statuses, budgets) to a discovery report. Pure. */
export function buildCheckReport(run: DiscoveredRun, budgets: Budgets = {}): CheckReport {
  // The last result for a path wins (discovery may re-report a file, e.g. as a conflict).
  const byPath = new Map<string, DiscoveredFile>()
  for (const file of run.files) byPath.set(file.path, file)
  const files = [...byPath.values()].map((file) => checkFile(file, run.root, budgets.fileBudgetMs)).sort((a, b) => compare(a.path, b.path))
  const overBudget = budgets.budgetMs !== undefined && run.durationMs > budgets.budgetMs
  const noFiles = files.length === 0 && budgets.allowEmpty !== true
  return {
    root: run.root,
    ok: !overBudget && !noFiles && files.every((f) => !f.failed),
    durationMs: run.durationMs,
    files,
    workflows: [...new Set(run.workflows)].sort(compare),
    budgetMs: budgets.budgetMs,
    fileBudgetMs: budgets.fileBudgetMs,
    overBudget,
    noFiles,
  }
}

/** `path` relative to `root` with `/` separators; absolute when it lies outside the root. */
export function underRoot(root: string, path: string): string {
  const rel = relative(root, path)
  return (rel === '' || rel.startsWith('..') || isAbsolute(rel) ? path : rel).split(sep).join('/')
}

function checkFile(file: DiscoveredFile, root: string, fileBudgetMs: number | undefined): CheckedFile {
  const importMs = file.cached ? (file.manifest?.importMs ?? file.durationMs) : file.durationMs
  const passing = isPassing(file.status)
  // Budgets are whole milliseconds, and so is what reports print: 300.4 ms is within 300 ms.
  const slow = passing && fileBudgetMs !== undefined && Math.round(importMs) > fileBudgetMs
  const loadingModule = file.loadingModule === undefined ? undefined : underRoot(root, file.loadingModule)
  let error: CheckedFile['error']
  if (!passing) {
    const message = file.error?.message || describeStatus({ ...file, loadingModule })
    const stack = file.error?.stack || undefined
    const at = firstUserFrame(stack, root)
    error = { message, ...(stack === undefined ? {} : { stack }), ...(at === undefined ? {} : { at }) }
  }
  return {
    path: file.relativePath.split('\\').join('/'),
    absolutePath: file.path,
    status: file.status,
    cached: file.cached,
    durationMs: file.durationMs,
    importMs,
    workflows: [...file.workflows],
    models: [...file.models],
    error,
    slow,
    failed: !passing || slow,
    loadingModule,
    warnings: [...(file.manifest?.warnings ?? [])],
  }
}

/** A one-line description of a failing status, for results that carry no error of their own. */
export function describeStatus(file: Pick<DiscoveredFile, 'status' | 'durationMs' | 'loadingModule' | 'exitCode'>): string {
  const loading = file.loadingModule === undefined ? '' : ` while loading ${file.loadingModule}`
  const ms = Math.round(file.durationMs)
  switch (file.status) {
    case 'ok':
      return 'imported'
    case 'empty':
      return 'imported; exports no workflows or models'
    case 'error':
      return 'the import threw'
    case 'timeout':
      return `the import did not finish within its deadline (killed after ${ms} ms${loading})`
    case 'stuck':
      return `blocked in a native call past its deadline (${ms} ms${loading}); the thread was abandoned`
    case 'oom':
      return `exceeded the worker memory limit${loading}`
    case 'exited':
      return `called process.exit(${file.exitCode ?? ''}) during import`
    case 'crashed':
      return `the worker crashed during import${loading}`
    case 'invalid':
      return 'a workflow it exports cannot run, or its manifest was malformed'
    case 'conflict':
      return 'produces a workflow name another file also produces'
  }
}

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
  error?: { message: string; stack?: string; at?: string }
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

// Code-unit order: stable across locales, so reports diff cleanly between machines.
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
