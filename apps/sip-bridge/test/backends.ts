import { probeTcp, requireService } from '@pushrelay/testkit';
import { Redis } from 'ioredis';
import pg from 'pg';

export const REDIS_URL = 'redis://127.0.0.1:6379/0';
export const POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/test';
export const redisService = await requireService('Redis on 127.0.0.1:6379', () => probeTcp(6379));
export const postgresService = await requireService('PostgreSQL on 127.0.0.1:5432', () => probeTcp(5432));

/** Polls `read` until it returns something other than undefined; throws what is missing after timeoutMs. */
export async function eventually<T>(
  what: string,
  read: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 10_000,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * The shared Redis and PostgreSQL as one test run uses them: a Redis key prefix and a schema no
 * other run shares, an admin client on each, and `drop()` removing both afterwards.
 */
export class TestBackends {
  readonly prefix: string;
  readonly schema: string;
  readonly redis = new Redis(REDIS_URL, { lazyConnect: true });
  readonly db = new pg.Client({ connectionString: POSTGRES_URL });

  constructor(label: string) {
    const unique = `${process.pid}_${Date.now().toString(36)}`;
    this.prefix = `sip-bridge-${label}-${unique}`;
    this.schema = `sip_bridge_${label}_${unique}`.toLowerCase();
  }

  async connect(): Promise<void> {
    await Promise.all([this.redis.connect(), this.db.connect()]);
  }

  async drop(): Promise<void> {
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', `${this.prefix}:*`, 'COUNT', 1000);
      if (keys.length) await this.redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
    this.redis.disconnect();
    await this.db.query(`DROP SCHEMA IF EXISTS "${this.schema}" CASCADE`).finally(() => this.db.end());
  }
}
