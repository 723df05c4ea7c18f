import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QueueUnavailableError, type DeliveryJob } from '@pushrelay/core';
import { QueueDouble } from './queues.js';
import { signWebhook } from '../src/index.js';
import { startStack, type Stack } from './helpers.js';

const SECRET = 'kaleyra-shared-secret';
const USER = '123e4567-e89b-12d3-a456-426614174000';
const WAZO_TOKEN = 'wazo-android-token-1';
const KALEYRA_TOKEN = 'kaleyra-android-token-1';

let s: Stack;
beforeAll(async () => {
  s = await startStack({ kaleyraSecret: SECRET, extraTenants: [{ id: 'other', apiKey: 'other-key-123456' }] });
  await s.call('POST', '/v1/devices', {
    body: { userId: USER, provider: 'fcm', token: WAZO_TOKEN, app: 'demo-project', pushKind: 'data', format: 'wazo' },
  });
  await s.call('POST', '/v1/devices', {
    body: {
      userId: 'usr_999',
      provider: 'fcm',
      token: KALEYRA_TOKEN,
      app: 'demo-project',
      pushKind: 'data',
      format: 'kaleyra',
    },
  });
  await s.call('POST', '/v1/devices', {
    body: {
      userId: 'usr_123',
      provider: 'fcm',
      token: 'kaleyra-initiator-token',
      app: 'demo-project',
      pushKind: 'data',
      format: 'kaleyra',
    },
  });
});
afterAll(async () => {
  await s?.close();
});

async function until<T>(read: () => T[], n = 1): Promise<T[]> {
  for (let i = 0; i < 200; i++) {
    const v = read();
    if (v.length >= n) return v;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('nothing arrived');
}

describe('POST /1.0/mobile/notifications (wazo-webhookd compatible)', () => {
  const wazo = (headers: Record<string, string>, body: unknown) =>
    s.call('POST', '/1.0/mobile/notifications', { key: null, headers, body });
  const valid = {
    notification_type: 'plugin',
    user_uuid: USER,
    title: 'test title',
    body: 'test message',
    extra: { plugin: 'test' },
  };

  it('queues with 204 and the phone gets exactly what wazo-webhookd sends through FCM v1', async () => {
    const res = await wazo({ 'x-auth-token': s.apiKey, 'wazo-tenant': 'demo' }, valid);
    expect(res.status).toBe(204);
    const [delivery] = await until(() => s.sims.fcm.deliveries({ token: WAZO_TOKEN }));
    // The custom-type example of wazo-webhookd's integration test (vendor-formats.md, Wazo, FCM v1).
    expect(delivery!.payload).toEqual({
      android: {
        notification: {
          body: 'test message',
          channel_id: 'io.wazo.songbird',
          notification_count: 1,
          title: 'test title',
        },
        priority: 'high',
        ttl: '0s',
      },
      data: { items: '', notification_type: 'plugin', plugin: 'test' },
      token: WAZO_TOKEN,
    });
  });

  it('answers 401 without or with a wrong X-Auth-Token, before reading the body', async () => {
    expect((await wazo({}, valid)).status).toBe(401);
    expect((await wazo({ 'x-auth-token': 'nope' }, { junk: true })).status).toBe(401);
  });

  it('answers 403 when Wazo-Tenant names a tenant the token does not own', async () => {
    const res = await wazo({ 'x-auth-token': s.apiKey, 'wazo-tenant': 'other' }, valid);
    expect(res.status).toBe(403);
    expect(res.body.error).toBe('forbidden');
  });

  it("accepts the custom push of Wazo's documentation verbatim (a camelCase type)", async () => {
    // ../shared/seeds Wazo "Mobile Push Notifications", the curl example, with this test's user.
    const res = await wazo(
      { 'x-auth-token': s.apiKey, 'wazo-tenant': 'demo' },
      {
        title: 'Example notification',
        body: 'This is an example notification',
        notification_type: 'exampleNotification',
        extra: { mykey: 'myvalue' },
        user_uuid: USER,
      },
    );
    expect(res.status).toBe(204);
    const deliveries = await until(() =>
      s.sims.fcm
        .deliveries({ token: WAZO_TOKEN })
        .filter(
          (d) =>
            (d.payload as { data?: { notification_type?: string } }).data?.notification_type === 'exampleNotification',
        ),
    );
    expect((deliveries[0]!.payload as { data: unknown }).data).toEqual({
      items: '',
      notification_type: 'exampleNotification',
      mykey: 'myvalue',
    });
  });

  it('refuses the types only Wazo sends itself, as wazo-webhookd does', async () => {
    for (const type of ['incomingCall', 'cancelIncomingCall', 'missedCall', 'voicemailReceived', 'messageReceived']) {
      const res = await wazo({ 'x-auth-token': s.apiKey }, { ...valid, notification_type: type });
      expect(res.status, type).toBe(400);
      expect(
        res.body.details.map((d: { path: string }) => d.path),
        type,
      ).toEqual(['notification_type']);
    }
  });

  it('answers 400 with every invalid field', async () => {
    const res = await wazo(
      { 'x-auth-token': s.apiKey },
      { notification_type: 'Bad-Type', user_uuid: 'short', body: 'x'.repeat(251) },
    );
    expect(res.status).toBe(400);
    expect(res.body.details.map((d: { path: string }) => d.path).sort()).toEqual([
      'body',
      'notification_type',
      'title',
      'user_uuid',
    ]);
  });
});

describe('POST /v1/ingress/kaleyra', () => {
  const webhook = {
    event: 'on_call_incoming',
    room_id: 'room_f61b4d202472',
    data: {
      initiator: 'usr_123',
      users: [
        { user: { userAlias: 'usr_123' }, status: 'invited' },
        { user: { userAlias: 'usr_999' }, status: 'invited' },
      ],
      roomAlias: 'room_f61b4d202472',
      options: {
        duration: 0,
        record: true,
        recordingType: 'automatic',
        recording: 'automatic',
        creationDate: new Date().toISOString(),
        callType: 'audio_upgradable',
        live: true,
      },
    },
  };
  const raw = JSON.stringify(webhook);
  const signed = (ts = Math.floor(Date.now() / 1000), body = raw, secret = SECRET) => ({
    'x-pushrelay-timestamp': String(ts),
    'x-pushrelay-signature': signWebhook(secret, ts, body),
  });
  const post = (headers: Record<string, string>, body = raw, query = '?tenant=demo') =>
    s.call('POST', `/v1/ingress/kaleyra${query}`, { key: null, headers, raw: body });

  it('answers 200 and forwards the webhook to every invitee but the initiator, as the Kaleyra SDK expects', async () => {
    const headers = signed();
    const res = await post(headers);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ accepted: ['on_call_incoming:room_f61b4d202472:usr_999'] });
    const [delivery] = await until(() => s.sims.fcm.deliveries({ token: KALEYRA_TOKEN }));
    const payload = delivery!.payload as { android: Record<string, unknown>; data: { message: string } };
    expect(payload).toEqual({
      android: { priority: 'high', ttl: expect.stringMatching(/^\d+(\.\d+)?s$/) },
      data: { message: raw },
      token: KALEYRA_TOKEN,
    });
    expect(JSON.parse(payload.data.message)).toEqual(webhook);
    expect(s.sims.fcm.deliveries({ token: 'kaleyra-initiator-token' })).toEqual([]);

    const replay = await post(headers);
    expect(replay.status).toBe(401);
    expect(replay.body.message).toBe('replayed webhook');
  });

  it('refuses a bad signature, a stale timestamp, a missing signature and an unknown tenant', async () => {
    expect((await post(signed(undefined, raw, 'wrong-secret'))).body.message).toBe('signature does not match');
    const stale = await post(signed(Math.floor(Date.now() / 1000) - 3600));
    expect([stale.status, stale.body.message]).toEqual([401, 'timestamp outside the accepted window']);
    expect((await post({})).body.message).toBe('missing x-pushrelay-signature header');
    expect((await post(signed(), raw, '?tenant=nobody')).status).toBe(401);
    expect((await post(signed(), raw, '')).status).toBe(401);
    const tampered = signed();
    expect((await post(tampered, raw.replace('usr_999', 'usr_998'))).body.message).toBe('signature does not match');
    const metrics = await s.call('GET', '/metrics', { key: null });
    expect(metrics.body).toContain('pushrelay_webhook_verify_failures_total{vendor="kaleyra"} 5');
  });

  it('answers 400 with the path of what is wrong in the webhook', async () => {
    const bad = JSON.stringify({ event: 'on_call_incoming', room_id: 'r', data: { users: [] } });
    const res = await post(signed(undefined, bad), bad);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_vendor_input');
    expect(res.body.details[0].path).toBe('data.initiator');
  });
});

/** An in-memory queue whose first `schedule` is slow and then fails, as a Redis cut off mid-add. */
class StallingQueue extends QueueDouble {
  stalled = 0;
  override async schedule(job: DeliveryJob): Promise<boolean> {
    if (this.stalled++ === 0) {
      await new Promise((r) => setTimeout(r, 1500));
      throw new QueueUnavailableError('the queue did not answer');
    }
    return super.schedule(job);
  }
}

describe('a Kaleyra webhook answered before its notification could be queued', () => {
  let stack: Stack;
  const queue = new StallingQueue();
  beforeAll(async () => {
    stack = await startStack({ kaleyraSecret: SECRET, queue });
    await stack.call('POST', '/v1/devices', {
      body: {
        userId: 'usr_late',
        provider: 'fcm',
        token: 'kaleyra-late-token',
        app: 'demo-project',
        pushKind: 'data',
        format: 'kaleyra',
      },
    });
  });
  afterAll(async () => stack?.close());

  it('is queued again in the background and pushed once', async () => {
    const body = JSON.stringify({
      event: 'on_call_incoming',
      room_id: 'room_late',
      data: {
        initiator: 'usr_caller',
        users: [
          { user: { userAlias: 'usr_caller' }, status: 'invited' },
          { user: { userAlias: 'usr_late' }, status: 'invited' },
        ],
        roomAlias: 'room_late',
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
    const res = await stack.call('POST', '/v1/ingress/kaleyra?tenant=demo', {
      key: null,
      headers: { 'x-pushrelay-timestamp': String(ts), 'x-pushrelay-signature': signWebhook(SECRET, ts, body) },
      raw: body,
    });
    // Answered while the first add still hung; that add then failed.
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ accepted: ['on_call_incoming:room_late:usr_late'] });
    for (let i = 0; stack.sims.fcm.deliveries({ token: 'kaleyra-late-token' }).length === 0; i++) {
      if (i > 400) throw new Error('the webhook was never pushed');
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(queue.stalled).toBeGreaterThan(1);
    await new Promise((r) => setTimeout(r, 300));
    expect(stack.sims.fcm.deliveries({ token: 'kaleyra-late-token' })).toHaveLength(1);
  }, 20_000);
});
