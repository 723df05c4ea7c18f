import { defineProject } from 'vitest/config';
import { sourceConditions } from '../../vitest.shared.mjs';

export default defineProject({
  ...sourceConditions,
  test: {
    name: '@pushrelay/release',
    include: ['test/**/*.test.ts'],
    environment: 'node',
    // These tests build and pack every package and run nx release, npm, tsc and typedoc in child processes.
    testTimeout: 15 * 60_000,
    hookTimeout: 15 * 60_000,
  },
});
