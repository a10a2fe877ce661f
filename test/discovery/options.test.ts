import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { DEFAULT_IGNORE, DEFAULT_PATTERNS, discover, resolveDiscoveryOptions, type DiscoveryOptions } from '../../src/discovery/index.js'
import { NexflowError } from '../../src/errors.js'
import { FIXTURES } from './helpers.js'

describe('discovery options', () => {
  it('applies every default once', () => {
    const resolved = resolveDiscoveryOptions({}, FIXTURES)
    expect(resolved).toMatchObject({
      root: FIXTURES,
      patterns: DEFAULT_PATTERNS,
      ignore: DEFAULT_IGNORE,
      timeoutMs: 10_000,
      isolation: 'thread',
      concurrency: availableParallelism(),
      cache: true,
      cacheDir: join(FIXTURES, '.nexflow'),
    })
  })

  it('carries the issue\'s conventions as recursive patterns for every extension', () => {
    expect(DEFAULT_PATTERNS).toEqual([
      'workflows/**/*.{ts,mts,cts,tsx,js,mjs,cjs}',
      'src/workflows/**/*.{ts,mts,cts,tsx,js,mjs,cjs}',
      'app/workflows/**/*.{ts,mts,cts,tsx,js,mjs,cjs}',
      '**/*.workflow.{ts,mts,cts,tsx,js,mjs,cjs}',
      '**/workflow_*.{ts,mts,cts,tsx,js,mjs,cjs}',
      '**/*_workflow.{ts,mts,cts,tsx,js,mjs,cjs}',
    ])
  })

  const rejects = (options: DiscoveryOptions, fragment: string) => {
    let caught: unknown
    try {
      resolveDiscoveryOptions(options, FIXTURES)
    } catch (error) {
      caught = error
    }
    expect(caught).toBeInstanceOf(NexflowError)
    expect(caught).toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining(fragment) })
  }

  it('names the option and the fix when a value is wrong', () => {
    rejects({ timeoutMs: -1 }, 'Invalid discovery option `timeoutMs`: got -1; expected a whole number of milliseconds')
    rejects({ timeoutMs: 1.5 }, '`timeoutMs`')
    rejects({ isolation: 'fiber' as 'thread' }, 'expected isolation: "thread" or isolation: "process"')
    rejects({ concurrency: 0 }, '`concurrency`')
    rejects({ maxMemoryMb: 1 }, '`maxMemoryMb`')
    rejects({ patterns: [] }, '`patterns`')
    rejects({ patterns: ['../elsewhere/**'] }, 'without ".." or absolute paths')
    rejects({ root: join(FIXTURES, 'no-such-folder') }, 'is not an existing folder')
    rejects({ root: join(FIXTURES, 'README.md') }, 'is not an existing folder')
  })

  it('rejects unknown options, listing the known ones', () => {
    rejects({ timeout: 5 } as DiscoveryOptions, 'Unknown discovery option `timeout`: remove it; the options are root, patterns')
  })

  it('throws from discover() at once, before anything runs', () => {
    expect(() => discover({ concurrency: -2 })).toThrow(NexflowError)
  })
})
