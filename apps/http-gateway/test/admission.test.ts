/**
 * Admission control through the gateway: past its bound on pending sends, a notification gets
 * 503 `overloaded` with Retry-After before anything is written, calls keep their reserved share,
 * and every vendor door answers the same.
 */
import type { JobHandler } from '@pushrelay/core';
import { QueueDouble } from './queues.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './helpers.js';

/** Takes jobs and never runs them, as a queue whose workers are all busy. */
class StuckQueue extends QueueDouble {
  override process(_handler: JobHandler): void {}
}

const USER = '123e4567-e89b-12d3-a456-426614174000';

let s: Stack;
beforeAll(async () => {
  s = await startStack({
    queue: new StuckQueue(),
    admission: { maxPendingJobs: 4, callReservePercent: 50, maxTenantPercent: 100, retryAfterSeconds: 3 },
  });
  const res = await s.call('POST', '/v1/devices', {
    body: { userId: USER, provider: 'fcm', token: 'stuck-1', app: 'demo-project', pushKind: 'data', format: 'wazo' },
  });
  expect(res.status).toBe(201);
});
afterAll(async () => s?.close());

const message = (id: string) => ({ id, type: 'message', recipient: USER, message: { body: 'hello' } });
const call = (id: string) => ({ id, type: 'incoming_call', recipient: USER, call: { id, from: { number: '100' } } });

describe('a gateway over its admission bound', () => {
  it('refuses other types first and keeps room for calls, with 503 overloaded, Retry-After and nothing written', async () => {
    for (const id of ['m1', 'm2'])
      expect((await s.call('POST', '/v1/notifications', { body: message(id) })).status).toBe(202);
    const refused = await s.call('POST', '/v1/notifications', { body: message('m3') });
    expect([refused.status, refused.headers.get('retry-after'), refused.body.error, refused.body.details]).toEqual([
      503,
      '3',
      'overloaded',
      [],
    ]);
    expect((await s.call('GET', '/v1/notifications/m3')).status).toBe(404);

    for (const id of ['c1', 'c2'])
      expect((await s.call('POST', '/v1/notifications', { body: call(id) })).status).toBe(202);
    const full = await s.call('POST', '/v1/notifications', { body: call('c3') });
    expect([full.status, full.body.error]).toEqual([503, 'overloaded']);
    expect((await s.call('GET', '/v1/notifications/c3')).status).toBe(404);
  });

  it('answers the vendor doors the same way', async () => {
    const wazo = await s.call('POST', '/1.0/mobile/notifications', {
      key: null,
      headers: { 'x-auth-token': s.apiKey },
      body: { notification_type: 'plugin', user_uuid: USER, title: 't', body: 'b' },
    });
    expect([wazo.status, wazo.body.error, wazo.headers.get('retry-after')]).toEqual([503, 'overloaded', '3']);
  });

  it('counts the refusals by the bound reached', async () => {
    const metrics = await s.call('GET', '/metrics', { key: null });
    expect(metrics.body).toContain('pushrelay_overload_rejections_total{reason="pending-jobs"} 3');
  });
});

describe('a tenant over its notification rate', () => {
  let r: Stack;
  beforeAll(async () => {
    r = await startStack({
      rateLimit: { notificationsPerSecond: 1, burst: 2 },
      extraTenants: [{ id: 'other', apiKey: 'other-key-123456' }],
    });
  });
  afterAll(async () => r?.close());

  it("gets 429 rate_limited with Retry-After and nothing written, while another tenant's bucket is its own", async () => {
    for (const id of ['r1', 'r2'])
      expect((await r.call('POST', '/v1/notifications', { body: call(id) })).status).toBe(202);
    const limited = await r.call('POST', '/v1/notifications', { body: call('r3') });
    expect([limited.status, limited.body.error, limited.headers.get('retry-after')]).toEqual([
      429,
      'rate_limited',
      '1',
    ]);
    expect((await r.call('GET', '/v1/notifications/r3')).status).toBe(404);
    for (const id of ['o1', 'o2'])
      expect((await r.call('POST', '/v1/notifications', { key: 'other-key-123456', body: call(id) })).status).toBe(202);
    const metrics = await r.call('GET', '/metrics', { key: null });
    expect(metrics.body).toContain('pushrelay_rate_limited_total{tenant="demo"} 1');
  });
});

describe('a tenant over its share of the pending sends', () => {
  let t: Stack;
  beforeAll(async () => {
    t = await startStack({
      queue: new StuckQueue(),
      admission: { maxPendingJobs: 4, callReservePercent: 0, maxTenantPercent: 50 },
      extraTenants: [{ id: 'other', apiKey: 'other-key-123456' }],
    });
    for (const key of [t.apiKey, 'other-key-123456']) {
      const res = await t.call('POST', '/v1/devices', {
        key,
        body: {
          userId: USER,
          provider: 'fcm',
          token: 'share-1',
          app: 'demo-project',
          pushKind: 'data',
          format: 'wazo',
        },
      });
      expect(res.status).toBe(201);
    }
  });
  afterAll(async () => t?.close());

  it("gets 429 rate_limited while another tenant's calls still get in", async () => {
    for (const id of ['s1', 's2'])
      expect((await t.call('POST', '/v1/notifications', { body: call(id) })).status).toBe(202);
    const over = await t.call('POST', '/v1/notifications', { body: call('s3') });
    expect([over.status, over.body.error, over.headers.get('retry-after')]).toEqual([429, 'rate_limited', '1']);
    expect((await t.call('GET', '/v1/notifications/s3')).status).toBe(404);
    for (const id of ['t1', 't2'])
      expect((await t.call('POST', '/v1/notifications', { key: 'other-key-123456', body: call(id) })).status).toBe(202);
    const metrics = await t.call('GET', '/metrics', { key: null });
    expect(metrics.body).toContain('pushrelay_overload_rejections_total{reason="tenant-share"} 1');
  });
});
