import { describe, expect, it } from 'vitest';
import {
  InMemoryBindingStore,
  InMemoryQueue,
  InMemoryRateLimiter,
  InMemoryReportStore,
  ManualClock,
  RateLimitedError,
  Relay,
  parseCallNotification,
} from '../src/index.js';

const START = Date.parse('2024-05-01T10:00:00.000Z');

describe('InMemoryRateLimiter', () => {
  it('lets the burst through, then answers the wait until the next token, and refills at its rate', async () => {
    const clock = new ManualClock(START);
    const limiter = new InMemoryRateLimiter({ clock });
    const limit = { perSecond: 2, burst: 3 };
    expect(await Promise.all([1, 2, 3, 4].map(() => limiter.take('k', limit)))).toEqual([0, 0, 0, 500]);
    await clock.advance(250);
    expect(await limiter.take('k', limit)).toBe(250);
    await clock.advance(250);
    expect(await limiter.take('k', limit)).toBe(0);
    await clock.advance(10_000);
    expect(await Promise.all([1, 2, 3, 4].map(() => limiter.take('k', limit)))).toEqual([0, 0, 0, 500]);
    expect(await limiter.take('other', limit)).toBe(0);
    expect(await limiter.take('never', { perSecond: 0, burst: 0 })).toBe(3_600_000);
  });

  it('keeps at most maxKeys buckets, forgetting the least recently used', async () => {
    const clock = new ManualClock(START);
    const limiter = new InMemoryRateLimiter({ clock, maxKeys: 2 });
    const limit = { perSecond: 1, burst: 1 };
    await limiter.take('a', limit);
    await limiter.take('b', limit);
    await limiter.take('c', limit);
    // 'a' was forgotten: a full bucket again; 'c' is still empty.
    expect(await limiter.take('a', limit)).toBe(0);
    expect(await limiter.take('c', limit)).toBeGreaterThan(0);
  });
});

describe('a relay with per-tenant rates', () => {
  it("refuses a tenant over its rate before writing anything, and leaves the other tenants' alone", async () => {
    const clock = new ManualClock(START);
    const reports = new InMemoryReportStore();
    const relay = new Relay({
      bindings: new InMemoryBindingStore({ clock }),
      reports,
      queue: new InMemoryQueue({ clock }),
      clock,
      codecs: [],
      transports: {},
      acceptOnly: true,
      rateLimit: {
        limiter: new InMemoryRateLimiter({ clock }),
        limitFor: (tenant) => (tenant === 'noisy' ? { perSecond: 1, burst: 2 } : undefined),
      },
    });
    const n = (tenant: string, id: string) =>
      parseCallNotification(
        { id, type: 'incoming_call', tenant, recipient: 'u', call: { id, from: { number: '1' } } },
        { now: clock.now() },
      );
    await relay.notify(n('noisy', 'a'));
    await relay.notify(n('noisy', 'b'));
    const refused = await relay.notify(n('noisy', 'c')).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RateLimitedError);
    expect([(refused as RateLimitedError).code, (refused as RateLimitedError).retryAfterMs]).toEqual([
      'rate_limited',
      1000,
    ]);
    expect(await reports.get('noisy', 'c')).toBeUndefined();
    for (let i = 0; i < 20; i++) await relay.notify(n('quiet', `q${i}`));
    await clock.advance(1000);
    expect((await relay.notify(n('noisy', 'c'))).duplicate).toBe(false);
  });
});
