import { readFile } from 'node:fs'
import { sha256 } from '../sha256.js'

/**
 * sha256 of files' contents, each file read once per discovery run (many candidates import the
 * same models module). `undefined` for a file that cannot be read.
 */
export class FileHasher {
  readonly #memo = new Map<string, Promise<string | undefined>>()

  hash(path: string): Promise<string | undefined> {
    let hashed = this.#memo.get(path)
    if (hashed === undefined) {
      // The callback form: fs/promises' FileHandle costs about twice the CPU per small file, on
      // the main thread, which a thousand candidates add up on.
      hashed = new Promise((resolve) => readFile(path, (error, content) => resolve(error === null ? sha256(content) : undefined)))
      this.#memo.set(path, hashed)
    }
    return hashed
  }

  /** Forgets what was hashed, e.g. before recording files an import has just loaded. */
  forget(path: string): void {
    this.#memo.delete(path)
  }
}
