import type { Redis } from 'ioredis';

/** BullMQ's highest priority number (job.js PRIORITY_LIMIT); lower numbers run first. */
export const PRIORITY_LIMIT = 2 ** 21 - 1;

/**
 * Start-time fair queueing over BullMQ priorities, one virtual clock per lane, shared by every
 * process through Redis. A job's priority is its tenant's next start tag, `max(V, F[tenant])`,
 * and the tag then moves on by 1/turn: a tenant with a backlog gets `turn` jobs per priority
 * level, and a tenant that was quiet starts at V, the tag of the latest job a worker started, so
 * its job runs after at most `turn` jobs of each busy tenant instead of after their whole
 * backlog. A tenant's tags never go down, so its own jobs keep their order (BullMQ runs equal
 * priorities first in, first out).
 *
 * The clock only grows, and BullMQ priorities stop at PRIORITY_LIMIT: once V passed half of it
 * and no job waits for a worker, the clock starts again at 1 and the jobs still in the delayed
 * set or running (retries, paused credentials) get priority 1, ahead of everything scheduled
 * later; the restart counts an epoch, so a job whose tag was taken before it and added after it
 * is moved to the top as well (see BullMQQueue's add). A lane
 * whose workers never catch up in that time (about a million levels, `turn` jobs each) runs in
 * plain order at the limit until they do.
 *
 * KEYS: fair hash, prioritized zset, delayed zset, active list, epoch. ARGV: tenant, turn, limit,
 * job key prefix. Returns the tag and the epoch.
 */
const START_TAG = `
local v = tonumber(redis.call('HGET', KEYS[1], '~v') or '1')
local limit = tonumber(ARGV[3])
if v > limit / 2 and redis.call('ZCARD', KEYS[2]) == 0 then
  local function top(id)
    if redis.call('HEXISTS', ARGV[4] .. id, 'priority') == 1 then
      redis.call('HSET', ARGV[4] .. id, 'priority', 1)
    end
  end
  for _, id in ipairs(redis.call('ZRANGE', KEYS[3], 0, -1)) do top(id) end
  for _, id in ipairs(redis.call('LRANGE', KEYS[4], 0, -1)) do top(id) end
  redis.call('DEL', KEYS[1])
  redis.call('INCR', KEYS[5])
  v = 1
end
local f = tonumber(redis.call('HGET', KEYS[1], 't:' .. ARGV[1]) or '0')
if f < v then f = v end
local p = math.floor(f)
if p > limit then p = limit end
redis.call('HSET', KEYS[1], 't:' .. ARGV[1], f + 1 / tonumber(ARGV[2]))
return {p, tonumber(redis.call('GET', KEYS[5]) or '0')}
`;

/** V moves to the tag of a job a worker starts, never back. KEYS: fair hash. ARGV: priority. */
const STARTED = `
if tonumber(ARGV[1]) > tonumber(redis.call('HGET', KEYS[1], '~v') or '0') then
  redis.call('HSET', KEYS[1], '~v', ARGV[1])
end
return 1
`;

export interface LaneKeys {
  fair: string;
  prioritized: string;
  delayed: string;
  active: string;
  /** Restarts of the clock so far; never deleted with the clock. */
  epoch: string;
  /** What BullMQ puts before a job id to name the job's hash. */
  jobPrefix: string;
}

interface FairCommands {
  pushrelayStartTag(...keysAndArgs: string[]): Promise<[number, number]>;
  pushrelayStarted(fair: string, priority: string): Promise<number>;
}

/** Registers the two scripts on a connection (ioredis sends them by SHA after the first use). */
export function defineFairCommands(client: Redis): void {
  client.defineCommand('pushrelayStartTag', { numberOfKeys: 5, lua: START_TAG });
  client.defineCommand('pushrelayStarted', { numberOfKeys: 1, lua: STARTED });
}

/** The priority a new job of `tenant` gets in a lane, and the clock's epoch it belongs to. */
export async function startTag(
  client: Redis,
  keys: LaneKeys,
  tenant: string,
  turn: number,
): Promise<{ priority: number; epoch: number }> {
  const [priority, epoch] = await (client as unknown as FairCommands).pushrelayStartTag(
    keys.fair,
    keys.prioritized,
    keys.delayed,
    keys.active,
    keys.epoch,
    tenant,
    String(turn),
    String(PRIORITY_LIMIT),
    keys.jobPrefix,
  );
  return { priority, epoch };
}

/** Records that a job of this priority started; a lost update only delays a quiet tenant a little. */
export function markStarted(client: Redis, keys: LaneKeys, priority: number): void {
  (client as unknown as FairCommands).pushrelayStarted(keys.fair, String(priority)).catch(() => {});
}
