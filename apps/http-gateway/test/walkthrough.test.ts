import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANDROID_TOKEN, IOS_TOKEN, startStack, type Stack } from './helpers.js';

const PY_ISO = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$/);
const OTHER_KEY = 'other-tenant-key-0123456789';

let s: Stack;
beforeAll(async () => {
  s = await startStack({ extraTenants: [{ id: 'other', apiKey: OTHER_KEY }] });
});
afterAll(async () => {
  await s?.close();
});

describe('the README walkthrough, through the real server and the simulators', () => {
  let iosId: string;
  let androidId: string;

  it('registers an iOS VoIP device and an Android device', async () => {
    const ios = await s.call('POST', '/v1/devices', {
      body: {
        userId: 'alice',
        provider: 'apns',
        token: IOS_TOKEN,
        app: 'com.example.phone',
        environment: 'sandbox',
        pushKind: 'voip',
        format: 'wazo',
        params: { apns_call_topic: 'com.example.phone.voip' },
      },
    });
    expect(ios.status).toBe(201);
    expect(ios.body).toMatchObject({
      userId: 'alice',
      provider: 'apns',
      environment: 'sandbox',
      pushKind: 'voip',
      format: 'wazo',
    });
    iosId = ios.body.id;
    const android = await s.call('POST', '/v1/devices', {
      body: {
        userId: 'alice',
        provider: 'fcm',
        token: ANDROID_TOKEN,
        app: 'demo-project',
        pushKind: 'data',
        format: 'wazo',
      },
    });
    expect(android.status).toBe(201);
    androidId = android.body.id;
    const again = await s.call('POST', '/v1/devices', {
      body: {
        userId: 'alice',
        provider: 'fcm',
        token: ANDROID_TOKEN,
        app: 'demo-project',
        pushKind: 'data',
        format: 'wazo',
      },
    });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(androidId);
    const list = await s.call('GET', '/v1/devices?userId=alice');
    expect(list.body.devices.map((d: { id: string }) => d.id)).toEqual([iosId, androidId]);
  });

  it('sends an incoming call and both phones receive the Wazo payloads', async () => {
    const sent = await s.call('POST', '/v1/notifications', {
      headers: { 'idempotency-key': 'call-0001' },
      body: {
        type: 'incoming_call',
        recipient: 'alice',
        call: { id: '1560784195.313', from: { number: '8001', displayName: 'Bob' } },
      },
    });
    expect(sent.status).toBe(202);
    expect(sent.body).toEqual({ id: 'call-0001', duplicate: false, status: 'in-progress' });
    const report = await waitReport('call-0001');
    expect(report.status).toBe('completed');
    expect(report.devices.map((d: { bindingId: string; status: string }) => [d.bindingId, d.status])).toEqual([
      [iosId, 'delivered'],
      [androidId, 'delivered'],
    ]);

    const items = {
      peer_caller_id_number: '8001',
      peer_caller_id_name: 'Bob',
      call_id: '1560784195.313',
      video: false,
      ring_timeout: '30',
      notification_timestamp: PY_ISO,
    };
    const [ios] = s.sims.apns.deliveries({ token: IOS_TOKEN });
    expect(ios?.environment).toBe('sandbox');
    expect(ios?.headers).toMatchObject({
      'apns-push-type': 'voip',
      'apns-topic': 'com.example.phone.voip',
      'apns-priority': '10',
      'apns-expiration': '0',
    });
    expect(ios?.payload).toEqual({
      aps: { alert: { notification_type: 'incomingCall', items }, badge: 1 },
      notification_type: 'incomingCall',
      items,
    });

    const [android] = s.sims.fcm.deliveries({ token: ANDROID_TOKEN });
    const payload = android?.payload as { data: { items: string } };
    expect(payload).toEqual({
      android: { priority: 'high', ttl: '0s' },
      data: { notification_type: 'incomingCall', items: expect.any(String) },
      token: ANDROID_TOKEN,
    });
    expect(JSON.parse(payload.data.items)).toEqual(items);
  });

  it('sends to a Huawei phone through HMS in the Kaleyra format', async () => {
    const token = 'hms-token-0123456789';
    const reg = await s.call('POST', '/v1/devices', {
      body: { userId: 'bob', provider: 'hms', token, app: '10000001', pushKind: 'data', format: 'kaleyra' },
    });
    expect(reg.status).toBe(201);
    const res = await s.call('POST', '/v1/notifications?wait=true', {
      body: { type: 'incoming_call', recipient: 'bob', call: { id: 'room-1', from: { uri: 'alice' } } },
    });
    expect(res.body.report.devices.map((d: { status: string }) => d.status)).toEqual(['delivered']);
    const [delivery] = s.sims.hms.deliveries({ token });
    const message = delivery!.payload as { android: { urgency?: string }; data: string };
    expect(JSON.parse(message.data)).toMatchObject({
      event: 'on_call_incoming',
      room_id: 'room-1',
      data: { initiator: 'alice' },
    });
  });

  it('answers a repeated Idempotency-Key with the first notification, sending nothing again', async () => {
    const before = s.sims.apns.deliveries().length;
    const again = await s.call('POST', '/v1/notifications', {
      headers: { 'idempotency-key': 'call-0001' },
      body: { type: 'incoming_call', recipient: 'alice', call: { id: 'x', from: { number: '1' } } },
    });
    expect(again.status).toBe(202);
    expect(again.body.duplicate).toBe(true);
    expect(s.sims.apns.deliveries().length).toBe(before);
  });

  it('waits for the report with ?wait=true', async () => {
    const res = await s.call('POST', '/v1/notifications?wait=true', {
      body: {
        id: 'missed-1',
        type: 'missed_calls',
        recipient: 'alice',
        missed: [{ callId: 'c-9', from: { number: '8002', displayName: 'Carol' }, at: new Date().toISOString() }],
      },
    });
    expect(res.status).toBe(200);
    expect(res.body.report.notificationId).toBe('missed-1');
    expect(res.body.report.status).toBe('completed');
  });

  it('keeps tenants apart: another tenant sees, deletes and reads nothing of this one', async () => {
    const other = { key: OTHER_KEY };
    expect((await s.call('GET', '/v1/devices?userId=alice', other)).body).toEqual({ devices: [] });
    expect((await s.call('DELETE', `/v1/devices/${iosId}`, other)).status).toBe(404);
    expect((await s.call('GET', '/v1/notifications/call-0001', other)).status).toBe(404);
    const theirs = await s.call('POST', '/v1/notifications?wait=true', {
      ...other,
      body: { type: 'incoming_call', recipient: 'alice', call: { id: 'c-x', from: { number: '1' } } },
    });
    expect(theirs.body.report.suppressedReason).toBe('no-devices');
    const spoof = await s.call('POST', '/v1/notifications', {
      ...other,
      body: { tenant: 'demo', type: 'incoming_call', recipient: 'alice', call: { id: 'c-y', from: { number: '1' } } },
    });
    expect(spoof.status).toBe(400);
    expect(spoof.body.details).toEqual([{ path: 'tenant', message: 'does not match the authenticated tenant' }]);
    expect((await s.call('GET', '/v1/devices?userId=alice')).body.devices.length).toBe(2);
  });

  it('deletes a device', async () => {
    expect((await s.call('DELETE', `/v1/devices/${iosId}`)).status).toBe(204);
    expect((await s.call('DELETE', `/v1/devices/${iosId}`)).status).toBe(404);
    expect((await s.call('GET', '/v1/devices?userId=alice')).body.devices.map((d: { id: string }) => d.id)).toEqual([
      androidId,
    ]);
  });

  it('serves health, readiness, metrics and the OpenAPI document without a key', async () => {
    expect((await s.call('GET', '/healthz', { key: null })).body).toEqual({ status: 'ok' });
    expect((await s.call('GET', '/readyz', { key: null })).body).toEqual({ ready: true });
    const metrics = await s.call('GET', '/metrics', { key: null });
    expect(metrics.body).toContain(
      'pushrelay_notifications_total{provider="apns",push_type="voip",result="delivered"} 1',
    );
    expect(metrics.body).toContain('pushrelay_end_to_end_latency_seconds_count{provider="fcm"}');
    expect(metrics.body).toContain('pushrelay_queue_depth 0');
    const doc = await s.call('GET', '/openapi.json', { key: null });
    expect(doc.body.openapi).toBe('3.0.3');
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining([
        '/v1/devices',
        '/v1/devices/{id}',
        '/v1/notifications',
        '/v1/notifications/{id}',
        '/1.0/mobile/notifications',
        '/v1/ingress/kaleyra',
      ]),
    );
    const device = doc.body.paths['/v1/devices'].post.requestBody.content['application/json'].schema;
    // A device has a token, or for webpush a subscription; the handler checks which.
    expect(device.required).toEqual(['userId', 'provider', 'app', 'format']);
    expect(Object.keys(device.properties)).toEqual(expect.arrayContaining(['token', 'subscription']));
  });
});

async function waitReport(id: string): Promise<any> {
  for (let i = 0; i < 100; i++) {
    const r = await s.call('GET', `/v1/notifications/${id}`);
    if (r.status === 200 && r.body.status !== 'in-progress') return r.body;
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error(`report ${id} did not complete`);
}
