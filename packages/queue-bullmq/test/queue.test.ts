import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { QueueUnavailableError, type DeliveryJob } from '@pushrelay/core';
import { sampleNotification } from '@pushrelay/testkit';
import { startRedisServer, type RedisServer } from '@pushrelay/simulators';
import { BullMQQueue, type BullMQQueueOptions } from '../src/index.js';
import { redis, redisBinary, REDIS_PORT, runPrefix, until } from './helpers.js';

const prefix = runPrefix('queue');
let counter = 0;
const fresh = () => `q${counter++}`;
const job = (id: string, overrides: Partial<DeliveryJob> = {}): DeliveryJob => ({
  id,
  notification: sampleNotification({ id }),
  bindingId: 'b-1',
  attempt: 1,
  runAt: Date.now(),
  lane: 'default',
  ...overrides,
});
/** Schedules as a client would: what is refused while Redis is away is sent again. */
const scheduleWhenBack = async (q: BullMQQueue, j: DeliveryJob) => {
  for (;;) {
    try {
      return await q.schedule(j);
    } catch (error) {
      if (!(error instanceof QueueUnavailableError)) throw error;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
};

describe.skipIf(!redis.available)('BullMQQueue on Redis', () => {
  const open: BullMQQueue[] = [];
  const make = (name: string, options: Partial<BullMQQueueOptions> = {}) => {
    const q = new BullMQQueue({ connection: { port: REDIS_PORT }, prefix, name, failureRetryMs: 100, ...options });
    open.push(q);
    return q;
  };
  afterEach(async () => {
    for (const q of open.splice(0)) {
      await q.close();
      await q.destroy();
    }
  });

  it('holds jobs of a paused credential until the pause ends, in every process sharing the queue', async () => {
    const name = fresh();
    const pauser = make(name);
    const worker = make(name);
    const seen: string[] = [];
    worker.process(async (j) => void seen.push(j.id));
    await pauser.pauseCredential('apns:com.example:production', Date.now() + 600);
    await pauser.schedule(job('paused', { credential: 'apns:com.example:production' }));
    await pauser.schedule(job('free', { credential: 'fcm:proj:production' }));
    await until(() => seen.length === 1);
    expect(seen).toEqual(['free']);
    await new Promise((r) => setTimeout(r, 300));
    expect(seen).toEqual(['free']);
    await until(() => seen.length === 2);
    expect(seen).toEqual(['free', 'paused']);
  });

  it('keeps the later of two pauses of one credential', async () => {
    const q = make(fresh());
    const seen: string[] = [];
    await q.pauseCredential('c', Date.now() + 700);
    await q.pauseCredential('c', Date.now() + 100);
    q.process(async (j) => void seen.push(j.id));
    await q.schedule(job('x', { credential: 'c' }));
    await new Promise((r) => setTimeout(r, 400));
    expect(seen).toEqual([]);
    await until(() => seen.length === 1);
  });

  it('leaves a job failed after maxFailures runs, then accepts its id again as a new job', async () => {
    const errors: string[] = [];
    let calls = 0;
    let fail = true;
    const withErrors = make(fresh(), { maxFailures: 2, onError: (e) => errors.push((e as Error).message) });
    withErrors.process(async () => {
      calls++;
      if (fail) throw new Error(`boom ${calls}`);
    });
    expect(await withErrors.schedule(job('f'))).toBe(true);
    await until(() => calls === 2);
    await new Promise((r) => setTimeout(r, 300));
    expect(await withErrors.size()).toBe(0);
    expect(calls).toBe(2);
    expect(errors).toEqual(['boom 1', 'boom 2']);
    fail = false;
    expect(await withErrors.schedule(job('f'))).toBe(true);
    await until(() => calls === 3);
  });

  it('takes job ids with colons or digits only, and keeps them apart', async () => {
    const q = make(fresh());
    const seen: string[] = [];
    q.process(async (j) => void seen.push(j.id));
    for (const id of ['t/n:1/b', 't/n%3A1/b', '12345']) expect(await q.schedule(job(id))).toBe(true);
    await until(() => seen.length === 3);
    expect(seen.sort()).toEqual(['12345', 't/n%3A1/b', 't/n:1/b']);
  });

  it('counts jobs of both lanes', async () => {
    const q = make(fresh());
    await q.schedule(job('a', { lane: 'call', runAt: Date.now() + 60_000 }));
    await q.schedule(job('b', { runAt: Date.now() + 60_000 }));
    expect(await q.size()).toBe(2);
    expect(await q.schedule(job('a', { lane: 'call' }))).toBe(false);
  });

  it('runs each job once across several processes sharing the queue', async () => {
    const name = fresh();
    const queues = [make(name, { concurrency: 4 }), make(name, { concurrency: 4 }), make(name, { concurrency: 4 })];
    const counts = new Map<string, number>();
    for (const q of queues) q.process(async (j) => void counts.set(j.id, (counts.get(j.id) ?? 0) + 1));
    const ids = Array.from({ length: 60 }, (_, i) => `j${i}`);
    await Promise.all(ids.map((id, i) => queues[i % 3]!.schedule(job(id, { lane: i % 4 ? 'default' : 'call' }))));
    await until(() => counts.size === 60);
    await new Promise((r) => setTimeout(r, 200));
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
  });

  /** Kills this test's connections (its own name, and BullMQ's duplicates under the prefix); how many. */
  async function killConnections(connectionName: string): Promise<number> {
    const admin = new Redis({ port: REDIS_PORT });
    try {
      const list = (await admin.client('LIST')) as string;
      const ours = list
        .split('\n')
        .map((line) => Object.fromEntries(line.split(' ').map((kv) => kv.split('=') as [string, string])))
        .filter((c) => c['name'] === connectionName || c['name']?.startsWith(`${prefix}:`));
      for (const c of ours) await admin.client('KILL', 'ID', c['id']!);
      return ours.length;
    } finally {
      admin.disconnect();
    }
  }

  it('reconnects after its Redis connections are killed and goes on delivering', async () => {
    const name = fresh();
    const connectionName = `pushrelay-test-${process.pid}-${name}`;
    const q = make(name, { connection: { port: REDIS_PORT, connectionName } });
    const seen: string[] = [];
    q.process(async (j) => void seen.push(j.id));
    await q.schedule(job('before'));
    await until(() => seen.length === 1);

    expect(await killConnections(connectionName)).toBeGreaterThanOrEqual(2);

    expect(await scheduleWhenBack(q, job('after-call', { lane: 'call' }))).toBe(true);
    expect(await scheduleWhenBack(q, job('after-default'))).toBe(true);
    await until(() => seen.length === 3, 15_000);
    expect(seen.slice(1).sort()).toEqual(['after-call', 'after-default']);
  }, 20_000);

  it('closes, within its grace period, right after its Redis connections were killed', async () => {
    const name = fresh();
    const connectionName = `pushrelay-test-${process.pid}-${name}`;
    const q = new BullMQQueue({ connection: { port: REDIS_PORT, connectionName }, prefix, name, closeGraceMs: 500 });
    const seen: string[] = [];
    q.process(async (j) => void seen.push(j.id));
    await q.schedule(job('before', { lane: 'call' }));
    await until(() => seen.length === 1);
    expect(await killConnections(connectionName)).toBeGreaterThanOrEqual(2);
    // A BullMQ worker whose connection dropped under it never ends its loop by itself: without
    // the grace period cutting its connections, this close would not return.
    await q.close();
    await q.destroy();
  }, 15_000);

  it('connects with a Redis URL', async () => {
    const q = make(fresh(), { connection: `redis://127.0.0.1:${REDIS_PORT}/0` });
    const seen: string[] = [];
    q.process(async (j) => void seen.push(j.id));
    await q.schedule(job('by-url'));
    await until(() => seen.length === 1);
  });

  it('refuses options that are not positive numbers, naming the option', () => {
    expect(() => new BullMQQueue({ concurrency: 0 })).toThrow(/option concurrency must be a positive number/);
    expect(() => new BullMQQueue({ failureRetryMs: Number.NaN })).toThrow(/option failureRetryMs/);
  });
});

describe.skipIf(!redisBinary.available)('BullMQQueue on a Redis that is restarted', () => {
  let server: RedisServer;
  const open: BullMQQueue[] = [];
  const make = (name: string, options: Partial<BullMQQueueOptions> = {}) => {
    const q = new BullMQQueue({ connection: server.url, prefix, name, failureRetryMs: 100, ...options });
    open.push(q);
    return q;
  };
  beforeAll(async () => {
    server = await startRedisServer();
  }, 60_000);
  afterEach(async () => {
    if (!server.running) await server.start();
    for (const q of open.splice(0)) {
      await q.close();
      await q.destroy();
    }
  });
  afterAll(async () => server?.close());

  it.each(['SIGTERM', 'SIGKILL'] as const)(
    'refuses jobs while Redis is down (%s), keeps every job it acknowledged, and goes on delivering once Redis is back',
    async (signal) => {
      const name = fresh();
      const q = make(name);
      const seen: string[] = [];
      q.process(async (j) => void seen.push(j.id));
      expect(await q.schedule(job('before'))).toBe(true);
      await until(() => seen.length === 1);
      // Acknowledged, and not run by anyone before the restart: only the AOF can bring it back.
      const keptName = fresh();
      const producer = make(keptName);
      expect(await producer.schedule(job('kept', { lane: 'call' }))).toBe(true);

      await server.stop(signal);
      await expect(q.schedule(job('while-down'))).rejects.toThrow(QueueUnavailableError);
      await expect(q.size()).rejects.toThrow(QueueUnavailableError);
      await server.start();

      expect(await scheduleWhenBack(q, job('after-call', { lane: 'call' }))).toBe(true);
      expect(await scheduleWhenBack(q, job('after-default'))).toBe(true);
      await until(() => seen.length === 3, 20_000);
      expect(seen.slice(1).sort()).toEqual(['after-call', 'after-default']);
      const kept: string[] = [];
      make(keptName).process(async (j) => void kept.push(j.id));
      await until(() => kept.length === 1);
      expect(kept).toEqual(['kept']);
    },
    40_000,
  );

  it('closes, within its grace period, while Redis is down', async () => {
    const q = make(fresh(), { closeGraceMs: 300 });
    const seen: string[] = [];
    q.process(async (j) => void seen.push(j.id));
    await q.schedule(job('before', { lane: 'call' }));
    await until(() => seen.length === 1);
    await server.stop('SIGKILL');
    // Every connection now retries a Redis that is not there; BullMQ's own close would wait for
    // them for ever. Returning at all is the assertion (the test times out otherwise).
    await q.close();
    expect(await q.schedule(job('after-close'))).toBe(false);
  }, 15_000);

  it('rejects within scheduleTimeoutMs when it has not reached Redis yet', async () => {
    await server.stop('SIGKILL');
    const q = make(fresh(), { scheduleTimeoutMs: 300 });
    await expect(q.schedule(job('never'))).rejects.toThrow(/schedule: Redis did not answer within 300 ms/);
    await expect(q.size()).rejects.toThrow(QueueUnavailableError);
    await server.start();
    expect(await scheduleWhenBack(q, job('once-up'))).toBe(true);
    // The refused add was still waiting for the connection and ran once it was made: refused
    // means "may not be queued", so a caller sends it again with the same id.
    expect(await q.size()).toBe(2);
    expect(await q.schedule(job('never'))).toBe(false);
  }, 40_000);
});
