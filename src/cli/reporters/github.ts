import { isAbsolute, relative, sep } from 'node:path'
import { budgetReason, failureReason, type CheckReport } from '../check-report.js'

export interface GithubOptions {
  /**
   * The directory annotation paths are relative to: GitHub matches `file=` against the
   * repository checkout (`GITHUB_WORKSPACE`), which may sit above the checked root.
   */
  workspace: string
}

/** GitHub Actions `::error` workflow commands, one per failed or slow file (and one for a broken run budget). */
export function renderGithub(report: CheckReport, options: GithubOptions): string {
  const lines: string[] = []
  for (const file of report.files) {
    if (!file.failed) continue
    const kind = file.slow ? 'slow' : file.status
    let message = file.slow ? failureReason(file, report.fileBudgetMs) : (file.error?.message ?? file.status)
    if (file.loadingModule !== undefined) message += `\nwhile loading ${file.loadingModule}`
    lines.push(command('error', { file: workspacePath(file.absolutePath, options.workspace), title: `nexflow check: ${kind}` }, message))
  }
  if (report.overBudget) lines.push(command('error', { title: 'nexflow check: over budget' }, budgetReason(report)))
  return lines.map((line) => `${line}\n`).join('')
}

function workspacePath(absolutePath: string, workspace: string): string {
  const rel = relative(workspace, absolutePath)
  const path = rel === '' || isAbsolute(rel) ? absolutePath : rel
  return path.split(sep).join('/')
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
