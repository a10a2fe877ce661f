import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { resolveNexusOptions } from '../../src/index.js'
import { DURABILITY_DEFAULTS } from '../../src/server/durability/durability-options.js'

const base = { autoDiscovery: false, root: '/srv/app' } as const

describe('durability options', () => {
  it('defaults to the embedded SQLite file under the root, with the documented TTLs', () => {
    const { durability } = resolveNexusOptions(base, '/', {})
    expect(durability).toEqual({
      databaseUrl: undefined,
      schema: 'nexflow',
      sqlitePath: resolve('/srv/app', '.nexflow', 'nexflow.db'),
      idempotencyTtlMs: 24 * 60 * 60 * 1000,
      keepRunsMs: DURABILITY_DEFAULTS.keepRunsMs,
      concurrency: DURABILITY_DEFAULTS.concurrency,
      retryLimit: 0,
      maintenanceIntervalSeconds: DURABILITY_DEFAULTS.maintenanceIntervalSeconds,
    })
  })

  it('file places the embedded store, relative to the root or absolute', () => {
    expect(resolveNexusOptions({ ...base, durability: { file: 'data/runs.db' } }, '/', {}).durability.sqlitePath).toBe(resolve('/srv/app', 'data', 'runs.db'))
    expect(resolveNexusOptions({ ...base, durability: { file: '/var/lib/app/runs.db' } }, '/', {}).durability.sqlitePath).toBe('/var/lib/app/runs.db')
  })

  it('takes NEXFLOW_DURABILITY_URL; the option wins over it', () => {
    expect(resolveNexusOptions(base, '/', { NEXFLOW_DURABILITY_URL: 'postgres://db/app' }).durability.databaseUrl).toBe('postgres://db/app')
    expect(resolveNexusOptions({ ...base, durability: { databaseUrl: 'postgresql://other/app' } }, '/', { NEXFLOW_DURABILITY_URL: 'postgres://db/app' }).durability.databaseUrl).toBe('postgresql://other/app')
    expect(() => resolveNexusOptions(base, '/', { NEXFLOW_DURABILITY_URL: 'mysql://db/app' })).toThrow(/NEXFLOW_DURABILITY_URL/)
  })

  it('an invalid value names the option; an unknown key too', () => {
    expect(() => resolveNexusOptions({ ...base, durability: { databaseUrl: 'sqlite://x.db' } }, '/', {})).toThrow(/durability\.databaseUrl/)
    expect(() => resolveNexusOptions({ ...base, durability: { schema: 'Robert"; DROP' } }, '/', {})).toThrow(/durability\.schema/)
    expect(() => resolveNexusOptions({ ...base, durability: { idempotencyTtlMs: 10 } }, '/', {})).toThrow(/durability\.idempotencyTtlMs/)
    expect(() => resolveNexusOptions({ ...base, durability: { ttl: 5 } as never }, '/', {})).toThrow(/durability\.ttl/)
  })
})
