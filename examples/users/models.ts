import { z } from 'zod'
import { DataFlow } from '../../src/index.js'

/**
 * The source system's seed scenario: a models module that does its DataFlow work when it is
 * imported (it migrates, then makes sure an admin exists). Its old server hung at startup on
 * exactly this; nexflow imports it in isolated workers, never on the server's own thread.
 *
 * With no `databaseUrl`, DataFlow uses `DATABASE_URL`, else embedded SQLite at
 * `.nexflow/dataflow.db` under the working directory.
 */
export const db = new DataFlow({ applicationId: 'users' })

export const User = db.model('User', {
  id: z.string(),
  email: z.string().email(),
  fullName: z.string().optional(),
  active: z.boolean().default(true),
})

export const Session = db.model('Session', {
  id: z.string(),
  userId: z.string(),
  token: z.string(),
  expiresAt: z.date(),
})

await db.migrate()
await User.upsert({ where: { id: 'admin' }, create: { id: 'admin', email: 'admin@example.com', fullName: 'Admin' }, update: {} })
