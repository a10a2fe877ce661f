import { parseArgs } from 'node:util'
import { NexflowError } from '../errors.js'
import { VERSION } from '../version.js'
import type { CommandIo } from './commands/io.js'
import { hardExit } from './hard-exit.js'

const HELP = `nexflow ${VERSION}: workflows, data models, and a server whose discovery can never hang startup

Usage: nexflow <command> [options]

Commands:
  start [root]      Start the server: listens at once, discovers the workflow files under root in
                    isolated workers, serves each workflow over HTTP as soon as its file is known,
                    and runs workflows in worker threads. See: nexflow start --help
  dev [root]        nexflow start plus hot reload: saved files are live at once, in fresh workers,
                    without dropping a request. See: nexflow dev --help
  mcp [root]        Serve the workflows as MCP tools over stdio, for desktop MCP clients (HTTP
                    clients use /mcp on nexflow start). See: nexflow mcp --help
  check [root]      Discover the workflow files under root in isolated workers and fail when any
                    cannot be loaded cleanly and fast (the CI startup check). See: nexflow check --help
  list              List the workflows a running server serves, as JSON. See: nexflow list --help
  run <workflow>    Run a workflow on a running server (--param key=value, --input file.json), or
                    without one (--local), and print its answer as JSON. See: nexflow run --help
  help              Show this help

Options:
  -h, --help        Show this help
  -v, --version     Print the version
`

type Command = (args: readonly string[], io: CommandIo) => Promise<number>

/**
 * Commands that take over their own arguments, each loaded when it is run: `nexflow start` must
 * not pay for loading what `check`, `run` and `mcp` need before it can listen.
 */
const COMMANDS: ReadonlyMap<string, () => Promise<Command>> = new Map([
  ['check', () => import('./commands/check.js').then((m) => m.runCheck)],
  ['start', () => import('./commands/start-command.js').then((m) => m.runStart)],
  ['dev', () => import('./commands/start-command.js').then((m) => m.runDev)],
  ['mcp', () => import('./commands/mcp.js').then((m) => m.runMcp)],
  ['list', () => import('./commands/list.js').then((m) => m.runList)],
  ['run', () => import('./commands/run.js').then((m) => m.runRun)],
])

/**
 * Runs the CLI and returns its exit code: 0 success, 1 a check failed, 2 bad usage or config.
 * When it writes to the process's own stdout and stderr it is the process's entry point, and a
 * command that may leave threads stuck in native code (check) ends the process itself.
 */
export async function main(argv: readonly string[], out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  const [first, ...rest] = argv
  const load = first === undefined ? undefined : COMMANDS.get(first)
  if (load !== undefined) {
    const ownsProcess = out === process.stdout && err === process.stderr
    try {
      const run = await load()
      return await run(rest, { out, err, cwd: process.cwd(), env: process.env, ownsProcess })
    } catch (error) {
      const code = reportFatal(error, err)
      // The command may have left a discovery thread stuck in native code, which a normal exit
      // would wait on: end the process the way the command itself does.
      if (ownsProcess) await new Promise<void>((resolve) => err.write('', () => resolve())).then(() => hardExit(code))
      return code
    }
  }
  let parsed
  try {
    parsed = parseArgs({
      args: [...argv],
      options: { help: { type: 'boolean', short: 'h' }, version: { type: 'boolean', short: 'v' } },
      allowPositionals: true,
      strict: true,
    })
  } catch (error) {
    err.write(`nexflow: ${(error as Error).message}\nRun "nexflow --help" for usage.\n`)
    return 2
  }
  const [command] = parsed.positionals
  if (parsed.values.version === true) {
    out.write(`${VERSION}\n`)
    return 0
  }
  if (parsed.values.help === true || command === undefined || command === 'help') {
    out.write(HELP)
    return 0
  }
  err.write(`nexflow: unknown command "${command}"\nRun "nexflow --help" for usage.\n`)
  return 2
}

/** Known errors print one line; anything unexpected prints its stack. */
export function reportFatal(error: unknown, err: NodeJS.WritableStream = process.stderr): number {
  if (error instanceof NexflowError) err.write(`nexflow: ${error.message} [${error.code}]\n`)
  else err.write(`nexflow: unexpected error\n${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
  return error instanceof NexflowError && error.code === 'CONFIG_INVALID' ? 2 : 1
}
