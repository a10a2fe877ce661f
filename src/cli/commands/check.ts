import { mkdir, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { discover, DISCOVERY_DEFAULTS, type DiscoveryOptions, type DiscoveryReport, type FileResult } from '../../discovery/index.js'
import { buildCheckReport, type CheckReport } from '../../discovery/report.js'
import { CheckUsageError, parseCheckArgs, type CheckOptions } from '../check-options.js'
import { hardExit } from '../hard-exit.js'
import { renderGithub } from '../reporters/github.js'
import { renderJson } from '../reporters/json.js'
import { renderJunit } from '../reporters/junit.js'
import { Progress } from '../reporters/progress.js'
import { renderSummary, renderTable } from '../reporters/table.js'
import type { CommandIo } from './io.js'
import { ignoreClosedPipe } from '../answers.js'
import { closeWithin, finish } from '../process-end.js'

export const CHECK_HELP = `Usage: nexflow check [root] [options]

Discovers the workflow files under root (default: the current folder) the way the server does,
each imported in an isolated worker, and fails when any of them cannot be loaded cleanly and fast.
Prints a table (file, status, ms, workflows) and a one-line summary.

Reports:
  --json [file]            Write the JSON report to file, or to stdout when no file is given
                           (then the table goes to stderr). Put the root before a bare --json.
  --junit <file>           Write a JUnit XML report: one testcase per file.
  --github                 Print GitHub Actions error annotations for failing files.

Limits (a file over a limit, or the run over its budget, fails the check):
  --timeout-ms <ms>        Deadline per file import; the worker is killed after it
                           (default ${DISCOVERY_DEFAULTS.timeoutMs}).
  --file-budget-ms <ms>    A file that imports cleanly but takes longer is marked slow (a cache
                           hit is held to the import time recorded with it). Default: none.
  --budget-ms <ms>         Budget for the whole discovery run. Default: none.
  --max-memory-mb <mb>     Heap limit of each discovery worker; a file that needs more is oom
                           (default ${DISCOVERY_DEFAULTS.maxMemoryMb}).

Discovery:
  --isolation <mode>       thread (worker threads, the default) or process (child processes:
                           also contain native crashes and blocking calls).
  --concurrency <n>        Files imported at once (default: the number of CPUs).
  --pattern <glob>         Candidate pattern relative to root; repeatable; replaces the default
                           patterns (workflows/**/*, src/workflows/**/*, **/*.workflow.*, ...).
  --ignore <glob>          Pattern to skip; repeatable; added to the default ignores
                           (node_modules, dist, build, tests, folders starting with _, ...).
  --no-cache               Neither read nor write the manifest cache: re-import every file.
  --allow-empty            Pass when no candidate file is found (by default that fails: a wrong
                           root or --pattern must not pass silently).
  --cache-dir <dir>        Where the manifest cache lives (default: <root>/${DISCOVERY_DEFAULTS.cacheDir}).
  -h, --help               Show this help.

Statuses: ok and empty (no workflows or models) pass; error, timeout, stuck, oom, exited,
crashed, invalid and conflict fail. "slow" is not a status: a passing file over --file-budget-ms
keeps its status and is marked slow ("slow": true in JSON, <failure type="slow"> in JUnit), and
fails the check. A run over --budget-ms is "overBudget": true in JSON.

Exit codes: 0 every file passed within budget; 1 a file failed, was slow, the run was over
budget, or no candidate file was found; 2 bad usage or config, or a report file could not be
written (the table and summary are printed first); 130 interrupted (143 on SIGTERM). The command exits within the deadline plus a short grace period,
even when an import is stuck in native code.
`

/** How long `close()` may take before the CLI stops waiting for discovery to wind down. */
const CLOSE_GRACE_MS = 2000

/** `nexflow check`: runs discovery over a root and reports on it. Returns the exit code. */
export async function runCheck(args: readonly string[], io: CommandIo): Promise<number> {
  let options: CheckOptions
  try {
    options = parseCheckArgs(args, io.cwd)
  } catch (error) {
    if (!(error instanceof CheckUsageError)) throw error
    io.err.write(`${error.message
      .split('\n')
      .map((line) => `nexflow check: ${line}`)
      .join('\n')}\nRun "nexflow check --help" for usage.\n`)
    return 2
  }
  if (options.help) {
    io.out.write(CHECK_HELP)
    return 0
  }

  if (io.ownsProcess) {
    // A reader that went away (`nexflow check | head`) is not a failure of the check.
    ignoreClosedPipe(io.out)
    ignoreClosedPipe(io.err)
  }

  // With JSON on stdout, stdout carries nothing else.
  const human = options.json === '-' ? io.err : io.out
  const tty = (human as { isTTY?: boolean }).isTTY === true
  // NO_COLOR counts only when set to something (https://no-color.org).
  const color = tty && (io.env.NO_COLOR ?? '') === ''

  const controller = new AbortController()
  const run = discover(discoveryOptions(options, controller.signal))
  let signal: NodeJS.Signals | undefined
  const stopForwarding = io.ownsProcess ? forwardSignals(controller, (received) => (signal ??= received)) : () => {}
  const progress = tty ? new Progress(human, { color }) : undefined
  let discovered: DiscoveryReport | undefined
  /** What was reported before the end, for an interrupted run: the last report of a path wins. */
  const reported = new Map<string, FileResult>()
  try {
    for await (const file of run) {
      reported.set(file.path, file)
      progress?.update(file)
    }
    discovered = await run.report
  } catch (error) {
    // Aborted by a signal, discovery rejects: handled below, once its workers are closed.
    if (!controller.signal.aborted) throw error
  } finally {
    progress?.stop()
    stopForwarding()
    await closeWithin(run, CLOSE_GRACE_MS)
  }
  if (discovered === undefined) {
    // What finished is shown; the files still importing (often the reason for the Ctrl-C) are
    // the ones missing from it. Report files would be partial: none is written.
    const partial = buildCheckReport({ root: options.root, durationMs: 0, files: [...reported.values()], workflows: [] }, { ...options, allowEmpty: true })
    human.write(renderTable(partial, { color }))
    io.err.write(`nexflow check: interrupted after ${reported.size} ${reported.size === 1 ? 'file was' : 'files were'} reported; files not listed were still being imported; no report files were written\n`)
    return finish(signal === 'SIGTERM' ? 143 : 130, io)
  }
  const report = buildCheckReport(discovered, options)

  // Problems with discovery itself (an unwritable cache, abandoned threads), not with the files.
  // An empty root is reported by the check itself (it fails unless --allow-empty), not twice.
  for (const warning of discovered.noFiles ? [] : discovered.warnings) io.err.write(`nexflow check: warning: ${warning}\n`)
  // Everything printed first: a report file that cannot be written must not hide the result.
  human.write(renderTable(report, { color }))
  if (options.github) io.out.write(renderGithub(report, { workspace: io.env.GITHUB_WORKSPACE ?? io.cwd }))
  if (options.json === '-') io.out.write(renderJson(report))
  human.write(renderSummary(report, { color }))
  const unwritten = await writeReportFiles(report, options)
  for (const problem of unwritten) io.err.write(`nexflow check: ${problem}\n`)
  return finish(unwritten.length > 0 ? 2 : report.ok ? 0 : 1, io)
}

function discoveryOptions(options: CheckOptions, signal: AbortSignal): DiscoveryOptions {
  const chosen: DiscoveryOptions = { root: options.root, cache: options.cache, signal }
  if (options.patterns !== undefined) chosen.patterns = options.patterns
  // Discovery's `ignore` replaces its defaults; on the command line --ignore adds to them, so a
  // user skipping one folder does not start importing node_modules.
  if (options.ignore !== undefined) chosen.ignore = [...DISCOVERY_DEFAULTS.ignore, ...options.ignore]
  if (options.timeoutMs !== undefined) chosen.timeoutMs = options.timeoutMs
  if (options.isolation !== undefined) chosen.isolation = options.isolation
  if (options.concurrency !== undefined) chosen.concurrency = options.concurrency
  if (options.maxMemoryMb !== undefined) chosen.maxMemoryMb = options.maxMemoryMb
  if (options.cacheDir !== undefined) chosen.cacheDir = options.cacheDir
  return chosen
}

/** Writes every report file asked for, each attempted whatever became of the others; returns what could not be written. */
async function writeReportFiles(report: CheckReport, options: CheckOptions): Promise<string[]> {
  const files: [flag: string, path: string | undefined, render: (report: CheckReport) => string][] = [
    ['--json', options.json === '-' ? undefined : options.json, renderJson],
    ['--junit', options.junit, renderJunit],
  ]
  const problems: string[] = []
  for (const [flag, path, render] of files) {
    if (path === undefined) continue
    try {
      await mkdir(dirname(path), { recursive: true })
      await writeFile(path, render(report))
    } catch (error) {
      problems.push(`${flag}: cannot write ${JSON.stringify(path)}: ${(error as Error).message}; name a writable file`)
    }
  }
  return problems
}

/**
 * Ctrl-C stops discovery (which kills its workers and child process groups) instead of killing
 * the CLI under them; a second signal ends the process at once.
 */
function forwardSignals(controller: AbortController, received: (signal: NodeJS.Signals) => void): () => void {
  const onSignal = (signal: NodeJS.Signals) => {
    received(signal)
    if (controller.signal.aborted) hardExit(signal === 'SIGTERM' ? 143 : 130)
    controller.abort()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  return () => {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}
