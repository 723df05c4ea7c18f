import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeQueueConformance } from '@pushrelay/testkit';
import { BullMQQueue } from '../src/index.js';
import { redis, REDIS_PORT, runPrefix } from './helpers.js';

const t = { describe: describe.skipIf(!redis.available), it, expect, beforeAll, afterAll };
const prefix = runPrefix('conformance');

describeQueueConformance(t, {
  name: 'BullMQ on Redis',
  usesInjectedClock: false,
  create: ({ namespace, concurrency, failureRetryMs }) =>
    new BullMQQueue({ connection: { port: REDIS_PORT }, prefix, name: namespace, concurrency, failureRetryMs }),
  destroy: (queue) => (queue as BullMQQueue).destroy(),
});
