import { describe, expect, it } from 'vitest';
import { ManualClock } from '@pushrelay/core';
import { TokenCache, TokenRequestError, type AccessToken } from '../src/index.js';

const HOUR = 3600_000;
const MARGIN = 300_000;

/** Lets a refresh started in the background settle. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A provider whose every call is counted and can be made to fail. */
function countingProvider(clock: ManualClock, lifetimeMs = HOUR) {
  const state = { calls: 0, failWith: undefined as Error | undefined };
  const provider = {
    async getAccessToken(): Promise<AccessToken> {
      const n = ++state.calls;
      if (state.failWith) throw state.failWith;
      return { accessToken: `token-${n}`, expiresAt: clock.now() + lifetimeMs };
    },
  };
  return { state, provider };
}

describe('TokenCache', () => {
  it('calls the provider once for many concurrent first callers', async () => {
    const clock = new ManualClock(0);
    let release!: (token: AccessToken) => void;
    let calls = 0;
    const cache = new TokenCache(
      {
        getAccessToken: () => {
          calls++;
          return new Promise<AccessToken>((resolve) => (release = resolve));
        },
      },
      { now: () => clock.now(), refreshMarginMs: MARGIN },
    );
    const readers = Array.from({ length: 200 }, () => cache.get());
    release({ accessToken: 'shared', expiresAt: HOUR });
    expect(await Promise.all(readers)).toEqual(Array.from({ length: 200 }, () => 'shared'));
    expect(calls).toBe(1);
  });

  it('serves the cached token until the refresh margin, then refreshes before expiry', async () => {
    const clock = new ManualClock(0);
    const { state, provider } = countingProvider(clock);
    const cache = new TokenCache(provider, { now: () => clock.now(), refreshMarginMs: MARGIN });
    expect(await cache.get()).toBe('token-1');
    await clock.advance(HOUR - MARGIN - 1);
    expect(await cache.get()).toBe('token-1');
    expect(state.calls).toBe(1);
    await clock.advance(1);
    // Inside the margin: the still-valid token answers while one refresh runs behind it.
    const during = await Promise.all([cache.get(), cache.get(), cache.get()]);
    expect(during).toEqual(['token-1', 'token-1', 'token-1']);
    await clock.advance(0);
    expect(await cache.get()).toBe('token-2');
    expect(state.calls).toBe(2);
  });

  it('waits for a new token once the old one has expired', async () => {
    const clock = new ManualClock(0);
    const { state, provider } = countingProvider(clock);
    const cache = new TokenCache(provider, { now: () => clock.now(), refreshMarginMs: MARGIN });
    expect(await cache.get()).toBe('token-1');
    await clock.advance(HOUR);
    expect(await cache.get()).toBe('token-2');
    expect(state.calls).toBe(2);
  });

  it('passes a provider failure to every waiting caller, and the next call tries again', async () => {
    const clock = new ManualClock(0);
    const { state, provider } = countingProvider(clock);
    const cache = new TokenCache(provider, { now: () => clock.now(), refreshMarginMs: MARGIN });
    const failure = new TokenRequestError('retry', 'token endpoint answered 503: busy', 2000);
    state.failWith = failure;
    const results = await Promise.allSettled([cache.get(), cache.get(), cache.get()]);
    expect(results).toEqual([
      { status: 'rejected', reason: failure },
      { status: 'rejected', reason: failure },
      { status: 'rejected', reason: failure },
    ]);
    expect(state.calls).toBe(1);
    state.failWith = undefined;
    expect(await cache.get()).toBe('token-2');
    expect(state.calls).toBe(2);
  });

  it('keeps serving the valid token when a refresh inside the margin fails, and retries it', async () => {
    const clock = new ManualClock(0);
    const { state, provider } = countingProvider(clock);
    const cache = new TokenCache(provider, { now: () => clock.now(), refreshMarginMs: MARGIN });
    expect(await cache.get()).toBe('token-1');
    await clock.advance(HOUR - MARGIN);
    state.failWith = new Error('connection reset');
    expect(await cache.get()).toBe('token-1');
    await settle();
    expect(state.calls).toBe(2);
    state.failWith = undefined;
    expect(await cache.get()).toBe('token-1');
    await settle();
    expect(await cache.get()).toBe('token-3');
    expect(state.calls).toBe(3);
  });

  it('renews a rejected token once however many senders report it, and hands back the new one', async () => {
    const clock = new ManualClock(0);
    const { state, provider } = countingProvider(clock);
    const cache = new TokenCache(provider, { now: () => clock.now(), refreshMarginMs: MARGIN });
    const first = await cache.get();
    const renewed = await Promise.all(Array.from({ length: 50 }, () => cache.renew(first)));
    expect(new Set(renewed)).toEqual(new Set(['token-2']));
    expect(await cache.renew(first)).toBe('token-2');
    expect(state.calls).toBe(2);
  });
});
