import { afterAll, describe, expect, it } from 'vitest';
import { RedisDedupe, RedisMissedCallStore } from '../src/index.js';
import { dropPrefix, redis, REDIS_PORT, runPrefix } from './helpers.js';

describe.skipIf(!redis.available)('RedisDedupe', () => {
  const prefix = runPrefix('dedupe');
  const dedupe = new RedisDedupe({ connection: { port: REDIS_PORT }, prefix });
  afterAll(async () => {
    await dedupe.close();
    await dropPrefix(prefix);
  });

  it('lets exactly one of many concurrent claims of a key win, across clients', async () => {
    const other = new RedisDedupe({ connection: { port: REDIS_PORT }, prefix });
    try {
      const wins = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 ? dedupe : other).claim('call:abc@host', 60_000)),
      );
      expect(wins.filter(Boolean).length).toBe(1);
      expect(await dedupe.has('call:abc@host')).toBe(true);
    } finally {
      await other.close();
    }
  });

  it('accepts a key again after its time to live or a release', async () => {
    expect(await dedupe.claim('short', 100)).toBe(true);
    expect(await dedupe.claim('short', 100)).toBe(false);
    await new Promise((r) => setTimeout(r, 250));
    expect(await dedupe.claim('short', 100)).toBe(true);
    expect(await dedupe.release('short')).toBe(true);
    expect(await dedupe.release('short')).toBe(false);
    expect(await dedupe.claim('short', 60_000)).toBe(true);
  });

  it('keeps keys whose parts contain the separator apart', async () => {
    expect(await dedupe.claim('a:b', 60_000)).toBe(true);
    expect(await dedupe.claim('a%3Ab', 60_000)).toBe(true);
  });

  it('refuses a time to live that is not a positive number', async () => {
    await expect(dedupe.claim('x', 0)).rejects.toThrow(/ttlMs must be a positive number/);
    await expect(dedupe.claim('x', Number.NaN)).rejects.toThrow(/ttlMs must be a positive number/);
  });
});

describe.skipIf(!redis.available)('RedisMissedCallStore', () => {
  const prefix = runPrefix('missed');
  const store = new RedisMissedCallStore({ connection: { port: REDIS_PORT }, prefix });
  afterAll(async () => {
    await store.close();
    await dropPrefix(prefix);
  });
  const entry = (ref: string) => ({ ref, callId: ref, from: { number: '+15550100' }, at: '2024-01-01T00:00:00.000Z' });

  it('keeps users whose ids contain separators apart', async () => {
    await store.add('t:1', 'u', entry('1'));
    await store.add('t', '1:u', entry('2'));
    expect(await store.list('t:1', 'u')).toEqual([entry('1')]);
    expect(await store.list('t', '1:u')).toEqual([entry('2')]);
  });

  it('lets the keys of a user expire with their longest-lived entry', async () => {
    await store.add('tenant-a', 'ttl', entry('1'), 150);
    await new Promise((r) => setTimeout(r, 300));
    const client = new (await import('ioredis')).Redis({ port: REDIS_PORT });
    try {
      expect(await client.keys(`${prefix}:missed:{tenant-a:ttl}*`)).toEqual([]);
    } finally {
      client.disconnect();
    }
  });

  it('refuses a time to live that is not positive', async () => {
    await expect(store.add('tenant-a', 'x', entry('1'), -5)).rejects.toThrow(/ttlMs must be a positive number/);
  });
});
