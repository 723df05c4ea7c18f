import { describe, expect, it } from 'vitest';
import {
  CodecError,
  ConfigurationError,
  InMemoryBindingStore,
  InMemoryPresence,
  InMemoryQueue,
  InMemoryReportStore,
  ManualClock,
  Relay,
  parseCallNotification,
  retryDelay,
  DEFAULT_RETRY_POLICY,
  type CallNotification,
  type Codec,
  type DeliveryOutcome,
  type DeviceBindingInput,
  type PushRequest,
  type RelayEvents,
  type SendOptions,
  type Transport,
} from '../src/index.js';

const START = Date.parse('2024-05-01T10:00:00.000Z');

/** A transport that answers from a script per token and records what it was sent, with the time. */
class ScriptedTransport implements Transport {
  readonly sent: Array<{ request: PushRequest; at: number; options: SendOptions | undefined }> = [];
  private readonly scripts = new Map<string, DeliveryOutcome[]>();
  constructor(
    readonly provider: 'apns' | 'fcm' | 'hms',
    private readonly clock: ManualClock,
  ) {}
  script(token: string, ...outcomes: DeliveryOutcome[]): void {
    this.scripts.set(token, outcomes);
  }
  async send(request: PushRequest, options?: SendOptions): Promise<DeliveryOutcome> {
    this.sent.push({ request, at: this.clock.now(), options });
    return this.scripts.get(request.token)?.shift() ?? { kind: 'delivered', providerId: `id-${this.sent.length}` };
  }
  async close(): Promise<void> {}
}

const plainCodec: Codec = {
  id: 'plain',
  capabilities: { decode: false, providers: ['apns', 'fcm', 'hms'] },
  encode(n, b) {
    if (n.type === 'message' && b.pushKind === 'voip') return null;
    if (n.vendor?.explode) throw new CodecError('plain', 'cannot encode this', { path: 'vendor.explode' });
    return {
      provider: b.provider,
      token: b.token,
      app: b.app,
      environment: b.environment,
      pushType: b.pushKind === 'voip' ? 'voip' : 'alert',
      priority: n.priority,
      expiresAt: Date.parse(n.deadline),
      collapseId: n.call?.id,
      payload: { type: n.type, caller: n.call?.from.number ?? null },
    };
  },
};

function setup(options: { maxAttempts?: number; random?: () => number } = {}) {
  const clock = new ManualClock(START);
  const bindings = new InMemoryBindingStore({ clock });
  const reports = new InMemoryReportStore();
  const queue = new InMemoryQueue({ clock });
  const presence = new InMemoryPresence();
  const apns = new ScriptedTransport('apns', clock);
  const fcm = new ScriptedTransport('fcm', clock);
  const relay = new Relay({
    bindings,
    reports,
    queue,
    presence,
    clock,
    random: options.random ?? (() => 0.5),
    codecs: [plainCodec],
    transports: { apns, fcm },
    retry: { maxAttempts: options.maxAttempts ?? 6 },
  });
  const events: Array<[keyof RelayEvents, unknown]> = [];
  for (const name of [
    'accepted',
    'duplicate',
    'suppressed',
    'delivered',
    'retry-scheduled',
    'binding-removed',
    'rejected',
    'expired',
    'skipped',
    'completed',
    'error',
  ] as const) {
    relay.events.on(name, (payload) => events.push([name, payload]));
  }
  relay.start();
  const device = (overrides: Partial<DeviceBindingInput> = {}) =>
    bindings.upsert({
      tenant: 'acme',
      userId: 'alice',
      provider: 'apns',
      token: 'a'.repeat(64),
      app: 'com.example.phone',
      environment: 'production',
      pushKind: 'voip',
      format: 'plain',
      origin: 'api',
      ...overrides,
    });
  const call = (overrides: Record<string, unknown> = {}): CallNotification =>
    parseCallNotification(
      {
        id: 'n-1',
        type: 'incoming_call',
        tenant: 'acme',
        recipient: 'alice',
        call: { id: 'c-1', from: { number: '+15550100' } },
        ...overrides,
      },
      { now: clock.now(), defaultRingTimeoutMs: 30_000 },
    );
  const names = () => events.map(([name]) => name);
  return { clock, bindings, reports, queue, presence, apns, fcm, relay, events, names, device, call };
}

describe('Relay', () => {
  it('encodes per binding, sends, and reports every device delivered', async () => {
    const s = setup();
    const phone = await s.device();
    const tablet = await s.device({ provider: 'fcm', token: 'fcm-token', app: 'project-1', pushKind: 'data' });
    const { report, duplicate } = await s.relay.notify(s.call());
    expect(duplicate).toBe(false);
    expect(report.devices.map((d) => d.status)).toEqual(['pending', 'pending']);
    await s.clock.advance(0);

    expect(s.apns.sent.map((x) => x.request)).toEqual([
      {
        provider: 'apns',
        token: phone.token,
        app: 'com.example.phone',
        environment: 'production',
        pushType: 'voip',
        priority: 'high',
        expiresAt: START + 30_000,
        collapseId: 'c-1',
        payload: { type: 'incoming_call', caller: '+15550100' },
      },
    ]);
    expect(s.fcm.sent.map((x) => x.request.token)).toEqual([tablet.token]);
    // The transport stops waiting for an answer once the call has stopped ringing.
    expect([...s.apns.sent, ...s.fcm.sent].map((x) => x.options)).toEqual([
      { deadline: START + 30_000 },
      { deadline: START + 30_000 },
    ]);
    const final = await s.relay.report('acme', 'n-1');
    expect(final?.status).toBe('completed');
    expect(final?.devices.map((d) => [d.bindingId, d.status, d.attempts.length])).toEqual([
      [phone.id, 'delivered', 1],
      [tablet.id, 'delivered', 1],
    ]);
    expect(final?.devices[0]?.attempts[0]).toEqual({
      attempt: 1,
      at: '2024-05-01T10:00:00.000Z',
      outcome: { kind: 'delivered', providerId: 'id-1' },
      latencyMs: 0,
    });
    expect(s.names()).toEqual(['accepted', 'delivered', 'delivered', 'completed']);
  });

  it('runs a job again without sending when its device already has a final outcome (its first process died after recording it)', async () => {
    const s = setup();
    const phone = await s.device();
    const notification = s.call();
    await s.relay.notify(notification);
    await s.clock.advance(0);
    expect(s.apns.sent).toHaveLength(1);
    const before = await s.relay.report('acme', 'n-1');
    await s.relay.runJob({
      id: `acme/n-1/${phone.id}/1`,
      notification,
      bindingId: phone.id,
      attempt: 1,
      runAt: START,
      lane: 'call',
      redelivered: true,
    });
    expect(s.apns.sent).toHaveLength(1);
    expect(await s.relay.report('acme', 'n-1')).toEqual(before);
    expect(s.names()).toEqual(['accepted', 'delivered', 'completed']);
  });

  it('queues the sends again when a notification is repeated whose first acceptance stopped before queueing', async () => {
    const s = setup();
    await s.device();
    const notification = s.call();
    // The first process wrote the report and died before its jobs reached the queue.
    const bindings = await s.bindings.forUser('acme', 'alice');
    await s.reports.create({
      notificationId: 'n-1',
      tenant: 'acme',
      recipient: 'alice',
      type: 'incoming_call',
      acceptedAt: notification.createdAt,
      deadline: notification.deadline,
      status: 'in-progress',
      devices: bindings.map((b) => ({
        bindingId: b.id,
        provider: b.provider,
        app: b.app,
        format: b.format,
        status: 'pending' as const,
        attempts: [],
        updatedAt: notification.createdAt,
      })),
    });
    const again = await s.relay.notify(notification);
    await s.clock.advance(0);
    expect(again.duplicate).toBe(true);
    expect(s.apns.sent).toHaveLength(1);
    expect((await s.relay.report('acme', 'n-1'))?.status).toBe('completed');
    await s.relay.notify(notification);
    await s.clock.advance(0);
    expect(s.apns.sent).toHaveLength(1);
  });

  it('does not send a notification id twice', async () => {
    const s = setup();
    await s.device();
    await s.relay.notify(s.call());
    await s.clock.advance(0);
    const again = await s.relay.notify(s.call({ call: { id: 'other', from: { number: '1' } } }));
    await s.clock.advance(0);
    expect(again.duplicate).toBe(true);
    expect(again.report.devices[0]?.status).toBe('delivered');
    expect(s.apns.sent).toHaveLength(1);
    expect(s.names().filter((n) => n === 'duplicate')).toHaveLength(1);
  });

  it('lets only one of two concurrent notifies with the same id through', async () => {
    const s = setup();
    await s.device();
    const results = await Promise.all([s.relay.notify(s.call()), s.relay.notify(s.call())]);
    await s.clock.advance(0);
    expect(results.map((r) => r.duplicate).sort()).toEqual([false, true]);
    expect(s.apns.sent).toHaveLength(1);
  });

  it('sends no push while the user is online, and pushes again once they drop', async () => {
    const s = setup();
    await s.device();
    const release = s.presence.connect('acme', 'alice');
    const { report } = await s.relay.notify(s.call());
    await s.clock.advance(0);
    expect(report).toMatchObject({ status: 'suppressed', suppressedReason: 'online', devices: [] });
    expect(s.apns.sent).toHaveLength(0);
    expect(s.names()).toEqual(['suppressed', 'completed']);
    release();
    await s.relay.notify(s.call({ id: 'n-2' }));
    await s.clock.advance(0);
    expect(s.apns.sent).toHaveLength(1);
  });

  it('pushes when presence cannot answer, and says why', async () => {
    const s = setup();
    await s.device();
    s.presence.connect('acme', 'alice');
    const failure = new Error('presence is away');
    s.presence.isOnline = () => Promise.reject(failure);
    const { report } = await s.relay.notify(s.call());
    await s.clock.advance(0);
    expect(report.status).toBe('in-progress');
    expect(s.apns.sent).toHaveLength(1);
    expect(s.events).toContainEqual(['error', { error: failure }]);
  });

  it('drops exactly the binding whose token the provider declared invalid', async () => {
    const s = setup();
    const dead = await s.device({ token: 'd'.repeat(64) });
    const alive = await s.device({ token: 'e'.repeat(64) });
    s.apns.script(dead.token, { kind: 'invalid-token', reason: 'Unregistered', since: '2024-05-01T10:00:01.000Z' });
    await s.relay.notify(s.call());
    await s.clock.advance(0);
    expect((await s.bindings.forUser('acme', 'alice')).map((b) => b.id)).toEqual([alive.id]);
    const report = await s.relay.report('acme', 'n-1');
    expect(report?.devices.map((d) => [d.bindingId, d.status, d.detail])).toEqual([
      [dead.id, 'invalid-token', 'Unregistered'],
      [alive.id, 'delivered', undefined],
    ]);
    expect(s.names()).toContain('binding-removed');
  });

  it('keeps a binding that registered again after the provider saw its token die', async () => {
    const s = setup();
    const b = await s.device();
    s.apns.script(b.token, { kind: 'invalid-token', reason: 'Unregistered', since: '2024-05-01T09:59:59.000Z' });
    await s.relay.notify(s.call());
    await s.clock.advance(0);
    expect(await s.bindings.get('acme', b.id)).toBeDefined();
  });

  it('honours Retry-After: the next attempt waits at least that long', async () => {
    const s = setup({ random: () => 0 });
    const b = await s.device();
    s.apns.script(b.token, { kind: 'retry', reason: 'TooManyRequests', retryAfterMs: 5000 });
    await s.relay.notify(s.call());
    await s.clock.advance(4999);
    expect(s.apns.sent).toHaveLength(1);
    await s.clock.advance(1);
    expect(s.apns.sent.map((x) => x.at - START)).toEqual([0, 5000]);
    const report = await s.relay.report('acme', 'n-1');
    expect(report?.devices[0]?.attempts.map((a) => a.outcome.kind)).toEqual(['retry', 'delivered']);
    expect(report?.status).toBe('completed');
  });

  it('backs off exponentially with the injected jitter', async () => {
    const s = setup({ random: () => 1 });
    const b = await s.device();
    const busy: DeliveryOutcome = { kind: 'retry', reason: 'ServiceUnavailable' };
    s.apns.script(b.token, busy, busy, busy);
    await s.relay.notify(s.call());
    await s.clock.advance(10_000);
    // base 250 ms doubling, random 1 -> the full delay: 250, 500, 1000
    expect(s.apns.sent.map((x) => x.at - START)).toEqual([0, 250, 750, 1750]);
    expect(retryDelay(DEFAULT_RETRY_POLICY, 3, () => 0)).toBe(500);
  });

  it('does not schedule a retry that would land after the deadline; the report says expired', async () => {
    const s = setup();
    const b = await s.device();
    s.apns.script(b.token, { kind: 'retry', reason: 'TooManyRequests', retryAfterMs: 30_000 });
    await s.relay.notify(s.call());
    await s.clock.advance(60_000);
    expect(s.apns.sent).toHaveLength(1);
    const report = await s.relay.report('acme', 'n-1');
    expect(report?.status).toBe('completed');
    expect(report?.devices[0]).toMatchObject({
      status: 'expired',
      detail: 'next retry would land after the deadline: TooManyRequests',
    });
    expect(s.names()).toEqual(['accepted', 'expired', 'completed']);
  });

  it('schedules a retry that lands just before the deadline', async () => {
    const s = setup();
    const b = await s.device();
    s.apns.script(b.token, { kind: 'retry', reason: 'TooManyRequests', retryAfterMs: 29_999 });
    await s.relay.notify(s.call());
    await s.clock.advance(60_000);
    expect(s.apns.sent.map((x) => x.at - START)).toEqual([0, 29_999]);
  });

  it('never sends a job that waited past the deadline', async () => {
    const clock = new ManualClock(START);
    const bindings = new InMemoryBindingStore({ clock });
    const transport = new ScriptedTransport('apns', clock);
    const relay = new Relay({
      bindings,
      reports: new InMemoryReportStore(),
      queue: new InMemoryQueue({ clock }),
      clock,
      codecs: [plainCodec],
      transports: { apns: transport },
      // Accepted while no worker runs, as in a process that only accepts: the job waits.
      acceptOnly: true,
    });
    await bindings.upsert({
      tenant: 'acme',
      userId: 'alice',
      provider: 'apns',
      token: 'a'.repeat(64),
      app: 'x',
      environment: 'production',
      pushKind: 'voip',
      format: 'plain',
      origin: 'api',
    });
    const n = parseCallNotification(
      {
        id: 'late',
        type: 'incoming_call',
        tenant: 'acme',
        recipient: 'alice',
        call: { id: 'c', from: { number: '1' } },
      },
      { now: START, defaultRingTimeoutMs: 1000 },
    );
    await relay.notify(n);
    await clock.advance(1000);
    relay.start();
    await clock.advance(0);
    expect(transport.sent).toHaveLength(0);
    expect((await relay.report('acme', 'late'))?.devices[0]).toMatchObject({
      status: 'expired',
      detail: 'deadline passed before the push could be sent',
      attempts: [],
    });
  });

  it('gives up after the last attempt', async () => {
    const s = setup({ maxAttempts: 2 });
    const b = await s.device();
    s.apns.script(
      b.token,
      { kind: 'retry', reason: 'InternalServerError' },
      { kind: 'retry', reason: 'InternalServerError' },
    );
    await s.relay.notify(s.call());
    await s.clock.advance(20_000);
    expect(s.apns.sent).toHaveLength(2);
    expect((await s.relay.report('acme', 'n-1'))?.devices[0]).toMatchObject({
      status: 'expired',
      detail: 'gave up after 2 attempts: InternalServerError',
    });
  });

  it('records rejected and auth-failed answers without retrying', async () => {
    const s = setup();
    const a = await s.device({ token: 'f'.repeat(64) });
    const b = await s.device({ token: '0'.repeat(64) });
    s.apns.script(a.token, { kind: 'rejected', reason: 'PayloadTooLarge' });
    s.apns.script(b.token, { kind: 'auth-failed', reason: 'ExpiredProviderToken' });
    await s.relay.notify(s.call());
    await s.clock.advance(30_000);
    expect(s.apns.sent).toHaveLength(2);
    expect((await s.relay.report('acme', 'n-1'))?.devices.map((d) => [d.status, d.detail])).toEqual([
      ['rejected', 'PayloadTooLarge'],
      ['auth-failed', 'ExpiredProviderToken'],
    ]);
    expect(await s.bindings.forUser('acme', 'alice')).toHaveLength(2);
  });

  it('skips devices whose format does not push this type, or has no codec or transport', async () => {
    const s = setup();
    const voip = await s.device();
    const unknownFormat = await s.device({ token: '1'.repeat(64), format: 'nope' });
    const hms = await s.device({ provider: 'hms', token: 'hms-token', pushKind: 'data' });
    const { report } = await s.relay.notify(s.call({ type: 'message', call: undefined, message: { body: 'hi' } }));
    await s.clock.advance(0);
    expect(report.devices.map((d) => [d.bindingId, d.status, d.detail])).toEqual([
      [voip.id, 'pending', undefined],
      [unknownFormat.id, 'skipped', 'no codec "nope" is configured'],
      [hms.id, 'skipped', 'no transport for provider "hms" is configured'],
    ]);
    const final = await s.relay.report('acme', 'n-1');
    expect(final?.devices[0]).toMatchObject({
      status: 'skipped',
      detail: 'format "plain" does not push message to this device',
    });
    expect(final?.status).toBe('completed');
    expect(s.apns.sent).toHaveLength(0);
    const skipped = s.events.filter(([name]) => name === 'skipped').map(([, p]) => p as RelayEvents['skipped']);
    expect(skipped.map((e) => [e.bindingId, e.reason])).toEqual([
      [unknownFormat.id, 'no-codec'],
      [hms.id, 'no-transport'],
      [voip.id, 'not-pushed'],
    ]);
  });

  it('checkBinding throws ConfigurationError for a binding it could not deliver to', () => {
    const s = setup();
    expect(() => s.relay.checkBinding({ provider: 'apns', format: 'plain' })).not.toThrow();
    expect(() => s.relay.checkBinding({ provider: 'apns', format: 'nope' })).toThrow(
      expect.objectContaining({ code: 'configuration_error', message: 'no codec "nope" is configured' }),
    );
    expect(() => s.relay.checkBinding({ provider: 'hms', format: 'plain' })).toThrow(ConfigurationError);
  });

  it('refuses codecs and transports that cannot be right when it is built', () => {
    const s = setup();
    const base = { bindings: s.bindings, reports: s.reports, queue: s.queue };
    expect(() => new Relay({ ...base, codecs: [plainCodec, plainCodec], transports: {} })).toThrow(
      /codec id "plain" is given twice/,
    );
    expect(() => new Relay({ ...base, codecs: [plainCodec], transports: { hms: s.fcm } })).toThrow(
      /transports.hms is a fcm transport/,
    );
  });

  it('refuses notify before start, unless built to only accept; and after close', async () => {
    const clock = new ManualClock(START);
    const base = {
      bindings: new InMemoryBindingStore({ clock }),
      reports: new InMemoryReportStore(),
      codecs: [plainCodec],
      transports: {},
      clock,
    };
    const n = parseCallNotification(
      { id: 'n', type: 'incoming_call', tenant: 'acme', recipient: 'alice', call: { id: 'c', from: { number: '1' } } },
      { now: START },
    );
    const idle = new Relay({ ...base, queue: new InMemoryQueue({ clock }) });
    await expect(idle.notify(n)).rejects.toThrow(ConfigurationError);
    await expect(idle.notify(n)).rejects.toThrow(/before start\(\)/);
    expect(await idle.report('acme', 'n')).toBeUndefined();

    const acceptOnly = new Relay({
      ...base,
      reports: new InMemoryReportStore(),
      queue: new InMemoryQueue({ clock }),
      acceptOnly: true,
    });
    expect((await acceptOnly.notify(n)).duplicate).toBe(false);

    const s = setup();
    await s.relay.close();
    await expect(s.relay.notify(s.call())).rejects.toMatchObject({ code: 'relay_closed' });
  });

  it('pushes only the bindings a notification names', async () => {
    const s = setup();
    await s.device();
    const tablet = await s.device({ provider: 'fcm', token: 'fcm-token', app: 'project-1', pushKind: 'data' });
    const { report } = await s.relay.notify(s.call({ bindingIds: [tablet.id] }));
    await s.clock.advance(0);
    expect(report.devices.map((d) => d.bindingId)).toEqual([tablet.id]);
    expect(s.apns.sent).toHaveLength(0);
    expect(s.fcm.sent.map((x) => x.request.token)).toEqual(['fcm-token']);
  });

  it('never sends a registration refresh as a VoIP push, whatever the codec built', async () => {
    const s = setup();
    const voip = await s.device();
    const alert = await s.device({ token: '2'.repeat(64), pushKind: 'alert' });
    await s.relay.notify(s.call({ type: 'register_refresh', call: undefined }));
    await s.clock.advance(0);
    expect(s.apns.sent.map((x) => [x.request.token, x.request.pushType])).toEqual([[alert.token, 'alert']]);
    expect((await s.relay.report('acme', 'n-1'))?.devices.find((d) => d.bindingId === voip.id)).toMatchObject({
      status: 'skipped',
      detail: 'a register_refresh push reports no call and is never sent as a VoIP push',
    });
  });

  it('reports a codec error as rejected, naming the codec and the field', async () => {
    const s = setup();
    await s.device();
    await s.relay.notify(s.call({ vendor: { explode: true } }));
    await s.clock.advance(0);
    expect((await s.relay.report('acme', 'n-1'))?.devices[0]).toMatchObject({
      status: 'rejected',
      detail: 'plain: vendor.explode: cannot encode this',
    });
    const [rejected] = s.events.filter(([name]) => name === 'rejected').map(([, p]) => p as RelayEvents['rejected']);
    expect(rejected).toMatchObject({ codec: 'plain', field: 'vendor.explode' });
  });

  it('completes at once, with a reason, when the user has no devices', async () => {
    const s = setup();
    const { report } = await s.relay.notify(s.call());
    expect(report).toMatchObject({ status: 'completed', suppressedReason: 'no-devices', devices: [] });
  });

  it('waits for completion and hands back the final report', async () => {
    const s = setup({ random: () => 0 });
    const b = await s.device();
    s.apns.script(b.token, { kind: 'retry', reason: 'Shutdown', retryAfterMs: 2000 });
    await s.relay.notify(s.call());
    const done = s.relay.waitForCompletion('acme', 'n-1', { timeoutMs: 10_000 });
    await s.clock.advance(2000);
    expect((await done)?.devices[0]?.status).toBe('delivered');
  });

  it('keeps sends of different tenants apart', async () => {
    const s = setup();
    await s.device();
    await s.device({ tenant: 'other', token: '9'.repeat(64) });
    await s.relay.notify(s.call());
    await s.clock.advance(0);
    expect(s.apns.sent.map((x) => x.request.token)).toEqual(['a'.repeat(64)]);
    expect(await s.relay.report('other', 'n-1')).toBeUndefined();
  });
});

describe('Relay and credential throttling', () => {
  it('holds back other sends of a credential the provider throttled, not of a throttled device', async () => {
    const clock = new ManualClock(START);
    const bindings = new InMemoryBindingStore({ clock });
    const transport = new ScriptedTransport('apns', clock);
    const relay = new Relay({
      bindings,
      reports: new InMemoryReportStore(),
      queue: new InMemoryQueue({ clock, concurrency: 1 }),
      clock,
      random: () => 0,
      codecs: [plainCodec],
      transports: { apns: transport },
    });
    relay.start();
    const add = (user: string, token: string) =>
      bindings.upsert({
        tenant: 'acme',
        userId: user,
        provider: 'apns',
        token,
        app: 'x',
        environment: 'production',
        pushKind: 'voip',
        format: 'plain',
        origin: 'api',
      });
    await add('alice', 'a'.repeat(64));
    await add('bob', 'b'.repeat(64));
    await add('carol', 'c'.repeat(64));
    transport.script('a'.repeat(64), { kind: 'retry', reason: 'QUOTA', retryAfterMs: 3000, scope: 'credential' });
    transport.script('c'.repeat(64), { kind: 'retry', reason: 'TooManyRequests', retryAfterMs: 3000, scope: 'device' });
    const notify = (id: string, user: string) =>
      relay.notify(
        parseCallNotification(
          { id, type: 'incoming_call', tenant: 'acme', recipient: user, call: { id, from: { number: '1' } } },
          { now: clock.now() },
        ),
      );
    await notify('n-a', 'alice');
    await clock.advance(0);
    await notify('n-b', 'bob');
    await clock.advance(2999);
    expect(transport.sent.map((x) => [x.request.token[0], x.at - START])).toEqual([['a', 0]]);
    await clock.advance(1);
    expect(transport.sent.map((x) => [x.request.token[0], x.at - START])).toEqual([
      ['a', 0],
      ['b', 3000],
      ['a', 3000],
    ]);
    await notify('n-c', 'carol');
    await clock.advance(0);
    await notify('n-b2', 'bob');
    await clock.advance(0);
    expect(transport.sent.slice(3).map((x) => [x.request.token[0], x.at - START])).toEqual([
      ['c', 3000],
      ['b', 3000],
    ]);
  });
});
