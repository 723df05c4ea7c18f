import { Writable } from 'node:stream';
import { CodecError, type BindingStore, type Codec, type Transport } from '@pushrelay/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOKENS } from '../src/index.js';
import { loadCodecs } from '../src/internal/registry.js';
import { startStack, type Stack } from './helpers.js';

const lines: Record<string, unknown>[] = [];
const stream = new Writable({
  write(chunk: Buffer, _enc, done) {
    for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
    done();
  },
});

/** Refuses to encode any call whose caller has no display name, naming the field. */
const pickyCodec: Codec = {
  id: 'picky',
  capabilities: { decode: false, providers: ['fcm'] },
  encode(n, b) {
    if (!n.call?.from.displayName) throw new CodecError('picky', 'is required', { path: 'call.from.displayName' });
    return {
      provider: b.provider,
      token: b.token,
      app: b.app,
      environment: b.environment,
      pushType: 'background',
      priority: 'high',
      expiresAt: null,
      payload: { data: { caller: n.call.from.displayName } },
    };
  },
};

let s: Stack;
let metrics: () => Promise<string>;
beforeAll(async () => {
  // Only an FCM transport (one that never needs to send here): no APNs or HMS.
  const fcm: Transport = { provider: 'fcm', send: async () => ({ kind: 'delivered' }), close: async () => {} };
  s = await startStack({
    logger: { level: 'info', stream },
    transports: { fcm },
    codecs: [...(await loadCodecs()).create(['wazo', 'kaleyra']), pickyCodec],
  });
  metrics = async () => (await s.call('GET', '/metrics', { key: null })).body as string;
});
afterAll(async () => {
  await s?.close();
});

describe('configuration mistakes and codec rejections are loud', () => {
  it('refuses to register a device for a provider this gateway has no transport for', async () => {
    const res = await s.call('POST', '/v1/devices', {
      body: {
        userId: 'alice',
        provider: 'hms',
        token: 'hms-token-0123456789',
        app: '1',
        pushKind: 'data',
        format: 'kaleyra',
      },
    });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      error: 'unsupported_provider',
      message: 'this gateway cannot push to such a device: no transport for provider "hms" is configured',
      details: [{ path: 'provider', message: 'no transport for provider "hms" is configured' }],
    });
  });

  it('counts and logs at warn a device skipped for a codec or transport the gateway lacks', async () => {
    // Bindings written before the configuration changed: still in the store.
    const bindings = s.gateway.container.resolve<BindingStore>(TOKENS.bindings);
    const base = { tenant: 'demo', userId: 'carol', environment: 'production', origin: 'api' } as const;
    const noTransport = await bindings.upsert({
      ...base,
      provider: 'apns',
      token: 'a'.repeat(64),
      app: 'x',
      pushKind: 'voip',
      format: 'wazo',
    });
    const noCodec = await bindings.upsert({
      ...base,
      provider: 'fcm',
      token: 'f1',
      app: 'demo-project',
      pushKind: 'data',
      format: 'signalwire',
    });
    const res = await s.call('POST', '/v1/notifications?wait=true', {
      body: { type: 'incoming_call', recipient: 'carol', call: { id: 'c1', from: { number: '100' } } },
    });
    expect(res.body.report.devices.map((d: { status: string }) => d.status)).toEqual(['skipped', 'skipped']);
    const m = await metrics();
    expect(m).toContain('pushrelay_devices_skipped_total{reason="no-transport"} 1');
    expect(m).toContain('pushrelay_devices_skipped_total{reason="no-codec"} 1');
    const warned = lines.filter((l) => l.msg === 'device skipped: this gateway is not configured for it');
    expect(warned.map((l) => [l.level, l.bindingId, l.reason])).toEqual([
      [40, noTransport.id, 'no-transport'],
      [40, noCodec.id, 'no-codec'],
    ]);
  });

  it('counts and logs at warn, with the field, a notification a codec refuses to encode', async () => {
    await s.call('POST', '/v1/devices', {
      body: {
        userId: 'dave',
        provider: 'fcm',
        token: 'picky-1',
        app: 'demo-project',
        pushKind: 'data',
        format: 'picky',
      },
    });
    const res = await s.call('POST', '/v1/notifications?wait=true', {
      body: { type: 'incoming_call', recipient: 'dave', call: { id: 'c2', from: { number: '100' } } },
    });
    expect(res.body.report.devices[0]).toMatchObject({
      status: 'rejected',
      detail: 'picky: call.from.displayName: is required',
    });
    expect(await metrics()).toContain('pushrelay_codec_rejections_total{codec="picky",stage="encode"} 1');
    expect(lines.find((l) => l.msg === 'codec rejected a notification for a device')).toMatchObject({
      level: 40,
      codec: 'picky',
      field: 'call.from.displayName',
      notificationId: res.body.id,
    });
  });

  it('counts and logs at warn, with the field, vendor input a codec refuses to decode', async () => {
    const res = await s.call('POST', '/v1/ingress/kaleyra', {
      body: { event: 'on_call_incoming', room_id: 'r', data: { users: [] } },
    });
    expect([res.status, res.body.error]).toEqual([400, 'invalid_vendor_input']);
    expect(await metrics()).toContain('pushrelay_codec_rejections_total{codec="kaleyra",stage="decode"} 1');
    expect(lines.find((l) => l.msg === 'codec rejected input')).toMatchObject({
      level: 40,
      codec: 'kaleyra',
      field: 'data.initiator',
    });
  });
});
