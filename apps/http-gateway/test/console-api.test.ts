/**
 * The console's routes without a browser: the static files and their headers, and the
 * tenant-scoped JSON and SSE routes under /v1/console.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANDROID_TOKEN, IOS_TOKEN, startStack, type Stack } from './helpers.js';

const gatewayDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const OTHER_KEY = 'other-tenant-key-fedcba9876543210';

/** Reads SSE events from an open response until `until` says stop. */
async function readEvents(res: Response, until: (events: { name: string; data: any }[]) => boolean) {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  const events: { name: string; data: any }[] = [];
  let buffer = '';
  while (!until(events)) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const name = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (name && data) events.push({ name, data: JSON.parse(data) });
    }
  }
  await reader.cancel();
  return events;
}

describe('the console routes', () => {
  let stack: Stack;
  let ios: { id: string };
  let android: { id: string };
  let theirs: { id: string };

  beforeAll(async () => {
    stack = await startStack({ extraTenants: [{ id: 'other', apiKey: OTHER_KEY }] });
    ios = (
      await stack.call('POST', '/v1/devices', {
        body: { userId: 'carol', provider: 'apns', token: IOS_TOKEN, app: 'com.example.phone', format: 'wazo' },
      })
    ).body;
    android = (
      await stack.call('POST', '/v1/devices', {
        body: {
          userId: 'carol',
          provider: 'fcm',
          token: ANDROID_TOKEN,
          app: 'demo-project',
          format: 'wazo',
          pushKind: 'data',
        },
      })
    ).body;
    theirs = (
      await stack.call('POST', '/v1/devices', {
        key: OTHER_KEY,
        body: { userId: 'carol', provider: 'apns', token: 'cd'.repeat(32), app: 'com.example.phone', format: 'wazo' },
      })
    ).body;
  }, 120_000);

  afterAll(() => stack?.close());

  it('serves the built page under /console with a strict CSP, and nothing outside its build', async () => {
    const redirect = await fetch(`${stack.url}/console`, { redirect: 'manual' });
    expect([redirect.status, redirect.headers.get('location')]).toEqual([308, '/console/']);
    const page = await fetch(`${stack.url}/console/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(page.headers.get('content-security-policy')).not.toContain('unsafe-inline');
    const html = await page.text();
    expect(html).toContain('pushrelay console');
    // Every script and stylesheet is the gateway's own file.
    const refs = [...html.matchAll(/<(?:script|link)[^>]*?(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) expect(ref.startsWith('/console/assets/')).toBe(true);
    const asset = readdirSync(join(gatewayDir, 'dist/console/assets')).find((f) => f.endsWith('.js'))!;
    const js = await fetch(`${stack.url}/console/assets/${asset}`);
    expect([js.status, js.headers.get('content-type')]).toEqual([200, 'text/javascript; charset=utf-8']);
    expect(js.headers.get('cache-control')).toContain('immutable');
    expect((await fetch(`${stack.url}/console/assets/none.js`)).status).toBe(404);
    expect((await fetch(`${stack.url}/console/..%2f..%2fpackage.json`)).status).toBe(404);
    // The static routes are not part of the API document; the JSON routes are.
    const paths = Object.keys((await stack.call('GET', '/openapi.json')).body.paths);
    expect(paths.filter((p) => p.startsWith('/console'))).toEqual([]);
    expect(paths).toContain('/v1/console/devices');
  });

  it('answers only a valid key, with its tenant', async () => {
    expect((await stack.call('GET', '/v1/console/session', { key: null })).status).toBe(401);
    expect((await stack.call('GET', '/v1/console/session', { key: 'wrong' })).status).toBe(401);
    expect((await stack.call('GET', '/v1/console/session')).body).toEqual({ tenant: 'demo' });
    expect((await stack.call('GET', '/v1/console/session', { key: OTHER_KEY })).body).toEqual({ tenant: 'other' });
  });

  it("lists the tenant's own devices of a user, and refuses a test push to another tenant's device", async () => {
    const mine = await stack.call('GET', '/v1/console/devices?userId=carol');
    expect(mine.status).toBe(200);
    expect(mine.body.devices.map((d: { device: { id: string } }) => d.device.id).sort()).toEqual(
      [ios.id, android.id].sort(),
    );
    const other = await stack.call('POST', '/v1/console/test-push', {
      body: { bindingId: theirs.id, notification: { type: 'incoming_call', call: { id: 'x', from: { number: '1' } } } },
    });
    expect([other.status, other.body.error]).toEqual([404, 'not_found']);
    const mismatch = await stack.call('POST', '/v1/console/test-push', {
      body: {
        bindingId: ios.id,
        notification: { type: 'incoming_call', recipient: 'dave', call: { id: 'x', from: { number: '1' } } },
      },
    });
    expect([mismatch.status, mismatch.body.details[0].path]).toEqual([400, 'notification.recipient']);
    const bad = await stack.call('POST', '/v1/console/test-push', { body: { bindingId: ios.id } });
    expect([bad.status, bad.body.error]).toEqual([400, 'validation_failed']);
  });

  it('streams the tenant’s outcomes, pushes one device only, and keeps the figures and filters', async () => {
    const stream = await fetch(`${stack.url}/v1/console/events`, {
      headers: { authorization: `Bearer ${stack.apiKey}` },
    });
    expect([stream.status, stream.headers.get('content-type')]).toEqual([200, 'text/event-stream; charset=utf-8']);
    // The other tenant's call to its own carol comes first; it must never be in our stream.
    const theirCall = await stack.call('POST', '/v1/notifications?wait=true', {
      key: OTHER_KEY,
      body: { id: 'their-call', type: 'incoming_call', recipient: 'carol', call: { id: 'c0', from: { number: '9' } } },
    });
    expect(theirCall.status).toBe(200);
    const sent = await stack.call('POST', '/v1/console/test-push', {
      body: {
        bindingId: android.id,
        notification: { id: 'console-call', type: 'incoming_call', call: { id: 'c1', from: { number: '8001' } } },
      },
    });
    expect([sent.status, sent.body.id]).toEqual([202, 'console-call']);
    const events = await readEvents(stream, (e) => e.some((x) => x.name === 'completed'));
    expect(events.map((e) => e.name)).toEqual(['accepted', 'attempt', 'completed']);
    expect(events.every((e) => e.data.notificationId === 'console-call')).toBe(true);
    const attempt = events[1]!.data;
    expect([attempt.bindingId, attempt.provider, attempt.outcome]).toEqual([android.id, 'fcm', 'delivered']);
    expect(attempt.providerId).toBe(stack.sims.fcm.deliveries({ token: ANDROID_TOKEN })[0]!.id);
    // Only the chosen device was pushed.
    expect(stack.sims.apns.deliveries({ token: IOS_TOKEN })).toEqual([]);

    const listed = await stack.call('GET', '/v1/console/notifications');
    expect(
      listed.body.notifications.map((n: { report: { notificationId: string } }) => n.report.notificationId),
    ).toEqual(['console-call']);
    const report = listed.body.notifications[0].report;
    expect(report.devices.map((d: { bindingId: string; status: string }) => [d.bindingId, d.status])).toEqual([
      [android.id, 'delivered'],
    ]);
    for (const [query, count] of [
      ['userId=carol', 1],
      ['userId=dave', 0],
      ['callId=c1', 1],
      ['callId=c0', 0],
      ['outcome=delivered', 1],
      ['outcome=rejected', 0],
    ] as const) {
      const r = await stack.call('GET', `/v1/console/notifications?${query}`);
      expect([query, r.body.notifications.length]).toEqual([query, count]);
    }
    expect((await stack.call('GET', '/v1/console/notifications?outcome=nope')).status).toBe(400);

    const devices = await stack.call('GET', '/v1/console/devices?userId=carol');
    const seen = devices.body.devices.find((d: { device: { id: string } }) => d.device.id === android.id).lastOutcome;
    expect(seen.status).toBe('delivered');
    expect(seen.lastDeliveredAt).toBe(seen.at);
    expect(devices.body.devices.find((d: { device: { id: string } }) => d.device.id === ios.id).lastOutcome).toBeNull();

    const stats = await stack.call('GET', '/v1/console/stats');
    expect(stats.body.queueDepth).toBe(0);
    expect(stats.body.outcomes.map((o: { provider: string; outcomes: unknown }) => [o.provider, o.outcomes])).toEqual([
      ['fcm', { delivered: 1 }],
    ]);
    expect(stats.body.latency.samples).toBe(1);
    expect(stats.body.latency.provider.p50).toBe(attempt.latencyMs);
    // The other tenant sees its own call and not ours.
    const theirs = await stack.call('GET', '/v1/console/notifications', { key: OTHER_KEY });
    expect(
      theirs.body.notifications.map((n: { report: { notificationId: string } }) => n.report.notificationId),
    ).toEqual(['their-call']);
  });
});
