import { probeTcp, requireService } from '@pushrelay/testkit';

export const REDIS_PORT = Number(process.env['PUSHRELAY_REDIS_PORT'] ?? 6379);
export const redis = await requireService(`Redis on 127.0.0.1:${REDIS_PORT}`, () => probeTcp(REDIS_PORT));
/** A prefix no other test run uses, so runs never see each other's keys. */
export const runPrefix = (label: string) => `pushrelay-test:${label}:${process.pid}:${Date.now()}`;
