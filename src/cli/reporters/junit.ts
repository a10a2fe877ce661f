import type { FileStatus } from '../../protocol/discovery.js'
import type { CheckedFile, CheckReport } from '../../discovery/report.js'
import { budgetReason, failureReason, noFilesReason } from '../check-report.js'

const SUITE = 'nexflow check'

/**
 * `<failure>`: the file broke a limit or rule the check enforces (deadline, memory, unique names,
 * budget). `<error>`: its import itself broke (threw, exited, crashed, sent garbage) or produced
 * a workflow that cannot run (`invalid`).
 */
const ERROR_STATUSES: ReadonlySet<FileStatus> = new Set<FileStatus>(['error', 'exited', 'crashed', 'invalid'])

/**
 * One `<testcase>` per candidate file (named by its path relative to the root), plus one for the
 * whole run when `--budget-ms` is set. Renders JUnit XML that CI systems (GitHub, GitLab,
 * Jenkins) read.
 */
export function renderJunit(report: CheckReport): string {
  const cases = report.files.map((file) => testcase(file, report.fileBudgetMs))
  let failures = report.files.filter((f) => f.failed && !isError(f)).length
  const errors = report.files.filter(isError).length
  if (report.budgetMs !== undefined) {
    const failure = report.overBudget ? `\n      <failure type="budget" message="${attr(budgetReason(report))}"/>\n    ` : ''
    if (report.overBudget) failures++
    cases.push(`    <testcase classname="${SUITE}" name="${attr(`whole run within --budget-ms ${report.budgetMs}`)}" time="${seconds(report.durationMs)}">${failure}</testcase>`)
  }
  if (report.noFiles) {
    failures++
    cases.push(`    <testcase classname="${SUITE}" name="candidate files found" time="0">\n      <failure type="no-files" message="${attr(noFilesReason(report))}"/>\n    </testcase>`)
  }
  const counts = `tests="${cases.length}" failures="${failures}" errors="${errors}"`
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${SUITE}" ${counts} time="${seconds(report.durationMs)}">`,
    `  <testsuite name="${SUITE}" ${counts} skipped="0" time="${seconds(report.durationMs)}">`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n')
}

function isError(file: CheckedFile): boolean {
  return file.failed && !file.slow && ERROR_STATUSES.has(file.status)
}

function testcase(file: CheckedFile, fileBudgetMs: number | undefined): string {
  const open = `    <testcase classname="${SUITE}" name="${attr(file.path)}" file="${attr(file.path)}" time="${seconds(file.durationMs)}">`
  const out = `\n      <system-out>${text(describe(file))}</system-out>`
  if (!file.failed) return `${open}${out}\n    </testcase>`
  const element = isError(file) ? 'error' : 'failure'
  const type = file.slow ? 'slow' : file.status
  const body = [file.slow ? failureReason(file, fileBudgetMs) : (file.error?.message ?? file.status)]
  if (file.error?.stack !== undefined && !file.slow) body.push(file.error.stack)
  if (file.loadingModule !== undefined && file.loadingModule !== file.path) body.push(`while loading ${file.loadingModule}`)
  const failure = `\n      <${element} type="${type}" message="${attr(failureReason(file, fileBudgetMs))}">${text(body.join('\n'))}</${element}>`
  return `${open}${failure}${out}\n    </testcase>`
}

function describe(file: CheckedFile): string {
  const flags = [file.status, ...(file.cached ? ['cached'] : []), ...(file.slow ? ['slow'] : [])].join(', ')
  const models = file.models.length > 0 ? `; models: ${file.models.join(', ')}` : ''
  const warnings = file.warnings.map((warning) => `\nwarning: ${warning}`).join('')
  return `${flags}; workflows: ${file.workflows.join(', ') || '-'}${models}${warnings}`
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(3)
}

// XML 1.0 allows only #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF], not even
// as character references; anything else (control characters, lone surrogates) is shown as \uXXXX.
const NOT_XML = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu

function visible(value: string): string {
  return value.replace(NOT_XML, (c) => `\\u${(c.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`)
}

/** Escapes character data; `\r` as a reference so parsers do not normalize it away. */
export function text(value: string): string {
  return visible(value).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\r/g, '&#13;')
}

/** Escapes an attribute value; tabs and line breaks as references, which attribute normalization keeps. */
export function attr(value: string): string {
  return text(value).replace(/"/g, '&quot;').replace(/'/g, '&apos;').replace(/\t/g, '&#9;').replace(/\n/g, '&#10;')
}
