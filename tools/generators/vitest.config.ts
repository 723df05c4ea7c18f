import { defineProject } from 'vitest/config';
import { sourceConditions } from '../../vitest.shared.mjs';

export default defineProject({
  ...sourceConditions,
  test: {
    name: '@pushrelay/tools',
    include: ['test/**/*.test.ts'],
    environment: 'node',
    // The end-to-end tests run nx, tsc, eslint and vitest in child processes.
    testTimeout: 15 * 60_000,
    hookTimeout: 15 * 60_000,
  },
});
