// @ts-check
import js from '@eslint/js'
import globals from 'globals'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'fixtures/**', '.nexflow/**'] },
  js.configs.recommended,
  { languageOptions: { globals: globals.node } },
  // Type-aware rules: floating promises and unsafe `any` flows are the bugs async worker code breeds.
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['*.js', 'bin/*.mjs', 'workers/*.cjs'] }, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      eqeqeq: ['error', 'smart'],
      // `l`: V8's linear-time RegExp engine, which SQLite's $regex runs on (src/dataflow/dialects/sqlite/linear-regex.ts).
      'no-invalid-regexp': ['error', { allowConstructorFlags: ['l'] }],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    // CommonJS on purpose (see workers/execution-entry.cjs): require() is how it loads.
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // vitest matchers (expect.any, expect.objectContaining) are typed `any` on purpose.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
    },
  },
  {
    // The main thread reaches worker code only as a file path handed to a pool.
    files: ['src/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/workers/**', '../workers/*', '../../workers/*'], message: 'src/ runs on the main thread: hand worker entry files to a pool by path, never import them.' }] }],
    },
  },
  {
    // The server serves what discovery reports; the CLI is one of its callers, never its dependency.
    // (A rule given again replaces the one above for these files, so the worker rule is repeated.)
    files: ['src/server/**/*.ts', 'src/discovery/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/workers/**', '../workers/*', '../../workers/*'], message: 'src/ runs on the main thread: hand worker entry files to a pool by path, never import them.' },
            { group: ['**/cli/**'], message: 'The server and discovery must not depend on the CLI: move what both need to a neutral module.' },
          ],
        },
      ],
    },
  },
  {
    // Workflow and DataFlow know nothing about HTTP, servers or discovery.
    files: ['src/workflow/**/*.ts', 'src/dataflow/**/*.ts', 'src/protocol/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: ['hono', '@hono/node-server'], patterns: [{ group: ['**/server/**', '**/discovery/**', '**/cli/**', '**/workers/**'], message: 'Lower layers must not reach up into server, discovery or CLI code.' }] }],
    },
  },
)
