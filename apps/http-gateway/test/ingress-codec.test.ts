/**
 * `POST /v1/ingress/{codec}`: a vendor's input, decoded by its codec, through the relay to the
 * provider. SignalWire's call-to-deliver is the one with no other door: the phone's app opens the
 * push it gets with the SignalWire client decoder and the key it was given at registration.
 */
import { decodeSignalWirePush } from '@pushrelay/codec-signalwire/client';
import { QueueUnavailableError, type DeliveryJob } from '@pushrelay/core';
import { QueueDouble } from './queues.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signWebhook } from '../src/index.js';
import { startStack, type Stack } from './helpers.js';
import { vertoInvite } from './fixtures/verto-invite.js';

const SECRET = 'signalwire-shared-secret';
const TOKEN = 'signalwire-android-token-1';

const invite = vertoInvite('Erin');

/** Fails `failures` schedules with QueueUnavailableError, then queues as usual. */
class FailingQueue extends QueueDouble {
  constructor(public failures: number) {
    super();
  }
  override async schedule(job: DeliveryJob): Promise<boolean> {
    if (this.failures > 0) {
      this.failures--;
      throw new QueueUnavailableError('the queue did not answer');
    }
    return super.schedule(job);
  }
}

async function registerPhone(s: Stack, userId: string, token: string): Promise<string> {
  const res = await s.call('POST', '/v1/devices', {
    body: { userId, provider: 'fcm', token, app: 'demo-project', pushKind: 'data', format: 'signalwire' },
  });
  expect(res.status).toBe(201);
  return res.body.pushKey as string;
}

async function deliveredTo(s: Stack, token: string, n = 1): Promise<{ payload: unknown }[]> {
  for (let i = 0; i < 200; i++) {
    const got = s.sims.fcm.deliveries({ token });
    if (got.length >= n) return got;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no push reached ${token}`);
}

function signed(body: string, secret = SECRET, ts = Math.floor(Date.now() / 1000)): Record<string, string> {
  return { 'x-pushrelay-timestamp': String(ts), 'x-pushrelay-signature': signWebhook(secret, ts, body) };
}

describe('POST /v1/ingress/signalwire with an API key', () => {
  let s: Stack;
  let pushKey: string;
  beforeAll(async () => {
    s = await startStack();
    pushKey = await registerPhone(s, 'erin', TOKEN);
  });
  afterAll(async () => s?.close());

  it('delivers a push that the SignalWire client decoder opens with the device key', async () => {
    const res = await s.call('POST', '/v1/ingress/signalwire', { body: { callee_user_id: 'erin', invite } });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ accepted: [invite.params.params.callID] });

    const [delivery] = await deliveredTo(s, TOKEN);
    const opened = await decodeSignalWirePush(delivery!.payload, pushKey);
    expect(opened.invite).toEqual(invite);
    expect(opened.payload).toMatchObject({
      type: 'call_invite',
      notification_uuid: invite.params.params.callID,
      incoming_caller_id: '0123456789',
      incoming_caller_name: 'Tester',
      with_video: 'false',
    });
    const report = await s.call('GET', `/v1/notifications/${invite.params.params.callID}`);
    expect(report.body).toMatchObject({ status: 'completed', devices: [{ provider: 'fcm', status: 'delivered' }] });
  });

  it('refuses input the codec rejects with 400 and the field, and a codec with nothing to decode with 404', async () => {
    const missing = await s.call('POST', '/v1/ingress/signalwire', { body: { invite } });
    expect(missing.status).toBe(400);
    expect(missing.body).toEqual({
      error: 'invalid_vendor_input',
      message: 'signalwire: callee_user_id: is required',
      details: [{ path: 'callee_user_id', message: 'signalwire: callee_user_id: is required' }],
    });
    const notJson = await s.call('POST', '/v1/ingress/signalwire', {
      raw: 'callee=erin',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect([notJson.status, notJson.body.error]).toEqual([415, 'unsupported_media_type']);
    for (const codec of ['ecss', 'nothing-here']) {
      const res = await s.call('POST', `/v1/ingress/${codec}`, { body: {} });
      expect([res.status, res.body.error]).toEqual([404, 'not_found']);
    }
  });
});

describe('POST /v1/ingress/signalwire signed for its tenant', () => {
  let s: Stack;
  const queue = new FailingQueue(0);
  beforeAll(async () => {
    s = await startStack({ webhookSecrets: { signalwire: SECRET }, queue });
    await registerPhone(s, 'erin', TOKEN);
  });
  afterAll(async () => s?.close());

  it('accepts a signed input with ?tenant= and no key, once: a replay is refused', async () => {
    const body = JSON.stringify({ notification_uuid: 'sw-signed-1', callee_user_id: 'erin', invite });
    const headers = signed(body);
    const first = await s.call('POST', '/v1/ingress/signalwire?tenant=demo', { key: null, headers, raw: body });
    expect(first.status).toBe(202);
    expect(first.body).toEqual({ accepted: ['sw-signed-1'] });
    const again = await s.call('POST', '/v1/ingress/signalwire?tenant=demo', { key: null, headers, raw: body });
    expect(again.status).toBe(401);
    expect(again.body.error).toBe('invalid_signature');
  });

  it('refuses a wrong signature, an unsigned request and a bad key with 401, and queues nothing', async () => {
    const body = JSON.stringify({ notification_uuid: 'sw-refused-1', callee_user_id: 'erin', invite });
    const wrong = await s.call('POST', '/v1/ingress/signalwire?tenant=demo', {
      key: null,
      headers: signed(body, 'not-the-secret'),
      raw: body,
    });
    expect([wrong.status, wrong.body.error, wrong.body.message]).toEqual([
      401,
      'invalid_signature',
      'signature does not match',
    ]);
    const unsigned = await s.call('POST', '/v1/ingress/signalwire?tenant=demo', { key: null, raw: body });
    expect([unsigned.status, unsigned.body.error]).toEqual([401, 'invalid_signature']);
    const badKey = await s.call('POST', '/v1/ingress/signalwire', { key: 'not-a-key', raw: body });
    expect([badKey.status, badKey.body.error]).toEqual([401, 'unauthorized']);
    const noTenant = await s.call('POST', '/v1/ingress/signalwire?tenant=nobody', { key: null, raw: body });
    expect([noTenant.status, noTenant.body.error]).toEqual([401, 'unauthorized']);
    expect((await s.call('GET', '/v1/notifications/sw-refused-1')).status).toBe(404);
  });

  it('asks for the signature even with a valid key once the tenant has a secret', async () => {
    const res = await s.call('POST', '/v1/ingress/signalwire', { body: { callee_user_id: 'erin', invite } });
    expect([res.status, res.body.error]).toEqual([401, 'invalid_signature']);
    const body = JSON.stringify({ notification_uuid: 'sw-both-1', callee_user_id: 'erin', invite });
    const both = await s.call('POST', '/v1/ingress/signalwire', { headers: signed(body), raw: body });
    expect(both.status).toBe(202);
    await deliveredTo(s, TOKEN);
  });

  it('answers 503 when the queue is down, gives the signature back, and the same request then goes through', async () => {
    const body = JSON.stringify({ notification_uuid: 'sw-retry-1', callee_user_id: 'erin', invite });
    const headers = signed(body);
    queue.failures = 1;
    const down = await s.call('POST', '/v1/ingress/signalwire?tenant=demo', { key: null, headers, raw: body });
    expect([down.status, down.body.error, down.headers.get('retry-after')]).toEqual([503, 'queue_unavailable', '1']);
    const retried = await s.call('POST', '/v1/ingress/signalwire?tenant=demo', { key: null, headers, raw: body });
    expect(retried.status).toBe(202);
    const report = await s.call('GET', '/v1/notifications/sw-retry-1');
    expect(report.body.devices).toHaveLength(1);
  });
});

describe('POST /v1/ingress/wazo', () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack();
    await s.call('POST', '/v1/devices', {
      body: {
        userId: '123e4567-e89b-12d3-a456-426614174000',
        provider: 'fcm',
        token: 'wazo-ingress-token',
        app: 'demo-project',
        pushKind: 'data',
        format: 'wazo',
      },
    });
  });
  afterAll(async () => s?.close());

  it('takes the same custom push as /1.0/mobile/notifications, with an API key', async () => {
    const res = await s.call('POST', '/v1/ingress/wazo', {
      body: {
        notification_type: 'plugin',
        user_uuid: '123e4567-e89b-12d3-a456-426614174000',
        title: 'test title',
        body: 'test message',
        extra: { plugin: 'test' },
      },
    });
    expect(res.status).toBe(202);
    expect(res.body.accepted).toHaveLength(1);
    const [delivery] = await deliveredTo(s, 'wazo-ingress-token');
    expect(delivery!.payload).toMatchObject({ data: { notification_type: 'plugin', plugin: 'test' } });
  });
});
