import { WorkflowBuilder } from '../../../src/index.js'
import '../models.js'

/** Lists active users, newest first. The filter is the author's: a caller cannot replace it. */
export const workflow = new WorkflowBuilder()
  .addNode('UserListNode', 'users', { filter: { active: true }, orderBy: '-created_at', limit: 100 })
  .build({ name: 'list_users', description: 'Lists active users, newest first.' })
