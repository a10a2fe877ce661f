import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { main } from '../../src/cli/main.js'
import { Nexus, WorkflowBuilder, type NexusLogger } from '../../src/index.js'
import { runCli, type CliResult } from './run-cli.js'

// `nexflow run` end to end: the real CLI in a child process, against a live server in this
// process (registered workflows of built-in nodes, run in its pool), and with --local against
// the apps under fixtures/cli-run (and fixtures/apps/seed-scenario for a DataFlow app).
const quiet: NexusLogger = { info: () => {}, warn: () => {} }
const tmp = mkdtempSync(join(tmpdir(), 'nexflow-run-cli-'))
let app: Nexus
let url: string

// Answers are read loosely: each test asserts the shape it cares about.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>
const answer = (result: CliResult): Json => JSON.parse(result.stdout) as Json

beforeAll(async () => {
  app = new Nexus({ apiPort: 0, autoDiscovery: false, workers: 1, runTimeoutMs: 5000, logger: quiet })
  app.register('greet', new WorkflowBuilder().addNode('Function', 'greet', { code: '({ name, times }) => ({ text: `hello ${name}`.repeat(times), type: typeof times })', name: '${name}', times: '${times}' }))
  app.register('echo', new WorkflowBuilder().addNode('Function', 'echo', { code: '({ a, b, c }) => ({ a, b, c })', a: '${a}', b: '${b}', c: '${c}' }))
  app.register('fails', new WorkflowBuilder().addNode('Function', 'explode', { code: '({ why }) => { throw new Error(`exploded: ${why}`) }', why: '${why}' }))
  await app.start()
  url = app.url as string
})

afterAll(async () => {
  await app?.close()
  rmSync(tmp, { recursive: true, force: true })
})

/** A port nothing listens on: taken from the system, then released. */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

function inputFile(name: string, content: string): string {
  const path = join(tmp, name)
  writeFileSync(path, content)
  return path
}

describe('nexflow run against a server', () => {
  it('runs with --param values parsed as JSON when they parse, and prints the answer on one line', async () => {
    const result = await runCli(['run', 'greet', '--url', url, '--param', 'name=Ada', '--param', 'times=2'])
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    expect(result.stdout.trimEnd().split('\n')).toHaveLength(1)
    expect(answer(result)).toMatchObject({ outputs: { greet: { text: 'hello Adahello Ada', type: 'number' } }, workflow_id: 'greet', run_id: expect.any(String), version: expect.any(String), execution_time: expect.any(Number) })
  })

  it('sends JSON values as JSON and anything else as text, splitting at the first "="', async () => {
    const result = await runCli(['run', 'echo', '--url', url, '--param', 'a=["x",{"k":null}]', '--param', 'b=007', '--param', 'c=x=1'])
    expect(result.code).toBe(0)
    expect(answer(result).outputs.echo).toEqual({ a: ['x', { k: null }], b: '007', c: 'x=1' })
    // A whole number a JSON number cannot hold exactly stays text; a quoted JSON string is text.
    const exact = await runCli(['run', 'echo', '--url', url, '--param', 'a=12345678901234567890', '--param', 'b="3"', '--param', 'c=true'])
    expect(answer(exact).outputs.echo).toEqual({ a: '12345678901234567890', b: '3', c: true })
  })

  it('reads --input from a file, with --param over its keys', async () => {
    const file = inputFile('inputs.json', JSON.stringify({ a: 1, b: [2], c: 'from file' }))
    const result = await runCli(['run', 'echo', '--url', url, '--input', file, '--param', 'c=from param'])
    expect(result.code).toBe(0)
    expect(answer(result).outputs.echo).toEqual({ a: 1, b: [2], c: 'from param' })
  })

  it('reads --input - from stdin', async () => {
    const result = await runCli(['run', 'echo', '--url', url, '--input', '-', '--param', 'a=0'], { stdin: JSON.stringify({ a: 9, b: 'in', c: { deep: [true] } }) })
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    expect(answer(result).outputs.echo).toEqual({ a: 0, b: 'in', c: { deep: [true] } })
  })

  it('indents the answer for a terminal', async () => {
    const out = Object.assign(new PassThrough(), { isTTY: true })
    let text = ''
    out.on('data', (chunk: Buffer) => (text += chunk.toString()))
    expect(await main(['run', 'greet', '--url', url, '--param', 'name=Ada', '--param', 'times=1'], out, new PassThrough())).toBe(0)
    expect(text).toMatch(/^\{\n {2}"outputs": \{\n {4}"greet": \{/)
  })

  it('a failed run exits 1: the error body on stdout, one line on stderr', async () => {
    const result = await runCli(['run', 'fails', '--url', url, '--param', 'why=test'])
    expect(result.code).toBe(1)
    expect(answer(result)).toMatchObject({ error: { code: 'WORKFLOW_EXECUTION_FAILED', details: { nodeId: 'explode', run_id: expect.any(String) } } })
    expect(result.stderr).toBe('nexflow run: WORKFLOW_EXECUTION_FAILED: Node "explode" (Function) failed: exploded: test\n')
  })

  it('invalid inputs exit 1 with the 400 message naming each input', async () => {
    const result = await runCli(['run', 'greet', '--url', url, '--param', 'name=Ada', '--param', 'nope=1'])
    expect(result.code).toBe(1)
    expect(answer(result)).toMatchObject({ error: { code: 'VALIDATION_FAILED', details: { workflow: 'greet', issues: expect.any(Array) } } })
    expect(result.stderr).toMatch(/^nexflow run: VALIDATION_FAILED: Workflow "greet" got invalid inputs: input "times"[^;]*; input "nope" is not an input of this workflow\n$/)
  })

  it('an unknown workflow exits 1, with the closest name the server serves', async () => {
    const result = await runCli(['run', 'gret', '--url', url])
    expect(result.code).toBe(1)
    expect(answer(result)).toMatchObject({ error: { code: 'WORKFLOW_NOT_FOUND' } })
    expect(result.stderr).toBe('nexflow run: WORKFLOW_NOT_FOUND: Workflow "gret" is not served. Did you mean "greet"? See GET /workflows for the workflows served.\n')
  })

  it('exits 1 naming the URL when no server answers (NEXFLOW_URL), and prints nothing on stdout', async () => {
    const port = await closedPort()
    const result = await runCli(['run', 'greet', '--param', 'name=Ada'], { env: { NEXFLOW_URL: `http://127.0.0.1:${port}` } })
    expect(result.code).toBe(1)
    expect(result.stdout).toBe('')
    expect(result.stderr).toBe(
      `nexflow run: cannot reach http://127.0.0.1:${port}/workflows/greet/execute (connect ECONNREFUSED 127.0.0.1:${port}); is \`nexflow start\` running? Pass its address with --url or NEXFLOW_URL\n`,
    )
  })

  it('has --help, listing every flag', async () => {
    const result = await runCli(['run', '--help'])
    expect(result.code).toBe(0)
    for (const flag of ['--param <key=value>', '--input <file|->', '--url <base>', '--local', '--root <dir>', '--timeout-ms <ms>', '--run-timeout-ms <ms>', '--no-cache', 'Exit codes:']) expect(result.stdout).toContain(flag)
  })
})

describe.concurrent('nexflow run: bad usage exits 2 and says what to fix', () => {
  const cases: [what: string, args: () => string[], stderr: string | RegExp][] = [
    [
      'an unknown flag, listing the flags',
      () => ['run', 'greet', '--later'],
      'nexflow run: unknown flag --later; the flags of nexflow run are --help, --url, --api-key, --param, --input, --local, --root, --timeout-ms, --run-timeout-ms, --no-cache, --async, --idempotency-key\nRun "nexflow run --help" for usage.\n',
    ],
    ['a misspelled flag, with the closest', () => ['run', 'greet', '--parm', 'name=Ada'], /^nexflow run: unknown flag --parm \(did you mean --param\?\); the flags of nexflow run are /],
    ['a --param without "="', () => ['run', 'greet', '--param', 'name'], /^nexflow run: --param: expected key=value, got "name"; for example --param id=u1/],
    ['a --param with an empty key', () => ['run', 'greet', '--param', '=Ada'], /^nexflow run: --param: expected key=value, got "=Ada"/],
    ['a --param given twice', () => ['run', 'greet', '--param', 'a=1', '--param', 'a=2'], /^nexflow run: --param: "a" given more than once; give each input once\n/],
    ['a missing --input file, named', () => ['run', 'greet', '--input', join(tmp, 'missing.json')], `nexflow run: --input: cannot read ${JSON.stringify(join(tmp, 'missing.json'))}: no such file; name a JSON file of inputs, e.g. --input inputs.json (or - for stdin)\nRun "nexflow run --help" for usage.\n`],
    ['an --input file that is not JSON, named', () => ['run', 'greet', '--input', inputFile('broken.json', '{ name: Ada }')], /^nexflow run: --input: ".*broken\.json" is not valid JSON \(.*\); it must hold an object of input names to values/],
    ['an --input file that holds an array, named', () => ['run', 'greet', '--input', inputFile('array.json', '[1]')], /^nexflow run: --input: ".*array\.json" holds an array, not a JSON object of input names to values/],
    ['no workflow', () => ['run', '--param', 'a=1'], /^nexflow run: name the workflow to run, e\.g\. nexflow run greet --param name=Ada/],
    ['two workflows', () => ['run', 'greet', 'echo'], /^nexflow run: unexpected extra argument "echo": nexflow run takes one workflow name/],
    ['a local-only flag without --local', () => ['run', 'greet', '--root', '.', '--run-timeout-ms', '5'], /^nexflow run: --root, --run-timeout-ms: only with --local/],
    ['--url with --local', () => ['run', '--local', 'greet', '--url', 'http://127.0.0.1:1'], /^nexflow run: --url and --local exclude each other/],
    ['a URL that is not http', () => ['run', 'greet', '--url', 'ftp://example.com'], /^nexflow run: --url: expected the base URL of a nexflow server \(http:\/\/ or https:\/\/, no query\), got "ftp:\/\/example\.com"/],
    ['a single-value flag given twice', () => ['run', 'greet', '--url', 'http://a', '--url', 'http://b'], /^nexflow run: --url: given more than once; give it once/],
    ['a bad --run-timeout-ms', () => ['run', '--local', 'greet', '--run-timeout-ms', '1s'], /^nexflow run: --run-timeout-ms: expected a whole number of milliseconds from 1 to 2147483647, got "1s"/],
    ['a --root that does not exist', () => ['run', '--local', 'greet', '--root', join(tmp, 'nowhere')], /^nexflow run: --root ".*nowhere" does not exist; pass the folder of the app/],
  ]
  for (const [what, args, stderr] of cases) {
    it(what, async () => {
      const result = await runCli(args())
      if (typeof stderr === 'string') expect(result.stderr).toBe(stderr)
      else expect(result.stderr).toMatch(stderr)
      expect(result.code, result.stderr).toBe(2)
      expect(result.stdout).toBe('')
    })
  }
})

describe('nexflow run --local', () => {
  const APP = 'fixtures/cli-run/app'
  // --no-cache: nothing is written into the fixtures, every file is really imported.
  const local = (workflow: string, ...args: string[]) => ['run', '--local', workflow, '--root', APP, '--no-cache', ...args]

  it('discovers the app in workers and runs the workflow in one, printing the server-shaped answer', async () => {
    const file = inputFile('local-inputs.json', JSON.stringify({ name: 'Ada', times: 1 }))
    const result = await runCli(local('greet', '--input', file, '--param', 'times=3'))
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    expect(answer(result)).toEqual({ outputs: { greet: { text: 'hello Adahello Adahello Ada', type: 'number' } }, execution_time: expect.any(Number), workflow_id: 'greet', run_id: expect.any(String) })
  })

  it('still runs a healthy workflow beside a file that hangs at import, within the discovery deadline, and says why it waited', async () => {
    const result = await runCli(['run', '--local', 'greet', '--root', 'fixtures/cli-run/with-hang', '--no-cache', '--timeout-ms', '1000', '--param', 'name=Ada', '--param', 'times=1'])
    expect(result.code, result.stderr).toBe(0)
    expect(answer(result).outputs.greet.text).toBe('hello Ada')
    expect(result.stderr).toMatch(/^nexflow run: warning: workflows\/hangs\.ts could not be imported \(timeout\): the import did not finish within its deadline \(killed after \d+ ms/)
    expect(result.ms).toBeLessThan(20_000)
  })

  it('an unknown workflow exits 1 naming the workflows found, the closest, and the file that could not be imported', async () => {
    const result = await runCli(['run', '--local', 'gret', '--root', 'fixtures/cli-run/with-hang', '--no-cache', '--timeout-ms', '1000'])
    expect(result.code).toBe(1)
    expect(answer(result)).toMatchObject({ error: { code: 'WORKFLOW_NOT_FOUND', details: { workflow: 'gret', workflows: ['greet', 'spin'], failedFiles: [{ path: 'workflows/hangs.ts', status: 'timeout' }] } } })
    expect(result.stderr).toMatch(/^nexflow run: WORKFLOW_NOT_FOUND: Workflow "gret" was not found \(did you mean "greet"\?\); the workflows under \S+ are greet, spin; it may be in a file that could not be imported: workflows\/hangs\.ts \(timeout\); nexflow check \S+ shows why\n$/)
  })

  it('checks the inputs as the server does: invalid inputs exit 1 before anything runs', async () => {
    const result = await runCli(local('greet', '--param', 'name=Ada', '--param', 'nope=1'))
    expect(result.code).toBe(1)
    expect(answer(result)).toMatchObject({ error: { code: 'VALIDATION_FAILED', details: { workflow: 'greet' } } })
    expect(result.stderr).toMatch(/^nexflow run: VALIDATION_FAILED: Workflow "greet" got invalid inputs: input "times"[^;]*; input "nope" is not an input of this workflow\n$/)
  })

  it('a failed run exits 1 with the node named', async () => {
    const result = await runCli(local('fails', '--param', 'why=local'))
    expect(result.code).toBe(1)
    expect(answer(result)).toMatchObject({ error: { code: 'WORKFLOW_EXECUTION_FAILED', details: { nodeId: 'explode', run_id: expect.any(String) } } })
    expect(result.stderr).toBe('nexflow run: WORKFLOW_EXECUTION_FAILED: Node "explode" (Function) failed: exploded: local\n')
  })

  it('a run over --run-timeout-ms is stopped and exits 1', async () => {
    const result = await runCli(local('spin', '--run-timeout-ms', '300'))
    expect(result.code).toBe(1)
    expect(answer(result)).toMatchObject({ error: { code: 'RUN_TIMEOUT', details: { timeoutMs: 300 } } })
    expect(result.stderr).toBe('nexflow run: RUN_TIMEOUT: the run did not finish within 300 ms; its worker was stopped\n')
  })

  it('exits with its own code, quietly, when the reader of its stdout goes away', async () => {
    const result = await runCli(local('fails', '--param', 'why=gone'), { closeStdout: true })
    expect(result.code).toBe(1)
    expect(result.stderr).toBe('nexflow run: WORKFLOW_EXECUTION_FAILED: Node "explode" (Function) failed: exploded: gone\n')
  })

  it('Ctrl-C stops the run (its worker) and exits 130', async () => {
    // Discovery names the hanging file on stderr once it is done: the run is starting then.
    const result = await runCli(['run', '--local', 'spin', '--root', 'fixtures/cli-run/with-hang', '--no-cache', '--timeout-ms', '1000'], { interruptOn: /could not be imported/ })
    expect(result.code, result.stderr).toBe(130)
    expect(result.stderr).toMatch(/nexflow run: interrupted \(SIGINT\); the run was stopped\n$/)
    expect(result.stdout).toBe('')
  })

  it('never evaluates the workflow file or runs its node on the main thread', async () => {
    const record = join(tmp, 'where.jsonl')
    const result = await runCli(['run', '--local', 'where', '--root', 'fixtures/server/main-thread', '--no-cache', '--param', 'label=cli'], { env: { NEXFLOW_TEST_RECORD: record } })
    expect(result.code, result.stderr).toBe(0)
    expect(answer(result).outputs.where.isMainThread).toBe(false)
    const lines = readFileSync(record, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { what: string; isMainThread: boolean; discovery: string | null; execution: string | null })
    for (const line of lines) expect(line.isMainThread, JSON.stringify(line)).toBe(false)
    expect(lines.some((line) => line.what === 'module' && line.discovery === '1')).toBe(true)
    expect(lines.some((line) => line.what === 'node:cli' && line.execution === '1')).toBe(true)
  })

  it('runs a DataFlow app: creates a record, and a second create of the same id exits 1 with the 409 conflict', async () => {
    const env = { NEXFLOW_SEED_DB: `sqlite://${join(tmp, 'seed.db')}` }
    const args = ['run', '--local', 'create-user', '--root', 'fixtures/apps/seed-scenario', '--no-cache', '--param', 'id=u1', '--param', 'email=ada@example.com']
    const first = await runCli(args, { env })
    expect(first.code, first.stderr).toBe(0)
    expect(answer(first).outputs.create).toMatchObject({ id: 'u1', email: 'ada@example.com' })
    const again = await runCli(args, { env })
    expect(again.code).toBe(1)
    expect(answer(again)).toMatchObject({ error: { code: 'CONFLICT' } })
    expect(again.stderr).toMatch(/^nexflow run: CONFLICT: /)
  })
})
