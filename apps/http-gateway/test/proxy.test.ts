import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signHs256 } from '../src/index.js';
import { IOS_TOKEN, startStack, type Stack } from './helpers.js';

const SECRET = 'wazo-proxy-secret';
let s: Stack;
beforeAll(async () => {
  s = await startStack({ proxyJwtSecret: SECRET });
});
afterAll(async () => {
  await s?.close();
});
const jwt = (secret = SECRET, claims: Record<string, unknown> = {}) =>
  signHs256({ sub: 'wazo-webhookd', exp: Math.floor(Date.now() / 1000) + 60, ...claims }, secret);

describe('Wazo push-proxy mode', () => {
  it('relays a legacy FCM send from wazo-webhookd through FCM v1 as webhookd would send it', async () => {
    const res = await s.call('POST', '/fcm/send', {
      key: null,
      headers: { authorization: `key=${jwt()}` },
      body: {
        to: 'proxy-fcm-token',
        priority: 'high',
        data: {
          notification_type: 'incomingCall',
          items: { video: false, call_id: '1.2', peer_caller_id_name: 'Alice' },
        },
      },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ success: 1, failure: 0 });
    expect(s.sims.fcm.deliveries({ token: 'proxy-fcm-token' }).map((d) => d.payload)).toEqual([
      {
        android: { priority: 'high', ttl: '0s' },
        data: {
          notification_type: 'incomingCall',
          items: '{"call_id":"1.2","peer_caller_id_name":"Alice","video":false}',
        },
        token: 'proxy-fcm-token',
      },
    ]);
  });

  it('relays an APNs-style VoIP push to the sandbox when X-Use-Sandbox is set', async () => {
    const body = { aps: { alert: { notification_type: 'incomingCall', items: { call_id: '1.2' } }, badge: 1 } };
    const res = await s.call('POST', `/3/device/${IOS_TOKEN}`, {
      key: jwt(),
      headers: {
        'apns-topic': 'com.example.phone.voip',
        'apns-push-type': 'voip',
        'apns-priority': '10',
        'apns-expiration': '0',
        'x-use-sandbox': '1',
      },
      body,
    });
    expect(res.status).toBe(200);
    const [delivery] = s.sims.apns.deliveries({ token: IOS_TOKEN });
    expect(delivery).toMatchObject({
      environment: 'sandbox',
      payload: body,
      headers: { 'apns-topic': 'com.example.phone.voip', 'apns-push-type': 'voip' },
    });
  });

  it('refuses a JWT signed with another secret or expired', async () => {
    const fcm = await s.call('POST', '/fcm/send', {
      key: null,
      headers: { authorization: `key=${jwt('other')}` },
      body: { to: 't' },
    });
    expect(fcm.status).toBe(401);
    const apns = await s.call('POST', `/3/device/${IOS_TOKEN}`, {
      key: jwt(SECRET, { exp: 1 }),
      headers: { 'apns-topic': 'com.example.phone' },
      body: {},
    });
    expect([apns.status, apns.body]).toEqual([403, { reason: 'InvalidProviderToken' }]);
  });
});

describe('Wazo push-proxy mode through the relay', () => {
  const legacySend = (to: string, extra: Record<string, unknown> = {}) =>
    s.call('POST', '/fcm/send', {
      key: null,
      headers: { authorization: `key=${jwt()}` },
      body: { to, data: { notification_type: 'incomingCall', items: { call_id: '9.1' } }, ...extra },
    });
  const reportOf = async (res: { headers: Headers }) => {
    const id = res.headers.get('x-pushrelay-notification');
    expect(id).toBeTruthy();
    const report = await s.call('GET', `/v1/notifications/${id}`);
    expect(report.status).toBe(200);
    return report.body;
  };

  it('retries a legacy FCM send FCM answered 503, answers success once it went out, and reports both attempts', async () => {
    s.sims.fcm.fault({ kind: 'status', status: 503, token: 'proxy-retry-token', count: 1 });
    const res = await legacySend('proxy-retry-token');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ success: 1, failure: 0 });
    expect(s.sims.fcm.deliveries({ token: 'proxy-retry-token' })).toHaveLength(1);
    const report = await reportOf(res);
    expect(report).toMatchObject({ type: 'incoming_call', status: 'completed' });
    expect(report.devices).toHaveLength(1);
    expect(report.devices[0]).toMatchObject({ provider: 'fcm', format: 'wazo', status: 'delivered' });
    expect(report.devices[0].attempts.map((a: { outcome: { kind: string } }) => a.outcome.kind)).toEqual([
      'retry',
      'delivered',
    ]);
  });

  it('answers Unavailable when FCM keeps failing until the time to live ends, and reports the push expired', async () => {
    s.sims.fcm.fault({ kind: 'status', status: 503, token: 'proxy-down-token', count: null });
    const res = await legacySend('proxy-down-token', { time_to_live: 1 });
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ success: 0, failure: 1, results: [{ error: 'Unavailable' }] });
    expect(s.sims.fcm.deliveries({ token: 'proxy-down-token' })).toEqual([]);
    const report = await reportOf(res);
    expect(report.devices[0].status).toBe('expired');
    expect(report.devices[0].attempts.length).toBeGreaterThanOrEqual(1);
    s.sims.fcm.clearFaults();
  });

  it('answers NotRegistered for a token FCM declares dead, and reports it', async () => {
    s.sims.fcm.fault({ kind: 'status', status: 404, token: 'proxy-dead-token', count: 1 });
    const res = await legacySend('proxy-dead-token');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ success: 0, failure: 1, results: [{ error: 'NotRegistered' }] });
    const report = await reportOf(res);
    expect(report.devices[0]).toMatchObject({ status: 'invalid-token' });
  });

  it('refuses a legacy body no FCM server would take, naming the field', async () => {
    const res = await legacySend('proxy-bad-token', { data: { notification_type: 7 } });
    expect(res.status).toBe(400);
    expect(res.body.details).toEqual([expect.objectContaining({ path: 'data.notification_type' })]);
    expect(s.sims.fcm.deliveries({ token: 'proxy-bad-token' })).toEqual([]);
  });
});
