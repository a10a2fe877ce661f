// Regression (issue 9): the per-thread registry discovery reads held every DataFlow strongly until
// close(), so an app that dropped an instance without closing it kept it (its driver, cache and
// models) for the life of the thread. It holds them weakly now, and lives next to DataFlow.
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { dataflowInstances, type DescribableDataFlow } from '../../src/dataflow/instances.js'
import { DataFlow, NodeRegistry } from '../../src/index.js'
import * as manifestModule from '../../src/protocol/dataflow-manifest.js'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

/** Collects garbage until `ref` is cleared (a WeakRef's target survives the job that made it, so each try yields first). */
async function collected(ref: WeakRef<object>): Promise<boolean> {
  for (let attempt = 0; attempt < 20 && ref.deref() !== undefined; attempt++) {
    await new Promise((resolve) => setImmediate(resolve))
    gc()
  }
  return ref.deref() === undefined
}

/** A DataFlow with a model, on a registry nothing else holds, returned only as a WeakRef. */
function abandoned(): WeakRef<DataFlow> {
  const db = new DataFlow({ databaseUrl: 'sqlite::memory:', registry: new NodeRegistry(), slowQueryMs: null })
  db.model('Abandoned', { a: z.string() })
  expect(dataflowInstances().has(db)).toBe(true)
  return new WeakRef(db)
}

describe('the per-thread DataFlow registry', () => {
  it('does not keep an instance alive that the app dropped without closing it', async () => {
    const ref = abandoned()
    expect(await collected(ref)).toBe(true)
    expect([...dataflowInstances()].flatMap((instance) => instance.toManifest().models.map((m) => m.name))).not.toContain('Abandoned')
  })

  it('lists live instances (iteration, size, has) until they close', async () => {
    const registry = new NodeRegistry()
    const a = new DataFlow({ databaseUrl: 'sqlite::memory:', registry, slowQueryMs: null })
    const b = new DataFlow({ databaseUrl: 'sqlite::memory:', registry, slowQueryMs: null })
    const set = dataflowInstances()
    const mine = () => [...set].filter((instance) => instance === a || instance === b)
    expect(mine()).toEqual([a, b])
    expect(set.size).toBeGreaterThanOrEqual(2)
    await a.close()
    expect(set.has(a)).toBe(false)
    expect(mine()).toEqual([b])
    expect([...set.values()]).toEqual([...set])
    await b.close()
    expect(mine()).toEqual([])
    expect(set.has('not an instance' as unknown as DescribableDataFlow)).toBe(false)
  })

  it('is shared by every copy of the package in the thread, and adding twice keeps one entry', () => {
    const fake: DescribableDataFlow = { toManifest: () => ({ dialect: 'sqlite', databaseUrl: 'sqlite::memory:', options: {}, models: [] }) }
    const set = dataflowInstances()
    set.add(fake).add(fake)
    expect([...set].filter((i) => i === fake)).toHaveLength(1)
    expect((globalThis as Record<symbol, unknown>)[Symbol.for('nexflow.dataflow.instances')]).toBe(set)
    expect(set.delete(fake)).toBe(true)
    expect(set.delete(fake)).toBe(false)
  })

  it('is not in src/protocol, which holds only schemas', () => {
    expect(Object.keys(manifestModule).sort()).toEqual(['DIALECTS', 'FIELD_KINDS', 'dataflowManifestSchema', 'fieldManifestSchema', 'modelManifestSchema'])
  })
})
