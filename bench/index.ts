// `npm run bench`: every benchmark, each against its own baseline measured in the same run.
import { runDataflowBench } from './dataflow.js'
import { runDiscoveryBench } from './discovery.js'
import { runRuntimeBench } from './runtime.js'
import { runReloadBench } from './reload.js'
import { runServerBench } from './server.js'

console.log(`node ${process.version}, ${new Date().toISOString()}`)
await runRuntimeBench()
await runDataflowBench()
await runDiscoveryBench()
await runServerBench()
await runReloadBench()
