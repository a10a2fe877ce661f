import { WorkflowBuilder } from '../../../src/index.js'
import '../models.js'

/** Opens a session for an existing user (a missing user fails the run). Inputs: `userId`, `sessionId`, `token`, `expiresAt`. */
export const workflow = new WorkflowBuilder()
  .addNode('UserReadNode', 'user', { id: '${userId}' })
  .addNode('SessionCreateNode', 'session', { id: '${sessionId}', token: '${token}', expiresAt: '${expiresAt}' })
  .addConnection('user', 'id', 'session', 'userId')
  .build({ name: 'create_session', description: 'Opens a session for an existing user.' })
