import { defineProject } from 'vitest/config';
import { sourceConditions } from '../../vitest.shared.mjs';

export default defineProject({
  ...sourceConditions,
  test: {
    name: '@pushrelay/checks',
    include: ['test/**/*.test.ts'],
    environment: 'node',
    // The checks run npm, prettier and knip in child processes.
    testTimeout: 5 * 60_000,
    hookTimeout: 5 * 60_000,
  },
});
