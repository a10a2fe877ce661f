import { WorkflowBuilder } from '../../../src/index.js'
import '../models.js'

/** Creates a user. Inputs: `id`, `email`, and optionally `fullName`. */
export const workflow = new WorkflowBuilder()
  .addNode('UserCreateNode', 'user', { id: '${id}', email: '${email}', fullName: '${fullName}' })
  .build({ name: 'create_user', description: 'Creates a user.' })
