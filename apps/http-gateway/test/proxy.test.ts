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
