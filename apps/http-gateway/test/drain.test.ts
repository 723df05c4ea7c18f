import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANDROID_TOKEN, startStack, type Stack } from './helpers.js';

// Shutdown as an orchestrator sees it: SIGTERM calls gateway.close(); requests already in the
// gateway are answered in full, new ones are not taken, and close returns once they are done.
describe('gateway.close() while a request is in flight', () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack();
    const device = await s.call('POST', '/v1/devices', {
      body: {
        userId: 'dora',
        provider: 'fcm',
        token: ANDROID_TOKEN,
        app: 'demo-project',
        pushKind: 'data',
        format: 'wazo',
      },
    });
    expect(device.status).toBe(201);
  });
  afterAll(async () => s?.close());

  it('answers the in-flight ?wait request with its delivery report, refuses new requests, then closes', async () => {
    // The push is held at FCM for a while, so the waiting request is still open when the drain begins.
    s.sims.fcm.fault({ kind: 'slow', delayMs: 1500, token: ANDROID_TOKEN });
    const inFlight = s.call('POST', '/v1/notifications?wait=true', {
      body: { type: 'incoming_call', recipient: 'dora', call: { id: 'call-drain', from: { number: '8001' } } },
    });
    await until(() => s.sims.fcm.requests().length > 0);
    expect((await s.call('GET', '/readyz', { key: null })).status).toBe(200);

    let closed = false;
    const closing = s.gateway.close().then(() => (closed = true));
    // A new request during the drain is not taken: refused at the socket or answered 503.
    const during = await s.call('GET', '/readyz', { key: null }).then(
      (res) => res.status,
      () => 'refused',
    );
    expect([503, 'refused']).toContain(during);
    expect(closed).toBe(false);

    const answer = await inFlight;
    expect(answer.status).toBe(200);
    expect(answer.body.report.status).toBe('completed');
    expect(answer.body.report.devices.map((d: { status: string }) => d.status)).toEqual(['delivered']);
    await closing;
    expect(s.sims.fcm.deliveries({ token: ANDROID_TOKEN })).toHaveLength(1);
  }, 30_000);
});

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; !condition(); i++) {
    if (i > 200) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 25));
  }
}
