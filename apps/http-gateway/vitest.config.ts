import { defineProject } from 'vitest/config';
import { sourceConditions } from '../../vitest.shared.mjs';

export default defineProject({
  ...sourceConditions,
  test: {
    name: '@pushrelay/http-gateway',
    include: ['test/**/*.test.ts'],
    environment: 'node',
    // The console's static files, built once for every suite (test/console*.test.ts serve them).
    globalSetup: ['test/global-setup.ts'],
    // Each suite starts three TLS simulators and a gateway.
    hookTimeout: 60_000,
    testTimeout: 30_000,
  },
});
