import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Worker-thread and database tests are I/O bound; a generous per-test bound
    // catches a hang without turning timing goals into flaky unit tests.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
})
