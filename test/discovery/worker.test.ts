import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { IsolateExit } from '../../src/discovery/pool/isolate.js'
import { spawnThread } from '../../src/discovery/pool/thread-isolate.js'
import { workerFiles } from '../../src/discovery/pool/worker-files.js'
import { workerToMainMessageSchema, type WorkerToMainMessage } from '../../src/protocol/discovery-messages.js'
import { tempProject } from './helpers.js'

/** A real discovery worker thread, driven by the test as the pool would drive it. */
function startWorker(root: string) {
  const files = workerFiles('thread')
  const messages: WorkerToMainMessage[] = []
  let waiters: (() => void)[] = []
  let exit: (value: IsolateExit) => void = () => {}
  const exited = new Promise<IsolateExit>((resolve) => (exit = resolve))
  const isolate = spawnThread(
    { bootstrap: files.bootstrap, entry: files.entry, init: { root, hooksUrl: files.hooks, maxManifestBytes: 1 << 20 }, maxMemoryMb: 256, outputTailBytes: 4096 },
    {
      message: (raw) => {
        messages.push(workerToMainMessageSchema.parse(raw))
        for (const wake of waiters) wake()
        waiters = []
      },
      exit,
    },
  )
  /** Resolves with the first message (already received or to come) that matches. */
  const next = async (match: (message: WorkerToMainMessage) => boolean): Promise<WorkerToMainMessage> => {
    for (;;) {
      const found = messages.find(match)
      if (found !== undefined) return found
      await new Promise<void>((resolve) => waiters.push(resolve))
    }
  }
  return { isolate, messages, next, exited }
}

describe('a discovery worker', () => {
  const project = tempProject({
    'package.json': '{ "type": "module" }',
    'workflows/leaves-timer.ts': 'setInterval(() => {}, 1000)\nexport const a = 1\n',
    'workflows/next.ts': "import { appendFileSync } from 'node:fs'\nappendFileSync(process.env.NEXFLOW_WORKER_TEST_LOG as string, 'next\\n')\nexport const b = 1\n",
  })
  const log = join(project.root, 'evaluations.log')
  afterAll(() => project.remove())

  it('that asked to be replaced does not begin the file it was handed next (which would be evaluated twice)', async () => {
    process.env.NEXFLOW_WORKER_TEST_LOG = log
    const worker = startWorker(project.root)
    try {
      await worker.next((message) => message.type === 'ready')
      // The pool hands a busy worker its next file in advance.
      worker.isolate.send({ type: 'import', taskId: 0, file: join(project.root, 'workflows', 'leaves-timer.ts') })
      worker.isolate.send({ type: 'import', taskId: 1, file: join(project.root, 'workflows', 'next.ts') })
      const answer = await worker.next((message) => message.type === 'imported' || message.type === 'failed')
      expect(answer).toMatchObject({ type: 'imported', taskId: 0, retire: expect.stringContaining('Timeout') })
      // The pool is replacing it and hands the file to another worker. Asked for it back, the
      // worker gives it back: it was still waiting in its queue, never begun (a file begun is
      // no longer in the queue, and is named as begun in the report above instead).
      expect(answer).not.toHaveProperty('next')
      worker.isolate.send({ type: 'cancel', taskId: 1 })
      await worker.next((message) => message.type === 'cancelled' && message.taskId === 1)
      expect(worker.messages.filter((message) => 'taskId' in message && message.taskId === 1)).toEqual([{ type: 'cancelled', taskId: 1 }])
      expect(existsSync(log) ? readFileSync(log, 'utf8') : '').toBe('')
    } finally {
      delete process.env.NEXFLOW_WORKER_TEST_LOG
      worker.isolate.kill()
      await worker.exited
    }
  })
})
