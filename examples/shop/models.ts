import { z } from 'zod'
import { DataFlow } from '../../src/index.js'

/**
 * The shop's data. With no `databaseUrl`, DataFlow uses `DATABASE_URL`, else an embedded SQLite
 * file at `.nexflow/dataflow.db` under the working directory. Defining models does no I/O; tables
 * are created on first use (`autoMigrate` is on by default).
 */
export const db = new DataFlow({ applicationId: 'shop' })

export const Order = db.model('Order', {
  customer: z.string().min(1),
  total: z.number().nonnegative(),
  status: z.enum(['new', 'paid', 'shipped']).default('new'),
})
