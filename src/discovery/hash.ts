import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'

export function sha256(content: string | Buffer): string {
  return createHash('sha256').update(content).digest('hex')
}

/**
 * sha256 of files' contents, each file read once per discovery run (many candidates import the
 * same models module). `undefined` for a file that cannot be read.
 */
export class FileHasher {
  readonly #memo = new Map<string, Promise<string | undefined>>()

  hash(path: string): Promise<string | undefined> {
    let hashed = this.#memo.get(path)
    if (hashed === undefined) {
      hashed = readFile(path).then(sha256, () => undefined)
      this.#memo.set(path, hashed)
    }
    return hashed
  }

  /** Forgets what was hashed, e.g. before recording files an import has just loaded. */
  forget(path: string): void {
    this.#memo.delete(path)
  }
}
