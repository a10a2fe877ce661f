import { realpathSync } from 'node:fs'
import { underRoot, type CheckReport } from '../../discovery/report.js'
import { budgetReason, failureReason, noFilesReason } from '../check-report.js'
import { safe } from './table.js'

export interface GithubOptions {
  /**
   * The directory annotation paths are relative to: GitHub matches `file=` against the
   * repository checkout (`GITHUB_WORKSPACE`), which may sit above the checked root.
   */
  workspace: string
}

/** GitHub Actions `::error` workflow commands, one per failed or slow file (and one for a broken run budget), and a `::warning` per file warning. */
export function renderGithub(report: CheckReport, options: GithubOptions): string {
  const workspace = realWorkspace(options.workspace)
  const lines: string[] = []
  for (const file of report.files) {
    if (!file.failed) continue
    const kind = file.slow ? 'slow' : file.status
    let message = file.slow ? failureReason(file, report.fileBudgetMs) : (file.error?.message ?? file.status)
    if (file.loadingModule !== undefined && file.loadingModule !== file.path) message += `\nwhile loading ${file.loadingModule}`
    // Messages come from user code: a control character must not reach the log viewer raw.
    // The line that threw, when it is in the file itself (the annotation sits on the file's own diff).
    const line = !file.slow && file.error?.at?.startsWith(`${file.path}:`) === true ? file.error.at.slice(file.path.length + 1) : undefined
    lines.push(command('error', { file: underRoot(workspace, file.absolutePath), ...(line === undefined ? {} : { line }), title: `nexflow check: ${kind}` }, safeText(message)))
  }
  for (const file of report.files) {
    for (const warning of file.warnings) lines.push(command('warning', { file: underRoot(workspace, file.absolutePath), title: 'nexflow check: warning' }, safeText(warning)))
  }
  if (report.overBudget) lines.push(command('error', { title: 'nexflow check: over budget' }, budgetReason(report)))
  if (report.noFiles) lines.push(command('error', { title: 'nexflow check: no files' }, noFilesReason(report)))
  return lines.map((line) => `${line}\n`).join('')
}

// The file as GitHub matches it: relative to the workspace's real path (discovery reports real
// paths; the workspace may be reached through a link), absolute outside it (underRoot).

function realWorkspace(workspace: string): string {
  try {
    return realpathSync(workspace)
  } catch {
    return workspace
  }
}

/** Line breaks kept (escapeData encodes them), every other control character shown as `\uXXXX`. */
function safeText(message: string): string {
  return message
    .split(/(\r\n|\r|\n)/)
    .map((part, index) => (index % 2 === 1 ? part : safe(part)))
    .join('')
}

/** `::name key=value,...::message`, escaped as @actions/core does. */
export function command(name: string, properties: Record<string, string>, message: string): string {
  const props = Object.entries(properties)
    .map(([key, value]) => `${key}=${escapeProperty(value)}`)
    .join(',')
  return `::${name}${props === '' ? '' : ` ${props}`}::${escapeData(message)}`
}

export function escapeData(value: string): string {
  return value.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A')
}

export function escapeProperty(value: string): string {
  return escapeData(value).replace(/:/g, '%3A').replace(/,/g, '%2C')
}
