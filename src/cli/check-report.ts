import { FILE_STATUSES, type FileStatus } from '../protocol/discovery.js'
import type { CheckedFile, CheckReport } from '../discovery/report.js'

// The report itself (what passes, what fails, its JSON form) is discovery's data, shared with the
// server's /discovery endpoint; what is here only words it for the CLI's reporters.

/** Why a file fails the check, in one line (its error's first line, or the budget it broke). */
export function failureReason(file: CheckedFile, fileBudgetMs: number | undefined): string {
  if (file.slow) return `took ${Math.round(file.importMs)} ms to import, over the ${fileBudgetMs ?? 0} ms file budget (--file-budget-ms)`
  return firstLine(file.error?.message ?? file.status)
}

/** The whole-run budget breach, in one line. */
export function budgetReason(report: CheckReport): string {
  return `the run took ${Math.round(report.durationMs)} ms, over the ${report.budgetMs ?? 0} ms budget (--budget-ms)`
}

/** Why a run without candidate files fails, in one line. */
export function noFilesReason(report: CheckReport): string {
  return `no candidate files under ${report.root}; check the root and --pattern, or pass --allow-empty when none is expected`
}

/** The first non-empty line; when it only introduces what follows (ends with `:`), the next one too. */
export function firstLine(text: string): string {
  const lines = text.split(/\r?\n/).filter((line) => line.trim() !== '')
  const [first = '', second] = lines
  return first.trimEnd().endsWith(':') && second !== undefined ? `${first.trimEnd()} ${second.trim()}` : first
}

/** Counts by outcome, for summaries; `byStatus` in the order of `FILE_STATUSES`. */
export function tally(report: CheckReport): { total: number; passed: number; failed: number; slow: number; cached: number; byStatus: Map<FileStatus, number> } {
  const byStatus = new Map<FileStatus, number>()
  for (const status of FILE_STATUSES) {
    const n = report.files.filter((f) => f.status === status).length
    if (n > 0) byStatus.set(status, n)
  }
  return {
    total: report.files.length,
    passed: report.files.filter((f) => !f.failed).length,
    failed: report.files.filter((f) => f.failed).length,
    slow: report.files.filter((f) => f.slow).length,
    cached: report.files.filter((f) => f.cached).length,
    byStatus,
  }
}
