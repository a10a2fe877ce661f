import { mkdirSync, rmSync, symlinkSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEFAULT_IGNORE, findCandidates } from '../../src/discovery/index.js'
import { tempProject } from './helpers.js'

describe('finding candidate files', () => {
  const files = [
    'workflows/a.ts',
    'workflows/nested/deep/b.mts',
    'workflows/c.tsx',
    'src/workflows/d.js',
    'app/workflows/e.cjs',
    'lib/orders.workflow.ts',
    'lib/workflow_users.mjs',
    'lib/billing_workflow.cts',
    // not candidates by name or extension
    'lib/other.ts',
    'workflows/notes.md',
    'workflows/data.json',
    // ignored by default
    'node_modules/pkg/workflows/x.ts',
    'packages/app/node_modules/y.workflow.ts',
    'dist/z.workflow.js',
    'build/z.workflow.js',
    'coverage/z.workflow.js',
    '.git/z.workflow.js',
    '.nexflow/z.workflow.js',
    'workflows/types.d.ts',
    'workflows/a.test.ts',
    'workflows/a.spec.ts',
    'workflows/_private/hidden.ts',
    '_drafts/draft.workflow.ts',
  ]
  const project = tempProject(Object.fromEntries(files.map((file) => [file, '// candidate fixture\n'])))
  const outside = tempProject({ 'workflows/evil.ts': '// outside the root\n', 'evil.workflow.ts': '// outside the root\n' }, 'nexflow-outside-')
  const root = project.root

  beforeAll(() => {
    // A link to a file inside the root, a link to a file outside it, and a linked folder.
    symlinkSync(join(root, 'lib', 'other.ts'), join(root, 'workflows', 'link-inside.ts'))
    symlinkSync(join(outside.root, 'evil.workflow.ts'), join(root, 'lib', 'link-outside.workflow.ts'))
    mkdirSync(join(root, 'app', 'workflows', 'linked'), { recursive: true })
    symlinkSync(join(outside.root, 'workflows'), join(root, 'app', 'workflows', 'linked', 'folder'))
    // Linked folders inside the root that lead into ignored folders.
    symlinkSync(join(root, 'node_modules', 'pkg'), join(root, 'workflows', 'linked-modules'))
    symlinkSync(join(root, '_drafts'), join(root, 'lib', 'linked-drafts'))
  })
  afterAll(() => {
    project.remove()
    outside.remove()
  })

  const relative = (paths: string[]) => paths.map((path) => path.slice(root.length + 1))

  it('matches the default patterns, recursively, sorted, without the default ignores or symlinks', async () => {
    expect(relative(await findCandidates({ root }))).toEqual([
      'app/workflows/e.cjs',
      'lib/billing_workflow.cts',
      'lib/orders.workflow.ts',
      'lib/workflow_users.mjs',
      'src/workflows/d.js',
      'workflows/a.ts',
      'workflows/c.tsx',
      'workflows/nested/deep/b.mts',
    ])
  })

  it('returns absolute real paths', async () => {
    const [first] = await findCandidates({ root })
    expect(first).toBe(join(root, 'app', 'workflows', 'e.cjs'))
  })

  it('takes custom patterns and ignores', async () => {
    expect(relative(await findCandidates({ root, patterns: ['lib/**/*.ts'] }))).toEqual(['lib/orders.workflow.ts', 'lib/other.ts'])
    expect(relative(await findCandidates({ root, patterns: ['workflows/**/*.ts'], ignore: [...DEFAULT_IGNORE, '**/a.*'] }))).toEqual([])
    // Replacing the ignores un-ignores what the defaults skip.
    expect(relative(await findCandidates({ root, patterns: ['workflows/**/*.ts'], ignore: [] }))).toEqual(['workflows/_private/hidden.ts', 'workflows/a.spec.ts', 'workflows/a.test.ts', 'workflows/a.ts', 'workflows/types.d.ts'])
  })

  it('never follows a symlink, even when asked for it by pattern', async () => {
    expect(relative(await findCandidates({ root, patterns: ['**/link-*', 'app/workflows/linked/**/*'] }))).toEqual([])
  })

  it('never enters a linked folder a pattern names, even one inside the root that leads to an ignored folder', async () => {
    // fast-glob enters such a folder; the files' real paths are inside the root, under node_modules and _drafts.
    const patterns = ['workflows/linked-modules/**/*.ts', 'lib/linked-drafts/*.ts', 'workflows/linked-modules/workflows/x.ts', 'app/workflows/linked/folder/*.ts']
    expect(relative(await findCandidates({ root, patterns }))).toEqual([])
  })

  it('refuses patterns that reach outside the root', async () => {
    await expect(findCandidates({ root, patterns: ['../**/*.ts'] })).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining('`patterns`') })
    await expect(findCandidates({ root, patterns: [join(outside.root, '**/*.ts')] })).rejects.toMatchObject({ code: 'CONFIG_INVALID' })
  })

  it('resolves a root given through a symlink to its real path', async () => {
    const link = `${root}-link`
    symlinkSync(root, link)
    try {
      expect(relative(await findCandidates({ root: link, patterns: ['workflows/a.ts'] }))).toEqual(['workflows/a.ts'])
    } finally {
      rmSync(link)
    }
  })
})
