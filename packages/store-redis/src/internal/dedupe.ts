import { closeClient, keyPart, openClient, type OpenedClient, type RedisConnectionOptions } from './connection.js';

/**
 * Idempotency keys shared by every process: the first `claim` of a key wins until its time to
 * live ends. Used for call ids, so a call retried by a platform does not ring a phone twice.
 */
export class RedisDedupe {
  private readonly redis: OpenedClient;

  constructor(options: RedisConnectionOptions = {}) {
    this.redis = openClient(options);
  }

  /** True for the first claim of `key` within `ttlMs` (SET NX PX), false for every later one. */
  async claim(key: string, ttlMs: number): Promise<boolean> {
    if (!Number.isFinite(ttlMs) || ttlMs <= 0)
      throw new RangeError(`ttlMs must be a positive number of milliseconds, got ${ttlMs}`);
    return (await this.redis.client.set(this.key(key), '1', 'PX', Math.ceil(ttlMs), 'NX')) === 'OK';
  }

  /** Whether `key` is claimed now. */
  async has(key: string): Promise<boolean> {
    return (await this.redis.client.exists(this.key(key))) === 1;
  }

  /** Frees `key` early (the work it guarded failed and may be tried again); true when it was claimed. */
  async release(key: string): Promise<boolean> {
    return (await this.redis.client.del(this.key(key))) === 1;
  }

  /** Closes the connection unless the caller passed its own client. */
  close(): Promise<void> {
    return closeClient(this.redis);
  }

  private key(key: string): string {
    return `${this.redis.prefix}:dedupe:${keyPart(key)}`;
  }
}
