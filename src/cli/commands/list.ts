import { errorLine, ignoreClosedPipe, writeJson } from '../answers.js'
import { ClientUsageError, DEFAULT_SERVER_URL, parseListArgs, type ListOptions } from '../client-options.js'
import { requestJson, ServerRequestError } from '../http-client.js'
import type { CommandIo } from './io.js'

export const LIST_HELP = `Usage: nexflow list [options]

Lists the workflows a running server (nexflow start) serves: GET /workflows, printed as JSON
({ "workflows": [{ name, description, version, input_schema, source, endpoints }] }), indented
on a terminal, on one line when piped (nexflow list | jq '.workflows[].name').

Options:
  --url <base>             The server's base URL (default: $NEXFLOW_URL, else ${DEFAULT_SERVER_URL}).
  --api-key <key>          The server's API key or a JWT, sent as Authorization: Bearer
                           (default: $NEXFLOW_API_KEY; prefer the variable: flags show in ps).
  -h, --help               Show this help.

Exit codes: 0 listed; 1 the server could not be reached or answered an error (one line on
stderr; an error body from the server is printed on stdout); 2 bad usage.
`

/** `nexflow list`: the workflows of a running server. Returns the exit code. */
export async function runList(args: readonly string[], io: CommandIo): Promise<number> {
  if (io.ownsProcess) {
    ignoreClosedPipe(io.out)
    ignoreClosedPipe(io.err)
  }
  let options: ListOptions
  try {
    options = parseListArgs(args, io.env)
  } catch (error) {
    if (!(error instanceof ClientUsageError)) throw error
    io.err.write(`${error.message
      .split('\n')
      .map((line) => `nexflow list: ${line}`)
      .join('\n')}\nRun "nexflow list --help" for usage.\n`)
    return 2
  }
  if (options.help) {
    io.out.write(LIST_HELP)
    return 0
  }
  try {
    const answer = await requestJson(`${options.url}/workflows`, { method: 'GET' }, options.apiKey)
    writeJson(io.out, answer.body)
    if (answer.status === 200) return 0
    io.err.write(errorLine('list', answer.status, answer.body))
    return 1
  } catch (error) {
    if (!(error instanceof ServerRequestError)) throw error
    io.err.write(`nexflow list: ${error.message}\n`)
    return 1
  }
}
