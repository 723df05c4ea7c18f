import { Redis } from 'ioredis';
import { probeTcp, requireService } from '@pushrelay/testkit';

export const REDIS_PORT = Number(process.env['PUSHRELAY_REDIS_PORT'] ?? 6379);
export const redis = await requireService(`Redis on 127.0.0.1:${REDIS_PORT}`, () => probeTcp(REDIS_PORT));
export const runPrefix = (label: string) => `pushrelay-test:${label}:${process.pid}:${Date.now()}`;

/** Deletes every key under `prefix`, leaving the server as it was before the test. */
export async function dropPrefix(prefix: string): Promise<void> {
  const client = new Redis({ port: REDIS_PORT });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await client.del(...keys);
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
}
