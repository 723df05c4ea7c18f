import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './helpers.js';

let s: Stack;
beforeAll(async () => {
  s = await startStack({ bodyLimitBytes: 4096, extraTenants: [{ id: 'other', apiKey: 'other-key-abcdef' }] });
});
afterAll(async () => {
  await s?.close();
});

const device = {
  userId: 'alice',
  provider: 'fcm',
  token: 'tok-1',
  app: 'demo-project',
  pushKind: 'data',
  format: 'wazo',
};
const stored = async () => (await s.call('GET', '/v1/devices?userId=alice')).body.devices.length;

describe('bad input gets a clear 4xx with details and stores nothing', () => {
  it('malformed JSON', async () => {
    const res = await s.call('POST', '/v1/devices', { raw: '{"userId": "alice",' });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: 'malformed_json', details: [] });
    expect(await stored()).toBe(0);
  });

  it('wrong types and missing fields, each with its path', async () => {
    const res = await s.call('POST', '/v1/devices', {
      body: { userId: 42, provider: 'apns', token: '', environment: 'staging' },
    });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('validation_failed');
    expect(res.body.details.map((d: { path: string }) => d.path).sort()).toEqual([
      'app',
      'environment',
      'format',
      'token',
      'userId',
    ]);
    expect(await stored()).toBe(0);
  });

  it('an oversized body', async () => {
    const res = await s.call('POST', '/v1/notifications', {
      raw: JSON.stringify({ type: 'message', recipient: 'alice', message: { body: 'x'.repeat(5000) } }),
    });
    expect(res.status).toBe(413);
    expect(res.body.error).toBe('payload_too_large');
  });

  it('an unknown format or provider', async () => {
    const format = await s.call('POST', '/v1/devices', { body: { ...device, format: 'acme' } });
    expect([format.status, format.body.error, format.body.details[0].path]).toEqual([400, 'unknown_format', 'format']);
    const provider = await s.call('POST', '/v1/devices', { body: { ...device, provider: 'mpns' } });
    expect([provider.status, provider.body.details[0].path]).toEqual([400, 'provider']);
    const unsupported = await s.call('POST', '/v1/devices', { body: { ...device, provider: 'hms', format: 'wazo' } });
    expect([unsupported.status, unsupported.body.error]).toEqual([400, 'unsupported_provider']);
    expect(await stored()).toBe(0);
  });

  it('a notification core refuses, with core issues as details', async () => {
    const res = await s.call('POST', '/v1/notifications', {
      body: { type: 'incoming_call', recipient: 'alice', deadline: 'tomorrow' },
    });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('validation_failed');
    expect(res.body.details.map((d: { path: string }) => d.path)).toEqual(expect.arrayContaining(['deadline', 'call']));
    const conflict = await s.call('POST', '/v1/notifications', {
      headers: { 'idempotency-key': 'a' },
      body: { id: 'b', type: 'message', recipient: 'alice' },
    });
    expect([conflict.status, conflict.body.details]).toEqual([
      400,
      [{ path: 'id', message: 'must equal the Idempotency-Key header when both are given' }],
    ]);
  });

  it('missing or wrong auth, and another tenant', async () => {
    const none = await s.call('POST', '/v1/devices', { key: null, body: device });
    expect([none.status, none.body.error]).toEqual([401, 'unauthorized']);
    expect((await s.call('POST', '/v1/devices', { key: 'not-a-key', body: device })).status).toBe(401);
    expect(
      (await s.call('GET', '/v1/notifications/x', { headers: { authorization: 'Basic abc' }, key: null })).status,
    ).toBe(401);
    await s.call('POST', '/v1/devices', { key: 'other-key-abcdef', body: device });
    expect(await stored()).toBe(0);
  });

  it('unknown routes and methods answer JSON 404', async () => {
    const res = await s.call('GET', '/v2/nothing');
    expect(res).toMatchObject({ status: 404, body: { error: 'not_found', details: [] } });
  });

  it('survives 1000 random bodies on every JSON route, then serves a valid request', async () => {
    const routes = ['/v1/devices', '/v1/notifications', '/1.0/mobile/notifications', '/v1/ingress/kaleyra?tenant=demo'];
    const body = fc.oneof(
      fc.json(),
      fc.string(),
      fc.object().map((o) => JSON.stringify(o)),
      fc
        .record(
          {
            type: fc.string(),
            recipient: fc.anything(),
            call: fc.anything(),
            userId: fc.anything(),
            provider: fc.string(),
            token: fc.anything(),
            format: fc.string(),
            app: fc.anything(),
          },
          { requiredKeys: [] },
        )
        .map((o) => JSON.stringify(o)),
    );
    await fc.assert(
      fc.asyncProperty(body, fc.constantFrom(...routes), async (raw, route) => {
        const res = await s.call('POST', route, { raw, headers: { 'x-auth-token': s.apiKey } });
        expect(res.status).toBeGreaterThanOrEqual(200);
        expect(res.status).toBeLessThan(500);
        if (res.status >= 400) {
          expect(typeof res.body.error).toBe('string');
          expect(typeof res.body.message).toBe('string');
          expect(Array.isArray(res.body.details)).toBe(true);
        }
      }),
      { numRuns: 1000 },
    );
    const ok = await s.call('POST', '/v1/devices', { body: { ...device, userId: 'zed', token: 'after-fuzz' } });
    expect(ok.status).toBe(201);
    const sent = await s.call('POST', '/v1/notifications?wait=true', {
      body: { type: 'message', recipient: 'zed', message: { title: 'hi', body: 'there' } },
    });
    expect(sent.status).toBe(200);
    expect((await s.call('GET', '/healthz', { key: null })).status).toBe(200);
  }, 120_000);
});
