import type { MissedCallEntry, MissedCallStore } from '@pushrelay/core';
import { closeClient, keyPart, openClient, type OpenedClient, type RedisConnectionOptions } from './connection.js';

export interface RedisMissedCallStoreOptions extends RedisConnectionOptions {
  /** Time to live of an entry added without one. Default 7 days. */
  defaultTtlMs?: number;
}

// Each user has three keys under one hash tag (one cluster slot): a sorted set of refs by
// arrival, a hash of ref -> "expiresAtMs|json", and the arrival counter. Expiry is per entry and
// judged by the server's clock (TIME), so every process agrees on it.
const NOW = `local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;
const LIVE = `
local function live(order, data, now)
  local out, dead = {}, {}
  for _, ref in ipairs(redis.call('ZRANGE', order, 0, -1)) do
    local v = redis.call('HGET', data, ref)
    if v then
      local sep = string.find(v, '|', 1, true)
      if tonumber(string.sub(v, 1, sep - 1)) > now then table.insert(out, string.sub(v, sep + 1)) else table.insert(dead, ref) end
    else
      table.insert(dead, ref)
    end
  end
  return out, dead
end`;

const ADD = `${NOW}${LIVE}
local ttl = tonumber(ARGV[3])
local _, dead = live(KEYS[1], KEYS[2], now)
for _, ref in ipairs(dead) do redis.call('ZREM', KEYS[1], ref) redis.call('HDEL', KEYS[2], ref) end
local seq = redis.call('INCR', KEYS[3])
redis.call('ZADD', KEYS[1], seq, ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], (now + ttl) .. '|' .. ARGV[2])
-- The keys live as long as their longest-lived entry.
if redis.call('PTTL', KEYS[2]) < ttl then
  for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], ttl) end
end
return 1`;

const TAKE = `${NOW}${LIVE}
local out = live(KEYS[1], KEYS[2], now)
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
return out`;

const LIST = `${NOW}${LIVE}
local out = live(KEYS[1], KEYS[2], now)
return out`;

const REMOVE = `${NOW}
local v = redis.call('HGET', KEYS[2], ARGV[1])
if not v then return 0 end
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[1], ARGV[1])
local sep = string.find(v, '|', 1, true)
if tonumber(string.sub(v, 1, sep - 1)) > now then return 1 end
return 0`;

// Prunes one user's dead entries; the keys go when nothing lives in them.
const PRUNE = `${NOW}${LIVE}
local out, dead = live(KEYS[1], KEYS[2], now)
for _, ref in ipairs(dead) do redis.call('ZREM', KEYS[1], ref) redis.call('HDEL', KEYS[2], ref) end
if #out == 0 then redis.call('DEL', KEYS[1], KEYS[2], KEYS[3]) end
return #dead`;

/** Keys SCAN looks at per round trip while purging. */
const SCAN_COUNT = 200;

/** Missed calls in Redis, each entry with its own time to live; `take` reads and empties in one script. */
export class RedisMissedCallStore implements MissedCallStore {
  private readonly redis: OpenedClient;
  private readonly defaultTtlMs: number;
  /** Where purgeExpired's walk over the users stopped. */
  private scanCursor = '0';

  constructor(options: RedisMissedCallStoreOptions = {}) {
    this.redis = openClient(options);
    this.defaultTtlMs = options.defaultTtlMs ?? 7 * 24 * 3600 * 1000;
  }

  async add(tenant: string, userId: string, entry: MissedCallEntry, ttlMs?: number): Promise<void> {
    const ttl = Math.ceil(ttlMs ?? this.defaultTtlMs);
    if (!Number.isFinite(ttl) || ttl <= 0)
      throw new RangeError(`ttlMs must be a positive number of milliseconds, got ${ttlMs}`);
    await this.redis.client.eval(ADD, 3, ...this.keys(tenant, userId), entry.ref, JSON.stringify(entry), String(ttl));
  }

  async remove(tenant: string, userId: string, ref: string): Promise<boolean> {
    return (await this.redis.client.eval(REMOVE, 3, ...this.keys(tenant, userId), ref)) === 1;
  }

  async take(tenant: string, userId: string): Promise<MissedCallEntry[]> {
    return parse(await this.redis.client.eval(TAKE, 3, ...this.keys(tenant, userId)));
  }

  async list(tenant: string, userId: string): Promise<MissedCallEntry[]> {
    return parse(await this.redis.client.eval(LIST, 3, ...this.keys(tenant, userId)));
  }

  /**
   * Deletes entries past their time to live, of any user, at most about `limit`. Redis already
   * drops a user's keys once their longest-lived entry expires; this also drops the shorter-lived
   * entries beside live ones. It walks the users with SCAN (a round trip per SCAN_COUNT keys,
   * never a blocking KEYS), resuming where the last call stopped.
   */
  async purgeExpired(limit: number): Promise<number> {
    const pattern = `${globEscape(this.redis.prefix)}:missed:*:data`;
    let deleted = 0;
    do {
      const [next, keys] = await this.redis.client.scan(this.scanCursor, 'MATCH', pattern, 'COUNT', SCAN_COUNT);
      this.scanCursor = next;
      for (const data of keys) {
        const base = data.slice(0, -':data'.length);
        deleted += Number(await this.redis.client.eval(PRUNE, 3, `${base}:order`, data, `${base}:seq`));
      }
    } while (this.scanCursor !== '0' && deleted < limit);
    return deleted;
  }

  /** Closes the connection unless the caller passed its own client. */
  close(): Promise<void> {
    return closeClient(this.redis);
  }

  private keys(tenant: string, userId: string): [string, string, string] {
    const base = `${this.redis.prefix}:missed:{${keyPart(tenant)}:${keyPart(userId)}}`;
    return [`${base}:order`, `${base}:data`, `${base}:seq`];
  }
}

function globEscape(value: string): string {
  return value.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

function parse(result: unknown): MissedCallEntry[] {
  return (result as string[]).map((json) => JSON.parse(json) as MissedCallEntry);
}
