import { describe, expect, it } from 'vitest';
import {
  FORWARDED_DEVICE_ID,
  InMemoryBindingStore,
  InMemoryQueue,
  InMemoryReportStore,
  ManualClock,
  Relay,
  parseCallNotification,
  type DeliveryOutcome,
  type PushRequest,
  type RelayEvents,
  type Transport,
} from '../src/index.js';

const START = Date.parse('2024-05-01T10:00:00.000Z');

class ScriptedFcm implements Transport {
  readonly provider = 'fcm' as const;
  readonly sent: PushRequest[] = [];
  constructor(private readonly outcomes: DeliveryOutcome[]) {}
  async send(request: PushRequest): Promise<DeliveryOutcome> {
    this.sent.push(request);
    return this.outcomes.shift() ?? { kind: 'delivered', providerId: `id-${this.sent.length}` };
  }
  async close(): Promise<void> {}
}

function setup(outcomes: DeliveryOutcome[] = [], transports: 'fcm' | 'none' = 'fcm') {
  const clock = new ManualClock(START);
  const bindings = new InMemoryBindingStore({ clock });
  const reports = new InMemoryReportStore();
  const fcm = new ScriptedFcm(outcomes);
  const relay = new Relay({
    bindings,
    reports,
    queue: new InMemoryQueue({ clock }),
    clock,
    random: () => 0.5,
    codecs: [],
    transports: transports === 'fcm' ? { fcm } : {},
  });
  const events: Array<keyof RelayEvents> = [];
  for (const name of ['accepted', 'delivered', 'retry-scheduled', 'binding-removed', 'expired', 'skipped'] as const) {
    relay.events.on(name, () => events.push(name));
  }
  relay.start();
  const notification = (type = 'incoming_call') =>
    parseCallNotification(
      {
        id: 'p-1',
        type,
        tenant: 'acme',
        recipient: 'proxy',
        call: { id: 'c-1', from: { number: '1' } },
        message: { body: 'hi' },
      },
      { now: clock.now(), defaultRingTimeoutMs: 30_000 },
    );
  const request = (pushType: PushRequest['pushType'] = 'background'): PushRequest => ({
    provider: 'fcm',
    token: 'vendor-token',
    app: 'project-1',
    environment: 'production',
    pushType,
    priority: 'high',
    expiresAt: null,
    payload: { data: { a: '1' } },
  });
  return { clock, bindings, fcm, relay, events, notification, request };
}

describe('Relay.forward', () => {
  it('sends the request as given and reports its one device', async () => {
    const s = setup();
    const { report } = await s.relay.forward({ notification: s.notification(), request: s.request(), format: 'wazo' });
    expect(report.devices.map((d) => [d.bindingId, d.provider, d.app, d.format, d.status])).toEqual([
      [FORWARDED_DEVICE_ID, 'fcm', 'project-1', 'wazo', 'pending'],
    ]);
    await s.clock.advance(0);
    expect(s.fcm.sent).toEqual([s.request()]);
    const final = await s.relay.report('acme', 'p-1');
    expect(final?.status).toBe('completed');
    expect(final?.devices[0]?.attempts.map((a) => a.outcome)).toEqual([{ kind: 'delivered', providerId: 'id-1' }]);
    expect(s.events).toEqual(['accepted', 'delivered']);
  });

  it('retries the same request under the notification deadline, then gives up', async () => {
    const retry: DeliveryOutcome = { kind: 'retry', reason: 'UNAVAILABLE' };
    const s = setup([retry, retry, retry, retry, retry, retry, retry, retry, retry, retry]);
    await s.relay.forward({ notification: s.notification(), request: s.request(), format: 'wazo' });
    await s.clock.advance(60_000);
    const final = await s.relay.report('acme', 'p-1');
    expect(s.fcm.sent.length).toBeGreaterThan(1);
    expect(new Set(s.fcm.sent.map((r) => JSON.stringify(r)))).toEqual(new Set([JSON.stringify(s.request())]));
    expect(final?.devices[0]?.status).toBe('expired');
    expect(final?.devices[0]?.attempts).toHaveLength(s.fcm.sent.length);
    expect(s.events).toContain('retry-scheduled');
  });

  it('reports a dead token without touching the stored bindings', async () => {
    const s = setup([{ kind: 'invalid-token', reason: 'UNREGISTERED' }]);
    const stored = await s.bindings.upsert({
      id: FORWARDED_DEVICE_ID,
      tenant: 'acme',
      userId: 'proxy',
      provider: 'fcm',
      token: 'vendor-token',
      app: 'project-1',
      environment: 'production',
      pushKind: 'data',
      format: 'wazo',
      origin: 'api',
    });
    await s.relay.forward({ notification: s.notification(), request: s.request(), format: 'wazo' });
    await s.clock.advance(0);
    expect((await s.relay.report('acme', 'p-1'))?.devices[0]?.status).toBe('invalid-token');
    expect(await s.bindings.get('acme', stored.id)).toBeDefined();
    expect(s.events).not.toContain('binding-removed');
  });

  it('skips a forwarded push without a transport for its provider, and a VoIP push of a registration refresh', async () => {
    const none = setup([], 'none');
    const { report } = await none.relay.forward({
      notification: none.notification(),
      request: none.request(),
      format: 'wazo',
    });
    expect([report.status, report.devices[0]?.status, report.devices[0]?.detail]).toEqual([
      'completed',
      'skipped',
      'no transport for provider "fcm" is configured',
    ]);
    const s = setup();
    await s.relay.forward({
      notification: s.notification('register_refresh'),
      request: s.request('voip'),
      format: 'wazo',
    });
    await s.clock.advance(0);
    expect(s.fcm.sent).toEqual([]);
    expect((await s.relay.report('acme', 'p-1'))?.devices[0]?.status).toBe('skipped');
  });

  it('accepts a forwarded push once per id', async () => {
    const s = setup();
    const push = { notification: s.notification(), request: s.request(), format: 'wazo' };
    expect((await s.relay.forward(push)).duplicate).toBe(false);
    expect((await s.relay.forward(push)).duplicate).toBe(true);
    await s.clock.advance(0);
    expect(s.fcm.sent).toHaveLength(1);
  });
});
