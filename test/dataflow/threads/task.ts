// What a worker thread does with DataFlow: its own instance, its own lazy connection.
import { threadId } from 'node:worker_threads'
import { z } from 'zod'
import { DataFlow, NodeRegistry } from '../../../src/index.js'
import type { DataFlowManifest } from '../../../src/protocol/dataflow-manifest.js'

export type Task = { kind: 'write'; url: string; rows: number; tag: string } | { kind: 'blocked-write'; url: string }

export interface WriteResult {
  threadId: number
  manifest: DataFlowManifest
  inserted: number
  total: number
}

export const itemShape = { tag: z.string(), n: z.number().int() }

export async function runTask(task: Task, report: (message: unknown) => void): Promise<WriteResult | undefined> {
  if (task.kind === 'write') {
    const db = new DataFlow({ databaseUrl: task.url, registry: new NodeRegistry(), applicationId: 'threads' })
    try {
      const Item = db.model('Item', itemShape)
      const data = Array.from({ length: task.rows }, (_, n) => ({ tag: task.tag, n }))
      const { inserted } = await Item.bulkCreate({ data })
      const { count } = await Item.count()
      return { threadId, manifest: db.toManifest(), inserted, total: count }
    } finally {
      await db.close()
    }
  }
  // The main thread holds the write lock: this write keeps retrying (in JavaScript) until the
  // thread is terminated.
  const db = new DataFlow({ databaseUrl: task.url, registry: new NodeRegistry(), skipMigration: true })
  const Item = db.model('Item', itemShape)
  report({ type: 'writing' })
  await Item.create({ tag: 'blocked', n: 0 })
  return undefined
}
