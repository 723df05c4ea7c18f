import { defineProject } from 'vitest/config';
import { sourceConditions } from '../../vitest.shared.mjs';

export default defineProject({
  ...sourceConditions,
  test: {
    name: '@pushrelay/bench',
    include: ['test/**/*.test.ts'],
    environment: 'node',
    // The fault run starts gateway and simulator processes from the sources.
    testTimeout: 5 * 60_000,
    hookTimeout: 60_000,
  },
});
