import { WorkflowBuilder } from '../../../src/index.js'

/**
 * A file that never finishes importing: it waits at its top level for a reporting service that
 * never answers. Discovery gives up on it at its deadline (5 s here, see nexflow.config.json) and
 * reports it as `timeout`; every other workflow is served meanwhile.
 */
await new Promise<never>(() => {})

export const workflow = new WorkflowBuilder().addNode('Function', 'report', { code: '() => ({ sent: true })' }).build({ name: 'nightly_report' })
