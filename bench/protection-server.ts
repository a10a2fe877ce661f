// The server of bench/protection.ts: a Nexus with the options given as JSON in argv[2]; prints its
// URL, then answers "cpu" on stdin with its CPU time (user + system, microseconds) on stdout.
import { Nexus, WorkflowBuilder, type NexusOptions } from '../src/index.js'

const options = JSON.parse(process.argv[2] ?? '{}') as NexusOptions
const lines = { count: 0 }
// The log lines are built as in production and written nowhere: the figure is the middleware's, not the terminal's.
const app = new Nexus({ apiPort: 0, autoDiscovery: false, workers: 1, ...options, logger: { info: () => void lines.count++, warn: () => {} } })
app.register('ping', new WorkflowBuilder().addNode('Function', 'f', { code: '() => ({ ok: true })' }))
await app.start()
await app.ready()
process.stdout.write(`${app.url}\n`)
process.stdin.setEncoding('utf8')
process.stdin.on('data', (text: string) => {
  if (text.includes('cpu')) {
    const { user, system } = process.cpuUsage()
    process.stdout.write(`${user + system} ${lines.count}\n`)
  }
})
process.stdin.on('end', () => void app.close().then(() => process.exit(0)))
