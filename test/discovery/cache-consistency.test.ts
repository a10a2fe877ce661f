import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { discover } from '../../src/discovery/index.js'
import { byPath, REPO, tempProject } from './helpers.js'

const BUILDER = join(REPO, 'src', 'workflow', 'builder.ts')

// Regression: the worker hashed a file after importing it and that hash was stored, so a file
// that changed during its own import kept serving its old manifest from the cache.
describe('the manifest cache never keeps a manifest for content other than the content imported', () => {
  const project = tempProject({
    'package.json': '{ "type": "module" }',
    // Rewrites itself while it is being imported: the import evaluated "v1", the file now says "v2".
    'workflows/self-edit.ts': `import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { WorkflowBuilder } from ${JSON.stringify(BUILDER)}
const file = fileURLToPath(import.meta.url)
writeFileSync(file, readFileSync(file, 'utf8').replace("name: 'v" + "1'", "name: 'v" + "2'"))
export const workflow = new WorkflowBuilder().addNode('Function', 'n', { code: '() => ({})' }).build({ name: 'v1' })
`,
    // Its shared module changes while it is imported.
    'lib/shared.ts': `import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
const file = fileURLToPath(import.meta.url)
writeFileSync(file, readFileSync(file, 'utf8').replace("'one" + "'", "'two" + "'"))
export const label = 'one'
`,
    'workflows/uses-shared.ts': `import { WorkflowBuilder } from ${JSON.stringify(BUILDER)}
import { label } from '../lib/shared.js'
export const workflow = new WorkflowBuilder().addNode('Function', 'n', { code: '() => ({})' }).build({ name: 'shared-' + label })
`,
  })
  afterAll(() => project.remove())
  const options = { root: project.root, timeoutMs: 10_000, concurrency: 1 }

  it('imports the file again on the next run, and caches only what agrees', async () => {
    const first = byPath(await discover(options).report)
    expect(first['workflows/self-edit.ts']?.workflows).toEqual(['v1'])
    expect(first['workflows/uses-shared.ts']?.workflows).toEqual(['shared-one'])

    const second = byPath(await discover(options).report)
    expect(second['workflows/self-edit.ts']).toMatchObject({ cached: false, workflows: ['v2'] })
    expect(second['workflows/uses-shared.ts']).toMatchObject({ cached: false, workflows: ['shared-two'] })

    const third = byPath(await discover(options).report)
    expect(third['workflows/self-edit.ts']).toMatchObject({ cached: true, workflows: ['v2'] })
    expect(third['workflows/uses-shared.ts']).toMatchObject({ cached: true, workflows: ['shared-two'] })
  })
})
