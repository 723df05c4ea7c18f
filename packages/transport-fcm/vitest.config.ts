import { defineProject } from 'vitest/config';
import { sourceConditions } from '../../vitest.shared.mjs';

export default defineProject({
  ...sourceConditions,
  test: {
    name: '@pushrelay/transport-fcm',
    include: ['test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
