// The embedded run store's writer thread: applies the writes the server's thread posts, one after
// another in the order posted, and answers each with its result or its error as data. Started by
// src/server/durability/store-writer-thread.ts through workers/store-writer-entry.mjs.
import { parentPort } from 'node:worker_threads'
import { serializeError } from '../../src/errors.js'
import type { StoreWrite, StoreWriteReply, StoreWriteRequest } from '../../src/server/durability/store-writer-messages.js'
import { SqliteWrites } from '../../src/server/durability/sqlite-writes.js'

let writes: SqliteWrites | undefined

function opened(): SqliteWrites {
  if (writes === undefined) throw new Error('the store is not open')
  return writes
}

async function apply(request: StoreWrite): Promise<unknown> {
  switch (request.op) {
    case 'open':
      writes ??= await SqliteWrites.open(request.path)
      return undefined
    case 'createRuns':
      return opened().createRuns(request.runs)
    case 'markRunning':
      return opened().markRunning(request.id, request.now, request.retry)
    case 'returnToPending':
      return opened().returnToPending(request.id)
    case 'finishRuns':
      return opened().finishRuns(request.ends)
    case 'cancelRun':
      return opened().cancelRun(request.id, request.now)
    case 'recover':
      return opened().recover(request.now)
    case 'prune':
      return opened().prune(request.now, request.keepRunsMs)
    case 'storeAnswers':
      return opened().storeAnswers(request.answers)
    case 'close': {
      const closing = writes
      writes = undefined
      return closing?.close()
    }
  }
}

export function start(): void {
  const port = parentPort
  if (port === null) throw new Error('workers/store/writer.ts runs in a worker thread')
  // One write at a time: `open` is the only one that awaits, and it comes first.
  let queue = Promise.resolve()
  port.on('message', ({ seq, write }: StoreWriteRequest) => {
    queue = queue.then(async () => {
      let reply: StoreWriteReply
      try {
        reply = { seq, ok: true, value: await apply(write) }
      } catch (error) {
        reply = { seq, ok: false, error: serializeError(error) }
      }
      port.postMessage(reply)
    })
  })
}
