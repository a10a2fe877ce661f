import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js'
import { NexflowError } from '../../errors.js'
import { Nexus } from '../../server/nexus.js'
import { parseStartArgs, StartUsageError, type StartFlags } from '../start-options.js'
import type { CommandIo } from './io.js'
import { optionsFromProject, report, serveUntilStopped } from './start.js'

export const MCP_HELP = `Usage: nexflow mcp [root] [options]

Serves the project at root (default: the current folder) to one MCP client over stdio, for
desktop MCP clients that start their servers as commands. Each workflow is a tool; discovery and
runs happen in isolated workers as with nexflow start. stdout carries only MCP messages: every log,
and anything a user file prints, goes to stderr. Ends when the client closes stdin, or on SIGINT /
SIGTERM.

Options (as nexflow start; the HTTP ones do not apply):
  --timeout-ms <ms>        Deadline per file import (default 10000).
  --isolation <mode>       thread (default) or process.
  --concurrency <n>        Files imported at once.
  --no-cache               Re-import every file.
  --workers <n>            Execution worker threads.
  --run-timeout-ms <ms>    A run over this is stopped and reported as a tool error (default 30000).
  --max-memory-mb <mb>     Heap limit of each execution worker.
  -h, --help               Show this help.

For HTTP clients, nexflow start serves the same tools at /mcp (Streamable HTTP).
`

/** The flags of nexflow start that mean nothing without HTTP. */
const HTTP_ONLY: (keyof StartFlags)[] = ['port', 'host', 'maxBodyBytes']

/** `nexflow mcp`: the server's workflows as MCP tools over stdio. */
export async function runMcp(args: readonly string[], io: CommandIo): Promise<number> {
  let flags: StartFlags
  try {
    flags = parseStartArgs(args, io.cwd)
    const given = HTTP_ONLY.filter((flag) => flags[flag] !== undefined)
    if (given.length > 0) throw new StartUsageError(`${given.map((flag) => `--${flag === 'maxBodyBytes' ? 'max-body-bytes' : flag}`).join(', ')}: nexflow mcp talks over stdio, not HTTP; use nexflow start for the /mcp endpoint`)
  } catch (error) {
    if (!(error instanceof StartUsageError)) throw error
    io.err.write(`${error.message
      .split('\n')
      .map((line) => `nexflow mcp: ${line}`)
      .join('\n')}\nRun "nexflow mcp --help" for usage.\n`)
    return 2
  }
  if (flags.help) {
    // Help is for a person at a terminal, not for an MCP client.
    io.out.write(MCP_HELP)
    return 0
  }
  // stdout is the protocol's: everything this command says goes to stderr.
  const log = { out: io.err, err: io.err }
  let app: Nexus
  try {
    // No HTTP, no peer to authenticate: the MCP client started this process itself.
    app = new Nexus({ ...(await optionsFromProject(flags, { ...io, ...log })), auth: false, logger: { info: (line) => io.err.write(`${line}\n`), warn: (line) => io.err.write(`${line}\n`) } })
    await app.start({ http: false })
  } catch (error) {
    if (error instanceof NexflowError && error.code === 'CONFIG_INVALID') {
      io.err.write(`nexflow mcp: ${error.message}\n`)
      return 2
    }
    throw error
  }
  const server = await app.createMcpServer()
  const transport = new StdioServerTransport()
  await server.connect(transport)
  io.err.write(`nexflow: MCP on stdio (serving ${app.options.root})\n`)
  void report(app, io.err, io.err)
  const clientGone = new Promise<string>((resolve) => process.stdin.once('end', () => resolve('stdin closed')))
  return serveUntilStopped(app, { ...io, ...log }, clientGone)
}
