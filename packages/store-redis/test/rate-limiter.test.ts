import { afterAll, describe, expect, it } from 'vitest';
import { RedisRateLimiter } from '../src/index.js';
import { dropPrefix, redis, REDIS_PORT, runPrefix } from './helpers.js';

describe.skipIf(!redis.available)('RedisRateLimiter', () => {
  const prefix = runPrefix('rate');
  const a = new RedisRateLimiter({ connection: { port: REDIS_PORT }, prefix });
  const b = new RedisRateLimiter({ connection: { port: REDIS_PORT }, prefix });
  afterAll(async () => {
    await Promise.all([a.close(), b.close()]);
    await dropPrefix(prefix);
  });

  it('shares one bucket between processes: the burst, then a wait to retry after', async () => {
    const limit = { perSecond: 1, burst: 5 };
    const waits = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 ? a : b).take('tenant:acme', limit)));
    expect(waits.filter((w) => w === 0)).toHaveLength(5);
    for (const w of waits.filter((w) => w > 0)) {
      expect(w).toBeGreaterThan(0);
      expect(w).toBeLessThanOrEqual(1000);
    }
    // Another key has its own bucket.
    expect(await a.take('tenant:other', limit)).toBe(0);
  });

  it('refills at its rate', async () => {
    const limit = { perSecond: 20, burst: 1 };
    expect(await a.take('refill', limit)).toBe(0);
    expect(await b.take('refill', limit)).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 120));
    expect(await b.take('refill', limit)).toBe(0);
  });

  it('answers an hour for a bucket that can never hold the cost', async () => {
    expect(await a.take('never', { perSecond: 0, burst: 0 })).toBe(3_600_000);
    expect(await a.take('too-big', { perSecond: 10, burst: 2 }, 3)).toBe(3_600_000);
  });
});
