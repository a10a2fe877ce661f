// Runtime overhead per node: a 100-node chain of trivial nodes through LocalRuntime, against
// calling the same functions directly in a loop. Run: npx tsx bench/runtime.ts
import { z } from 'zod'
import { defineNode, LocalRuntime, NodeRegistry, WorkflowBuilder } from '../src/index.js'
import { measure, printTable } from './measure.js'

const CHAIN = 100
const increment = ({ n }: { n: number }) => ({ n: n + 1 })
const Increment = defineNode({ type: 'Increment', params: z.object({ n: z.number() }), run: increment })

const registry = new NodeRegistry()
registry.register(Increment)
const builder = new WorkflowBuilder({ registry })
for (let i = 0; i < CHAIN; i++) {
  builder.addNode('Increment', `n${i}`, i === 0 ? { n: 0 } : {})
  if (i > 0) builder.addConnection(`n${i - 1}`, 'n', `n${i}`, 'n')
}
const workflow = builder.build({ name: 'chain' })
const runtime = new LocalRuntime({ registry })

function plain(): number {
  let out = { n: 0 }
  for (let i = 0; i < CHAIN; i++) out = increment(out)
  return out.n
}

async function direct(): Promise<number> {
  // Same validation and the same awaits a node gets, minus the scheduling.
  let out = { n: 0 }
  for (let i = 0; i < CHAIN; i++) out = await Promise.resolve(increment(Increment.params.parse(out)))
  return out.n
}

async function viaRuntime(): Promise<number> {
  const { results } = await runtime.execute(workflow)
  return (results[`n${CHAIN - 1}`] as { n: number }).n
}

export async function runRuntimeBench(): Promise<void> {
  if (plain() !== CHAIN || (await direct()) !== CHAIN || (await viaRuntime()) !== CHAIN) throw new Error('bench workloads disagree')
  const baseline = await measure('direct calls', plain, { minMs: 1000 })
  const validated = await measure('direct calls + zod parse + await', direct, { minMs: 1000 })
  const runtimeStats = await measure('LocalRuntime.execute', viaRuntime, { minMs: 1500 })
  const perNodeUs = ((runtimeStats.medianMs - baseline.medianMs) * 1000) / CHAIN
  printTable(`runtime: ${CHAIN}-node chain of trivial nodes (baseline: direct calls)`, [baseline, validated, runtimeStats], baseline)
  console.log(`  runtime overhead per node: ${perNodeUs.toFixed(2)} us; ${(runtimeStats.medianMs / baseline.medianMs).toFixed(1)}x direct calls, ${(runtimeStats.medianMs / validated.medianMs).toFixed(1)}x direct + validation`)
}

if (import.meta.url === `file://${process.argv[1]}`) await runRuntimeBench()
