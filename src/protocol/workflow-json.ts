import { z } from 'zod'
import { jsonValueSchema } from './json.js'

export const WORKFLOW_FORMAT = 'nexflow.workflow/v1'

export const workflowNodeJsonSchema = z.object({
  id: z.string().min(1),
  type: z.string().min(1),
  params: z.record(z.string(), jsonValueSchema),
})

export const connectionJsonSchema = z.object({
  from: z.string().min(1),
  /** Dotted path into the source node's output; `''` passes the whole output. */
  fromOutput: z.string(),
  to: z.string().min(1),
  toInput: z.string().min(1),
})

/** The JSON form of a built workflow: what `toJSON()` gives and `Workflow.fromJSON()` takes. */
export const workflowJsonSchema = z.object({
  format: z.literal(WORKFLOW_FORMAT),
  name: z.string().min(1),
  description: z.string(),
  nodes: z.array(workflowNodeJsonSchema),
  connections: z.array(connectionJsonSchema),
  /** JSON Schema (draft 2020-12) of the workflow's inputs. */
  inputSchema: z.record(z.string(), jsonValueSchema),
})

export type WorkflowNodeJson = z.infer<typeof workflowNodeJsonSchema>
export type ConnectionJson = z.infer<typeof connectionJsonSchema>
export type WorkflowJson = z.infer<typeof workflowJsonSchema>
