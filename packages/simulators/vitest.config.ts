import { defineProject } from 'vitest/config';
import { sourceConditions } from '../../vitest.shared.mjs';

export default defineProject({
  ...sourceConditions,
  test: { name: '@pushrelay/simulators', include: ['test/**/*.test.ts'], environment: 'node' },
});
