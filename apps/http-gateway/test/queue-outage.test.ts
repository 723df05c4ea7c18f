import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BullMQQueue } from '@pushrelay/queue-bullmq';
import { probeRedisServerBinary, requireService, startRedisServer, type RedisServer } from '@pushrelay/testkit';
import { ANDROID_TOKEN, startStack, type Stack } from './helpers.js';

const binary = await requireService('a redis-server binary', probeRedisServerBinary);

describe.skipIf(!binary.available)('POST /v1/notifications while the BullMQ queue\'s Redis is down', () => {
  let redis: RedisServer;
  let queue: BullMQQueue;
  let s: Stack;
  beforeAll(async () => {
    redis = await startRedisServer();
    queue = new BullMQQueue({ connection: redis.url, prefix: `outage-${process.pid}` });
    s = await startStack({ queue });
  }, 60_000);
  afterAll(async () => {
    try {
      if (!redis?.running) await redis?.start();
      await s?.close();
    } finally {
      await redis?.close();
    }
  }, 60_000);

  const call = (id: string) =>
    s.call('POST', '/v1/notifications', {
      headers: { 'idempotency-key': id },
      body: { type: 'incoming_call', recipient: 'carol', call: { id: `call-${id}`, from: { number: '8001', displayName: 'Bob' } } },
    });
  const pushes = (id: string) => s.sims.fcm.deliveries({ token: ANDROID_TOKEN }).filter((d) => JSON.stringify(d.payload).includes(`call-${id}`)).length;
  const until = async (condition: () => boolean) => {
    for (let i = 0; !condition(); i++) {
      if (i > 400) throw new Error('condition not reached');
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  it('answers 503 queue_unavailable, and the same Idempotency-Key is accepted and pushed once when Redis is back', async () => {
    const device = await s.call('POST', '/v1/devices', {
      body: { userId: 'carol', provider: 'fcm', token: ANDROID_TOKEN, app: 'demo-project', pushKind: 'data', format: 'wazo' },
    });
    expect(device.status).toBe(201);
    expect((await call('before')).status).toBe(202);
    await until(() => pushes('before') === 1);

    await redis.stop('SIGKILL');
    const refused = await call('during');
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(refused.body).toEqual({ error: 'queue_unavailable', message: expect.stringContaining('same Idempotency-Key'), details: [] });
    const metrics = await s.call('GET', '/metrics', { key: null });
    expect(metrics.status).toBe(200);
    expect(metrics.body).toContain('pushrelay_queue_depth');

    await redis.start();
    // The refused request stored its report; the resend finds it and queues what never was.
    let again = await call('during');
    for (let i = 0; again.status === 503 && i < 100; i++) {
      await new Promise((r) => setTimeout(r, 100));
      again = await call('during');
    }
    expect(again.status).toBe(202);
    expect(again.body).toMatchObject({ id: 'during', duplicate: true });
    await until(() => pushes('during') === 1);
    const report = await s.call('GET', '/v1/notifications/during');
    expect(report.body.devices.map((d: { status: string }) => d.status)).toEqual(['delivered']);
    expect(pushes('during')).toBe(1);
  }, 60_000);
});
