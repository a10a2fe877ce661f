import { createRequire } from 'node:module'
import type { WASI as WasiClass } from 'node:wasi'

/**
 * Ends the process now with `code`, even while a worker thread is blocked in a native call.
 *
 * Why not `process.exit()`: on the way out Node terminates and *joins* every worker thread
 * (`stop_sub_worker_contexts`), and a thread inside `execSync`, a blocking FIFO read or a SQLite
 * busy wait cannot be joined until that call returns; measured on Node 20, `process.exit(1)` with
 * a thread in `execSync('sleep 5')` takes the full 5 s (`process.reallyExit` too). SIGKILL to
 * ourselves is immediate but loses the exit code. WASI's `proc_exit` with `returnOnExit: false`
 * calls the C library's `exit(code)` directly: no join, and the code is kept.
 *
 * Call it only after everything worth keeping is written: pending asynchronous writes are lost.
 * (stdout and stderr are synchronous on Linux for files, pipes and TTYs.)
 */
export function hardExit(code: number): never {
  const require = createRequire(import.meta.url)
  // Loading node:wasi prints an ExperimentalWarning; we are about to exit, so silence it.
  process.emitWarning = () => {}
  const { WASI } = require('node:wasi') as { WASI: typeof WasiClass }
  const wasi = new WASI({ version: 'preview1', returnOnExit: false })
  const instance = new wasm.Instance(new wasm.Module(PROC_EXIT_MODULE), wasi.getImportObject())
  wasi.initialize(instance)
  ;(instance.exports.exit as (code: number) => void)(code)
  // Unreachable unless WASI changes behaviour; fall back to the joining exit.
  process.exit(code)
}

// The WebAssembly global, typed just enough (the project's lib has no DOM types).
interface WasmApi {
  Module: new (bytes: Uint8Array) => object
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> }
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly

const name = (s: string) => [s.length, ...Buffer.from(s)]
const section = (id: number, bytes: number[]) => [id, bytes.length, ...bytes]

/** `(module (import "wasi_snapshot_preview1" "proc_exit" (func (param i32))) (memory 1) (func (export "exit") (param i32) local.get 0 call 0))` */
const PROC_EXIT_MODULE = Uint8Array.from([
  ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
  ...section(1, [1, 0x60, 1, 0x7f, 0]), // one type: (i32) -> ()
  ...section(2, [1, ...name('wasi_snapshot_preview1'), ...name('proc_exit'), 0x00, 0]), // import func of type 0
  ...section(3, [1, 0]), // one function of type 0
  ...section(5, [1, 0, 1]), // memory, 1 page (WASI wants an exported memory)
  ...section(7, [2, ...name('memory'), 0x02, 0, ...name('exit'), 0x00, 1]),
  ...section(10, [1, 6, 0, 0x20, 0, 0x10, 0, 0x0b]), // body: local.get 0; call 0; end
])
