// Worker-thread entry that evaluates a nexflow config file (user code) and answers with plain data.
// src/server/config-file.ts starts it through bootstrap.mjs, one thread per config file.
import { pathToFileURL } from 'node:url'
import { parentPort, workerData } from 'node:worker_threads'
import { serializeError } from '../src/errors.js'
import { describeConfigValue, CONFIG_DATA_RULE, MAX_CONFIG_BYTES, toConfigData, type ConfigWorkerInit, type ConfigWorkerMessage } from '../src/protocol/config-messages.js'

const HOW_TO_EXPORT = 'export the options object: export default defineConfig({ ... })'
/** Thrown text is untrusted too: cut before it crosses. */
const MAX_MESSAGE = 4000
const MAX_STACK = 16_000

const cut = (text: string, limit: number) => (text.length > limit ? `${text.slice(0, limit)}... (${text.length - limit} more characters)` : text)

/**
 * The options a config module's namespace holds: its default export, unwrapped once if it is a
 * transpiled module's exports (`{ __esModule: true, default }`). A CommonJS file's `module.exports`
 * is its default export already.
 */
function optionsOf(namespace: Record<string, unknown>): { value: Record<string, unknown> } | { problem: string } {
  let options = namespace.default
  const interop = typeof options === 'object' && options !== null && (options as { __esModule?: unknown }).__esModule === true
  if (interop) options = (options as { default?: unknown }).default
  if (!('default' in namespace) || (interop && options === undefined)) {
    const names = Object.keys(interop ? (namespace.default as object) : namespace).filter((name) => name !== 'default' && name !== '__esModule')
    const exported = names.length === 0 ? 'nothing' : names.slice(0, 10).join(', ') + (names.length > 10 ? ', ...' : '')
    return { problem: `it has no default export (it exports ${exported}); ${HOW_TO_EXPORT}` }
  }
  const data = toConfigData(options)
  if ('problem' in data) {
    const proto = typeof options === 'object' && options !== null && !Array.isArray(options) ? (Object.getPrototypeOf(options) as unknown) : undefined
    const plainObject = proto === Object.prototype || proto === null
    return { problem: plainObject ? `the default export is not plain data: ${data.problem}; ${CONFIG_DATA_RULE}` : `the default export is ${describeConfigValue(options)}; ${HOW_TO_EXPORT}` }
  }
  const bytes = Buffer.byteLength(JSON.stringify(data.value))
  if (bytes > MAX_CONFIG_BYTES) return { problem: `the options are ${(bytes / 1024 / 1024).toFixed(1)} MiB as JSON, over the ${MAX_CONFIG_BYTES / 1024 / 1024} MiB limit of a config file` }
  return data
}

/** Called by bootstrap.mjs once tsx is registered. */
export function start(): void {
  const port = parentPort
  if (port === null) throw new Error('workers/config-thread runs inside a worker thread')
  // Bound now: the config file may replace MessagePort.prototype.postMessage.
  const post = port.postMessage.bind(port)
  const send = (message: ConfigWorkerMessage) => post(message)
  const { file } = (workerData as { init: ConfigWorkerInit }).init

  let settled = false
  // The event loop emptied with the import pending: nothing left can settle its top-level await.
  // Said now, because the thread then exits without a word (a main thread would exit with 13).
  process.on('beforeExit', () => {
    if (!settled) send({ type: 'unsettled' })
  })
  send({ type: 'loading' })
  import(pathToFileURL(file).href).then(
    (namespace: Record<string, unknown>) => {
      settled = true
      let options: ReturnType<typeof optionsOf>
      try {
        options = optionsOf(namespace)
      } catch (thrown) {
        // A Proxy or a getter on the exports that throws.
        options = { problem: `reading its exports threw: ${serializeError(thrown, { maxText: MAX_STACK }).message}` }
      }
      if ('value' in options) send({ type: 'config', value: options.value })
      else send({ type: 'failed', reason: 'invalid', error: { name: 'NexflowError', code: 'CONFIG_INVALID', message: cut(options.problem, MAX_MESSAGE) } })
    },
    (thrown: unknown) => {
      settled = true
      send({ type: 'failed', reason: 'threw', error: serializeError(thrown, { maxText: MAX_STACK }) })
    },
  )
}
