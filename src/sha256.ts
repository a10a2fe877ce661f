import { createHash } from 'node:crypto'

/** Hex sha256 of `content`: file hashes in the manifest cache, migration checksums, short stable ids. */
export function sha256(content: string | Buffer): string {
  return createHash('sha256').update(content).digest('hex')
}
