import { readFile } from 'node:fs/promises'
import { ClientUsageError } from './client-options.js'

/**
 * The inputs of `nexflow run`: the JSON object of `--input` (a file, or stdin for `-`), then each
 * `--param key=value` over it. Problems are usage errors (exit 2) naming the flag or the file;
 * whether the inputs suit the workflow is the server's (or `--local`'s) to say.
 */

const shown = (input: unknown) => JSON.stringify(input)

/**
 * A `--param` value: JSON when it parses (`3`, `true`, `null`, `["a"]`, `{"k":1}`, `"quoted"`),
 * else the text as given (`ada@example.com`, `007`). A whole number too large for a JSON number to
 * hold exactly stays text rather than silently changing.
 */
export function paramValue(text: string): unknown {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return text
  }
  if (typeof value === 'number' && /^-?\d+$/.test(text.trim()) && !Number.isSafeInteger(value)) return text
  return value
}

/** Sets `key` as an own property even when it is `__proto__`, so the server (or --local) sees it and refuses it, instead of it changing the object's prototype. */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true })
}

/** Parses the `--param key=value` flags (split at the first `=`). A key given twice is an error. */
export function parseParams(params: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  const problems: string[] = []
  for (const param of params) {
    const at = param.indexOf('=')
    const key = at === -1 ? '' : param.slice(0, at)
    if (at === -1 || key === '') {
      problems.push(`--param: expected key=value, got ${shown(param)}; for example --param id=u1 (values that parse as JSON are sent as JSON: --param n=3, --param tags='["a"]')`)
      continue
    }
    if (Object.hasOwn(out, key)) {
      problems.push(`--param: ${shown(key)} given more than once; give each input once`)
      continue
    }
    setOwn(out, key, paramValue(param.slice(at + 1)))
  }
  if (problems.length > 0) throw new ClientUsageError(problems.join('\n'))
  return out
}

function describeJson(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  return `a ${typeof value}`
}

/** Reads `--input`: a JSON object from the file, or from stdin for `-`. */
export async function readInputFile(input: string, stdin: NodeJS.ReadableStream): Promise<Record<string, unknown>> {
  const name = input === '-' ? 'stdin' : shown(input)
  let text: string
  try {
    text = input === '-' ? await readAll(stdin) : await readFile(input, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a folder' : (error as Error).message
    throw new ClientUsageError(`--input: cannot read ${name}: ${why}; name a JSON file of inputs, e.g. --input inputs.json (or - for stdin)`)
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    throw new ClientUsageError(`--input: ${name} is not valid JSON (${(error as Error).message}); it must hold an object of input names to values, e.g. {"id": "u1"}`)
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ClientUsageError(`--input: ${name} holds ${describeJson(value)}, not a JSON object of input names to values, e.g. {"id": "u1"}`)
  }
  return value as Record<string, unknown>
}

/** The inputs to send: `--input`'s object with each `--param` over it. */
export async function collectInputs(options: { params: readonly string[]; input: string | undefined }, stdin: NodeJS.ReadableStream): Promise<Record<string, unknown>> {
  // The params first: a malformed one is reported without waiting on stdin.
  const params = parseParams(options.params)
  const inputs = options.input === undefined ? {} : await readInputFile(options.input, stdin)
  for (const [key, value] of Object.entries(params)) setOwn(inputs, key, value)
  return inputs
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk)
  return Buffer.concat(chunks).toString('utf8')
}
