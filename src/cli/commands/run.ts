import { DISCOVERY_DEFAULTS } from '../../discovery/index.js'
import { errorLine, ignoreClosedPipe, writeJson } from '../answers.js'
import { ClientUsageError, DEFAULT_SERVER_URL, LOCAL_RUN_DEFAULTS, parseRunArgs, type RemoteRunOptions, type RunOptions } from '../client-options.js'
import { requestJson, ServerRequestError } from '../http-client.js'
import { runLocal } from '../local-run.js'
import { collectInputs } from '../run-inputs.js'
import type { CommandIo } from './io.js'

export const RUN_HELP = `Usage: nexflow run <workflow> [options]
       nexflow run --local <workflow> [--root <dir>] [options]

Runs one workflow and prints its answer as JSON: { outputs, execution_time, workflow_id, run_id,
version }. By default it asks a running server (nexflow start): POST /workflows/<workflow>/execute.
With --local there is no server: the project under --root is discovered in isolated workers, as
the server does it, and the workflow runs in one worker thread of this process.

Inputs:
  --param <key=value>      One input; repeatable. The value is sent as JSON when it parses as
                           JSON (--param n=3 is the number 3, --param tags='["a"]' an array,
                           --param ok=true a boolean), else as the text given (--param id=u1).
                           Quote a JSON string to keep text that looks like JSON: --param zip='"123"'.
  --input <file|->         A JSON object of inputs, from a file or from stdin (-); --param
                           values override its keys.

Server:
  --url <base>             The server's base URL (default: $NEXFLOW_URL, else ${DEFAULT_SERVER_URL}).
  --api-key <key>          The server's API key or a JWT, sent as Authorization: Bearer
                           (default: $NEXFLOW_API_KEY; prefer the variable: flags show in ps).

  --async                  Do not wait: the server answers { execution_id, status: "pending" } at
                           once; poll GET /workflows/<workflow>/status/<execution_id>.
  --idempotency-key <key>  Sent as Idempotency-Key: the same command again (same key, same
                           inputs) gets the first answer back instead of running twice.

Local (only with --local):
  --local                  Run without a server.
  --root <dir>             The project to discover (default: the current folder).
  --timeout-ms <ms>        Discovery: deadline per file import; the worker is killed after it
                           (default ${DISCOVERY_DEFAULTS.timeoutMs}). A file over it is skipped with a warning.
  --run-timeout-ms <ms>    The run: it is stopped after this and answered RUN_TIMEOUT
                           (default ${LOCAL_RUN_DEFAULTS.runTimeoutMs}).
  --no-cache               Re-import every file instead of using the manifest cache (.nexflow/).
  -h, --help               Show this help.

Output: stdout carries exactly one JSON document, the answer: indented on a terminal, on one
line when piped (nexflow run greet --param name=Ada | jq .outputs). When the run fails, that
document is the error body, { "error": { code, message, details } }, and stderr gets one line:
"nexflow run: <code>: <message>". --local answers in the same shapes as the server (without
"version"); what the workflow's code prints goes to stderr.

Exit codes: 0 the run succeeded; 1 it did not: the server answered an error (invalid inputs,
unknown workflow, a failed node, a timeout), or could not be reached, or (--local) the workflow
was not found; 2 bad usage (an unknown flag, a --param without "=", an --input that cannot be
read or is not a JSON object); 130 interrupted (143 on SIGTERM).
`

/** `nexflow run`: one workflow, on a server or (`--local`) in this process. Returns the exit code. */
export async function runRun(args: readonly string[], io: CommandIo): Promise<number> {
  if (io.ownsProcess) {
    ignoreClosedPipe(io.out)
    ignoreClosedPipe(io.err)
  }
  let options: RunOptions
  let inputs: Record<string, unknown>
  try {
    options = parseRunArgs(args, io.cwd, io.env)
    if (options.help) {
      io.out.write(RUN_HELP)
      return 0
    }
    if (options.input === '-' && process.stdin.isTTY === true) io.err.write('nexflow run: reading the inputs from stdin (a JSON object; end with Ctrl-D)\n')
    inputs = await collectInputs(options, process.stdin)
  } catch (error) {
    if (!(error instanceof ClientUsageError)) throw error
    io.err.write(`${error.message
      .split('\n')
      .map((line) => `nexflow run: ${line}`)
      .join('\n')}\nRun "nexflow run --help" for usage.\n`)
    return 2
  }
  if (options.mode === 'local') return runLocal(options, inputs, io)
  return runRemote(options, inputs, io)
}

async function runRemote(options: RemoteRunOptions, inputs: Record<string, unknown>, io: CommandIo): Promise<number> {
  try {
    const body = options.async === true ? { inputs, mode: 'async' } : { inputs }
    const headers: Record<string, string> = options.idempotencyKey === undefined ? {} : { 'idempotency-key': options.idempotencyKey }
    const answer = await requestJson(`${options.url}/workflows/${encodeURIComponent(options.workflow)}/execute`, { method: 'POST', body, headers }, options.apiKey)
    writeJson(io.out, answer.body)
    if (answer.status === 200 || (options.async === true && answer.status === 202)) return 0
    // The server's message already names the closest workflow it serves.
    io.err.write(errorLine('run', answer.status, answer.body))
    return 1
  } catch (error) {
    if (!(error instanceof ServerRequestError)) throw error
    io.err.write(`nexflow run: ${error.message}\n`)
    return 1
  }
}
