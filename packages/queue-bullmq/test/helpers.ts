import { probeTcp, requireService } from '@pushrelay/testkit';
import { probeRedisServerBinary } from '@pushrelay/simulators';

export const REDIS_PORT = Number(process.env['PUSHRELAY_REDIS_PORT'] ?? 6379);
export const redis = await requireService(`Redis on 127.0.0.1:${REDIS_PORT}`, () => probeTcp(REDIS_PORT));
/** For the tests that restart Redis: they run a redis-server of their own (startRedisServer). */
export const redisBinary = await requireService('a redis-server binary', probeRedisServerBinary);
/** A prefix no other test run uses, so runs never see each other's keys. */
export const runPrefix = (label: string) => `pushrelay-test:${label}:${process.pid}:${Date.now()}`;

/** Waits for `condition` (polled every 10 ms), failing after `limitMs`: behaviour, not a timing. */
export async function until(condition: () => boolean, limitMs = 10_000): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > limitMs) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 10));
  }
}
