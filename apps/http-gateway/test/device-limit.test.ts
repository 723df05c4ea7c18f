/**
 * The bound on a tenant's devices: past `limits.maxDevicesPerTenant` a new device gets 429
 * `device_limit` and nothing is written, while a known device is still refreshed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './helpers.js';

const OTHER_KEY = 'other-key-123456';
const device = (token: string, userId = 'alice') => ({
  body: { userId, provider: 'fcm', token, app: 'demo-project', pushKind: 'data', format: 'wazo' },
});

let s: Stack;
beforeAll(async () => {
  s = await startStack({
    limits: { maxDevicesPerTenant: 2 },
    extraTenants: [{ id: 'other', apiKey: OTHER_KEY, limits: { maxDevicesPerTenant: 3 } }],
  });
});
afterAll(async () => s?.close());

describe('a tenant at its bound on devices', () => {
  it('refuses a new device with 429 device_limit and writes nothing, yet refreshes a known one', async () => {
    const first = await s.call('POST', '/v1/devices', device('tok-1'));
    expect((await s.call('POST', '/v1/devices', device('tok-2', 'bob'))).status).toBe(201);

    const refused = await s.call('POST', '/v1/devices', device('tok-3', 'carol'));
    expect([refused.status, refused.body.error, refused.body.details]).toEqual([429, 'device_limit', []]);
    expect(refused.body.message).toContain('its bound is 2');
    expect((await s.call('GET', '/v1/devices?userId=carol')).body).toEqual({ devices: [] });

    const refreshed = await s.call('POST', '/v1/devices', {
      body: { ...device('tok-1').body, userId: 'dave', pushKind: 'alert' },
    });
    expect([refreshed.status, refreshed.body.id, refreshed.body.userId]).toEqual([200, first.body.id, 'dave']);

    expect((await s.call('DELETE', `/v1/devices/${first.body.id}`)).status).toBe(204);
    expect((await s.call('POST', '/v1/devices', device('tok-3', 'carol'))).status).toBe(201);
  });

  it("counts each tenant's devices against its own bound", async () => {
    for (const token of ['tok-1', 'tok-2', 'tok-3'])
      expect((await s.call('POST', '/v1/devices', { key: OTHER_KEY, ...device(token) })).status).toBe(201);
    const refused = await s.call('POST', '/v1/devices', { key: OTHER_KEY, ...device('tok-4') });
    expect([refused.status, refused.body.error]).toEqual([429, 'device_limit']);
  });
});
