import { MAX_WAIT_MS, type RateLimit, type RateLimiter } from '@pushrelay/core';
import { closeClient, keyPart, openClient, type OpenedClient, type RedisConnectionOptions } from './connection.js';

/**
 * One token bucket per key, refilled by Redis's own clock (TIME) so that processes whose clocks
 * differ still share one rate. Answers 0 when the tokens were taken, else the ms to wait.
 */
const TAKE = `
local now = redis.call('TIME')
local nowMs = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local perMs = tonumber(ARGV[1]) / 1000
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or nowMs
tokens = math.min(burst, tokens + math.max(0, nowMs - at) * perMs)
local wait = 0
if tokens >= cost then
  tokens = tokens - cost
elseif perMs <= 0 or cost > burst then
  wait = tonumber(ARGV[4])
else
  wait = math.ceil((cost - tokens) / perMs)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', nowMs)
local full = perMs > 0 and math.ceil(burst / perMs) or tonumber(ARGV[4])
redis.call('PEXPIRE', KEYS[1], full + 1000)
return math.min(wait, tonumber(ARGV[4]))
`;

/** Token buckets shared by every process on one Redis: a tenant's rate holds across the gateways. */
export interface RedisRateLimiterOptions extends RedisConnectionOptions {
  /** How long `take` waits for Redis before it rejects (the caller decides what then). Default 250 ms. */
  timeoutMs?: number;
}

export class RedisRateLimiter implements RateLimiter {
  private readonly redis: OpenedClient;
  private readonly timeoutMs: number;

  constructor(options: RedisRateLimiterOptions = {}) {
    this.redis = openClient(options);
    this.timeoutMs = options.timeoutMs ?? 250;
  }

  /** Rejects when Redis does not answer within `timeoutMs` (a Redis that is away must not hold a call). */
  async take(key: string, limit: RateLimit, cost = 1): Promise<number> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Redis did not answer within ${this.timeoutMs} ms`)), this.timeoutMs);
    });
    try {
      return await Promise.race([this.eval(key, limit, cost), late]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async eval(key: string, limit: RateLimit, cost: number): Promise<number> {
    const wait = await this.redis.client.eval(
      TAKE,
      1,
      `${this.redis.prefix}:rate:${keyPart(key)}`,
      String(limit.perSecond),
      String(limit.burst),
      String(cost),
      String(MAX_WAIT_MS),
    );
    return Number(wait);
  }

  /** Closes the connection unless the caller passed its own client. */
  close(): Promise<void> {
    return closeClient(this.redis);
  }
}
