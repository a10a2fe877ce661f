import { describe, expect, it } from 'vitest'
import { POOL_TUNING } from '../../src/discovery/defaults.js'
import { ImportDurations } from '../../src/discovery/pool/import-durations.js'
import { assembleManifest, type KnownDataflow } from '../../src/discovery/pool/manifest-assembly.js'
import type { DiscoveredDataflow } from '../../src/protocol/discovery.js'
import type { WireManifest } from '../../src/protocol/discovery-messages.js'

const wire = (dataflows: number[]): WireManifest => ({ file: '/p/a.ts', hash: 'h', imports: [], importMs: 1, workflows: [], dataflows, nodeTypes: [], warnings: [] })
const dataflow = { dialect: 'sqlite', options: {}, models: [] } as unknown as DiscoveredDataflow

describe('assembleManifest', () => {
  it('puts descriptions back from their ids without changing what it was given, and says what it learned', () => {
    const known = new Map<number, KnownDataflow>([[1, { dataflow, bytes: JSON.stringify(dataflow).length }]])
    const result = assembleManifest(known, wire([1, 2]), [{ id: 2, dataflow }], 1 << 20)
    expect(result).toMatchObject({ manifest: { dataflows: [dataflow, dataflow] } })
    expect('learned' in result ? [...result.learned.keys()] : []).toEqual([2])
    expect([...known.keys()]).toEqual([1])
  })

  it('says why a manifest cannot be assembled', () => {
    const none = new Map<number, KnownDataflow>()
    expect(assembleManifest(none, wire([7]), [], 1 << 20)).toEqual({ problem: 'DataFlow #7, which it never described' })
    expect(assembleManifest(none, wire([]), [{ id: 3, dataflow }], 1 << 20)).toEqual({ problem: 'DataFlow description #3, which its manifest does not name' })
    expect(assembleManifest(none, wire([3]), [{ id: 3, dataflow }, { id: 3, dataflow }], 1 << 20)).toEqual({ problem: 'DataFlow description #3 a second time' })
    expect(assembleManifest(none, wire([]), [], 10)).toMatchObject({ problem: expect.stringMatching(/^a manifest of \d+ bytes, over the 10-byte limit$/) })
  })
})

describe('ImportDurations', () => {
  it('measures first imports apart from the rest, and bounds the linger threshold', () => {
    const durations = new ImportDurations()
    const cap = Math.min(POOL_TUNING.lingerMaxMs, 2000 / 4)
    expect(durations.lingerMs(false, 2000)).toBe(cap)
    for (let i = 0; i < 5; i++) durations.record(false, 40)
    expect(durations.lingerMs(false, 2000)).toBe(Math.max(POOL_TUNING.lingerMinMs, 40 * POOL_TUNING.lingerFactor))
    // No first import measured yet: the cap, not the later imports' median.
    expect(durations.lingerMs(true, 2000)).toBe(cap)
    durations.record(true, 100)
    expect(durations.lingerMs(true, 2000)).toBe(200)
  })
})
