import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MissedCallStore } from '@pushrelay/core';
import { describeMissedCallStoreConformance } from '@pushrelay/testkit';
import { RedisMissedCallStore } from '../src/index.js';
import { dropPrefix, redis, REDIS_PORT, runPrefix } from './helpers.js';

const t = { describe: describe.skipIf(!redis.available), it, expect, beforeAll, afterAll };
const prefixes = new Map<MissedCallStore, string>();

describeMissedCallStoreConformance(t, {
  name: 'Redis',
  usesInjectedClock: false,
  create: ({ namespace }) => {
    const prefix = runPrefix(namespace);
    const store = new RedisMissedCallStore({ connection: { port: REDIS_PORT }, prefix });
    prefixes.set(store, prefix);
    return store;
  },
  destroy: async (store) => {
    await (store as RedisMissedCallStore).close();
    await dropPrefix(prefixes.get(store)!);
  },
});
