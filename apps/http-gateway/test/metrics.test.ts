import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { get } from '@pushrelay/app-kit';
import { signWebhook } from '../src/index.js';
import { TOKENS } from '../src/internal/tokens.js';
import { IOS_TOKEN, startStack, type Stack } from './helpers.js';

const SECRET = 'metrics-kaleyra-secret';
const LIVE = 'metrics-fcm-live-token';
const DEAD = 'metrics-fcm-dead-token';
const readme = readFileSync(join(dirname(fileURLToPath(import.meta.url)), '../README.md'), 'utf8');

let s: Stack;
beforeAll(async () => {
  s = await startStack({ kaleyraSecret: SECRET });
  const device = (token: string, provider = 'fcm', extra: Record<string, unknown> = {}) =>
    s.call('POST', '/v1/devices', {
      body: { userId: 'carol', provider, token, app: 'demo-project', pushKind: 'data', format: 'wazo', ...extra },
    });
  expect((await device(LIVE)).status).toBe(201);
  expect((await device(DEAD)).status).toBe(201);
  expect(
    (
      await device(IOS_TOKEN, 'apns', {
        app: 'com.example.phone',
        environment: 'sandbox',
        pushKind: 'voip',
        params: { apns_call_topic: 'com.example.phone.voip' },
      })
    ).status,
  ).toBe(201);
  s.sims.fcm.unregister(DEAD);
});
afterAll(async () => s?.close());

async function scrape(): Promise<string> {
  const res = await s.call('GET', '/metrics', { key: null });
  expect(res.status).toBe(200);
  return res.body as string;
}

/** The value of one series, or undefined when it is absent. */
function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('GET /metrics after traffic', () => {
  beforeAll(async () => {
    const sent = await s.call('POST', '/v1/notifications?wait=true', {
      body: { type: 'incoming_call', recipient: 'carol', call: { id: 'metrics-call-1', from: { number: '8001' } } },
    });
    expect(sent.status).toBe(200);
    expect(sent.body.report.devices.map((d: { status: string }) => d.status).sort()).toEqual([
      'delivered',
      'delivered',
      'invalid-token',
    ]);
    // A webhook whose content its codec refuses: a decode rejection.
    const bad = JSON.stringify({ event: 'on_call_incoming', room_id: 'r', data: { users: [] } });
    const ts = Math.floor(Date.now() / 1000);
    const refused = await s.call('POST', '/v1/ingress/kaleyra?tenant=demo', {
      key: null,
      headers: { 'x-pushrelay-timestamp': String(ts), 'x-pushrelay-signature': signWebhook(SECRET, ts, bad) },
      raw: bad,
    });
    expect(refused.status).toBe(400);
  });

  it('has the default process metrics under their standard names', async () => {
    const text = await scrape();
    for (const name of [
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_eventloop_lag_seconds',
      'nodejs_heap_size_used_bytes',
    ])
      expect(text).toMatch(new RegExp(`^# TYPE ${name} `, 'm'));
    expect(text).not.toContain('pushrelay_process_');
  });

  it('counts each device once by final outcome, apart from the attempts', async () => {
    const text = await scrape();
    expect(value(text, 'pushrelay_device_outcomes_total{provider="fcm",result="delivered"}')).toBe(1);
    expect(value(text, 'pushrelay_device_outcomes_total{provider="fcm",result="invalid-token"}')).toBe(1);
    expect(value(text, 'pushrelay_device_outcomes_total{provider="apns",result="delivered"}')).toBe(1);
    // Attempts carry the push type and no final-outcome rows of "none".
    expect(value(text, 'pushrelay_notifications_total{provider="fcm",push_type="alert",result="delivered"}')).toBe(1);
    expect(value(text, 'pushrelay_notifications_total{provider="apns",push_type="voip",result="delivered"}')).toBe(1);
    expect(text).not.toMatch(/pushrelay_notifications_total\{provider="none"/);
    expect(value(text, 'pushrelay_token_invalidations_total{provider="fcm"}')).toBe(1);
    expect(value(text, 'pushrelay_accepted_total{type="incoming_call"}')).toBe(1);
    expect(value(text, 'pushrelay_codec_rejections_total{codec="kaleyra",stage="decode"}')).toBe(1);
  });

  it('every pushrelay_ metric is in the README with its labels', () => {
    const { registry } = get(s.gateway.container, TOKENS.metrics);
    const ours = (registry.getMetricsAsArray() as unknown as Array<{ name: string; labelNames?: string[] }>).filter(
      (m) => m.name.startsWith('pushrelay_'),
    );
    expect(ours.length).toBeGreaterThan(10);
    for (const { name, labelNames = [] } of ours) {
      const documented = labelNames.length ? `\`${name}{${labelNames.join(',')}}\`` : `\`${name}\``;
      expect(readme, name).toContain(documented);
    }
  });
});
