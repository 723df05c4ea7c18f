import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BullMQQueue } from '@pushrelay/queue-bullmq';
import { requireService } from '@pushrelay/testkit';
import { probeRedisServerBinary, startRedisServer, type RedisServer } from '@pushrelay/simulators';
import { signWebhook } from '../src/index.js';
import { ANDROID_TOKEN, startStack, type Stack } from './helpers.js';

const KALEYRA_SECRET = 'kaleyra-outage-secret';
const KALEYRA_TOKEN = 'kaleyra-outage-android-token';

const binary = await requireService('a redis-server binary', probeRedisServerBinary);

describe.skipIf(!binary.available)("POST /v1/notifications while the BullMQ queue's Redis is down", () => {
  let redis: RedisServer;
  let queue: BullMQQueue;
  let s: Stack;
  beforeAll(async () => {
    redis = await startRedisServer();
    queue = new BullMQQueue({ connection: redis.url, prefix: `outage-${process.pid}` });
    s = await startStack({ queue, kaleyraSecret: KALEYRA_SECRET });
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
      body: {
        type: 'incoming_call',
        recipient: 'carol',
        call: { id: `call-${id}`, from: { number: '8001', displayName: 'Bob' } },
      },
    });
  const pushes = (id: string) =>
    s.sims.fcm.deliveries({ token: ANDROID_TOKEN }).filter((d) => JSON.stringify(d.payload).includes(`call-${id}`))
      .length;
  const until = async (condition: () => boolean) => {
    for (let i = 0; !condition(); i++) {
      if (i > 400) throw new Error('condition not reached');
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  it('answers 503 queue_unavailable, and the same Idempotency-Key is accepted and pushed once when Redis is back', async () => {
    const device = await s.call('POST', '/v1/devices', {
      body: {
        userId: 'carol',
        provider: 'fcm',
        token: ANDROID_TOKEN,
        app: 'demo-project',
        pushKind: 'data',
        format: 'wazo',
      },
    });
    expect(device.status).toBe(201);
    expect((await call('before')).status).toBe(202);
    await until(() => pushes('before') === 1);

    await redis.stop('SIGKILL');
    const refused = await call('during');
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(refused.body).toEqual({
      error: 'queue_unavailable',
      message: expect.stringContaining('same Idempotency-Key'),
      details: [],
    });
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
  it('answers a Kaleyra webhook 503 while the queue is down, and takes the same signed webhook once it is back', async () => {
    const device = await s.call('POST', '/v1/devices', {
      body: {
        userId: 'usr_outage',
        provider: 'fcm',
        token: KALEYRA_TOKEN,
        app: 'demo-project',
        pushKind: 'data',
        format: 'kaleyra',
      },
    });
    expect(device.status).toBe(201);
    const body = JSON.stringify({
      event: 'on_call_incoming',
      room_id: 'room_outage',
      data: {
        initiator: 'usr_caller',
        users: [
          { user: { userAlias: 'usr_caller' }, status: 'invited' },
          { user: { userAlias: 'usr_outage' }, status: 'invited' },
        ],
        roomAlias: 'room_outage',
        options: {
          duration: 0,
          record: false,
          recordingType: 'none',
          recording: 'none',
          creationDate: new Date().toISOString(),
          callType: 'audio',
          live: true,
        },
      },
    });
    const ts = Math.floor(Date.now() / 1000);
    const headers = {
      'x-pushrelay-timestamp': String(ts),
      'x-pushrelay-signature': signWebhook(KALEYRA_SECRET, ts, body),
    };
    const post = () => s.call('POST', '/v1/ingress/kaleyra?tenant=demo', { key: null, headers, raw: body });
    const kaleyraPushes = () => s.sims.fcm.deliveries({ token: KALEYRA_TOKEN }).length;

    await redis.stop('SIGTERM');
    const refused = await post();
    expect(refused.status).toBe(503);
    expect(refused.body.error).toBe('queue_unavailable');
    expect(kaleyraPushes()).toBe(0);

    await redis.start();
    // The refused attempt gave its replay claim back: the sender's retry of the same signed
    // request is taken, not refused as a replay.
    let again = await post();
    for (let i = 0; again.status === 503 && i < 100; i++) {
      await new Promise((r) => setTimeout(r, 100));
      again = await post();
    }
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ accepted: ['on_call_incoming:room_outage:usr_outage'] });
    await until(() => kaleyraPushes() === 1);
    // Taken once, the same request is a replay again.
    expect((await post()).status).toBe(401);
    expect(kaleyraPushes()).toBe(1);
  }, 60_000);
});
