import type { CheckedFile, CheckReport } from '../../discovery/report.js'
import { isPassing } from '../../protocol/discovery.js'
import { failureReason, noFilesReason, tally } from '../check-report.js'

export interface TableOptions {
  /** ANSI colors (a TTY without NO_COLOR). */
  color: boolean
}

const HEADERS = ['FILE', 'STATUS', 'MS', 'WORKFLOWS'] as const

/** The human table: one row per file, under each failing row the reason, and under any row its warnings, indented. */
export function renderTable(report: CheckReport, options: TableOptions): string {
  if (report.files.length === 0) return ''
  const paint = painter(options.color)
  const rows = report.files.map((f) => ({ file: f, cells: [safe(f.path), statusLabel(f), String(Math.round(f.durationMs)), safe(f.workflows.join(', ')) || '-'] }))
  const widths = HEADERS.map((h, i) => Math.max(h.length, ...rows.map((r) => (r.cells[i] ?? '').length)))
  const line = (cells: readonly string[], color: (s: string) => string = (s) => s) =>
    cells
      .map((cell, i) => {
        const width = widths[i] ?? 0
        if (i === 2) return cell.padStart(width)
        const padded = i === cells.length - 1 ? cell : cell.padEnd(width)
        return i === 1 ? color(padded) : padded
      })
      .join('  ')
      .trimEnd()
  const out = [paint.dim(line(HEADERS))]
  for (const { file, cells } of rows) {
    out.push(line(cells, file.slow ? paint.yellow : file.failed ? paint.red : paint.green))
    if (file.failed) out.push(paint.dim(`  -> ${safe(failureReason(file, report.fileBudgetMs))}${file.error?.at === undefined || file.slow ? '' : ` (at ${safe(file.error.at)})`}`))
    for (const warning of file.warnings) out.push(paint.yellow(`  warning: ${safe(warning)}`))
  }
  return `${out.join('\n')}\n`
}

/** The one-line verdict. */
export function renderSummary(report: CheckReport, options: TableOptions): string {
  const paint = painter(options.color)
  const t = tally(report)
  const statuses = [...t.byStatus].map(([status, n]) => `${n} ${status}`)
  const parts = [`${t.total} ${t.total === 1 ? 'file' : 'files'}`]
  if (t.failed > 0) {
    const failing = [...t.byStatus].filter(([status]) => !isPassing(status)).map(([status, n]) => `${n} ${status}`)
    if (t.slow > 0) failing.push(`${t.slow} slow`)
    parts[0] += `, ${t.failed} failing (${failing.join(', ')})`
  } else if (statuses.length > 0) {
    parts[0] += ` (${statuses.join(', ')}${t.cached > 0 ? `, ${t.cached} cached` : ''})`
  }
  parts.push(`${report.workflows.length} ${report.workflows.length === 1 ? 'workflow' : 'workflows'} in ${(report.durationMs / 1000).toFixed(2)} s`)
  if (report.budgetMs !== undefined) parts.push(`${report.overBudget ? 'over' : 'within'} the ${report.budgetMs} ms budget`)
  const verdict = report.ok ? paint.green('nexflow check passed') : paint.red('nexflow check failed')
  const hint = report.noFiles ? `nexflow check: ${noFilesReason(report)}\n` : ''
  return `${hint}${verdict}: ${parts.join(', ')}\n`
}

function statusLabel(file: CheckedFile): string {
  return [file.status, ...(file.cached ? ['cached'] : []), ...(file.slow ? ['slow'] : [])].join(', ')
}

// File names and messages come from user code: never let them drive the terminal.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g

/** Shows control characters as `\uXXXX` so a hostile name or message cannot move the cursor or recolor the terminal. */
export function safe(value: string): string {
  return value.replace(CONTROL, (c) => `\\u${(c.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`)
}

export interface Painter {
  red: (s: string) => string
  green: (s: string) => string
  yellow: (s: string) => string
  dim: (s: string) => string
}

export function painter(color: boolean): Painter {
  const wrap = (open: number, close: number) => (s: string) => (color ? `\u001b[${open}m${s}\u001b[${close}m` : s)
  return { red: wrap(31, 39), green: wrap(32, 39), yellow: wrap(33, 39), dim: wrap(2, 22) }
}
