import { systemClock } from './clock.js';
import { PushRelayError } from './errors.js';
import type { Clock } from './ports.js';

/** The longest wait `take` answers: a bucket that never refills enough says "in an hour". */
export const MAX_WAIT_MS = 3_600_000;

/** A token bucket: `perSecond` tokens come back each second, up to `burst`. */
export interface RateLimit {
  perSecond: number;
  burst: number;
}

/**
 * Token buckets by key. `take` removes `cost` tokens from `key`'s bucket and resolves 0, or, when
 * there are not enough, removes none and resolves the milliseconds until there would be.
 */
export interface RateLimiter {
  take(key: string, limit: RateLimit, cost?: number): Promise<number>;
  close?(): Promise<void>;
}

/** A tenant sent more notifications than its rate allows; nothing was written. */
export class RateLimitedError extends PushRelayError {
  constructor(
    readonly tenant: string,
    readonly retryAfterMs: number,
  ) {
    super(
      'rate_limited',
      `tenant ${tenant} is over its notification rate; try again in ${Math.ceil(retryAfterMs / 1000)} s`,
    );
  }
}

export interface InMemoryRateLimiterOptions {
  clock?: Clock;
  /** Buckets kept at most; the least recently used goes first (a full bucket is the default anyway). */
  maxKeys?: number;
}

/** The buckets of one process. Several processes share theirs through Redis (store-redis). */
export class InMemoryRateLimiter implements RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly clock: Clock;
  private readonly maxKeys: number;

  constructor(options: InMemoryRateLimiterOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.maxKeys = options.maxKeys ?? 100_000;
  }

  async take(key: string, limit: RateLimit, cost = 1): Promise<number> {
    const now = this.clock.now();
    const bucket = this.buckets.get(key) ?? { tokens: limit.burst, at: now };
    this.buckets.delete(key);
    const tokens = Math.min(limit.burst, bucket.tokens + (Math.max(0, now - bucket.at) * limit.perSecond) / 1000);
    const enough = tokens >= cost;
    this.buckets.set(key, { tokens: enough ? tokens - cost : tokens, at: now });
    if (this.buckets.size > this.maxKeys) this.buckets.delete(this.buckets.keys().next().value!);
    if (enough) return 0;
    if (limit.perSecond <= 0 || cost > limit.burst) return MAX_WAIT_MS;
    return Math.min(MAX_WAIT_MS, Math.ceil(((cost - tokens) * 1000) / limit.perSecond));
  }
}
