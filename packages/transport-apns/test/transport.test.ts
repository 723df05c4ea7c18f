import {
  InMemoryBindingStore,
  InMemoryQueue,
  InMemoryReportStore,
  Relay,
  TransportError,
  type CallNotification,
  type Codec,
} from '@pushrelay/core';
import { startApnsSimulator, type ApnsSimulatorHandle } from '@pushrelay/simulators';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ApnsTransport, createApnsTransport } from '../src/index.js';
import { deviceToken, simTransport, voipRequest } from './helpers.js';

let sim: ApnsSimulatorHandle;
const open: ApnsTransport[] = [];
function track<T extends ApnsTransport>(t: T): T {
  open.push(t);
  return t;
}

beforeAll(async () => {
  sim = await startApnsSimulator({ apps: [{ bundleId: 'com.example.app' }, { bundleId: 'com.example.second' }] });
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
  sim.clearFaults();
  sim.clearDeliveries();
});
afterAll(() => sim.close());

describe('ApnsTransport against the APNs simulator', () => {
  it('sends VoIP by construction: .voip topic, priority 10, expiration from expiresAt', async () => {
    const transport = track(simTransport(sim));
    const outcome = await transport.send(voipRequest(1, { priority: 'normal', expiresAt: 1_800_000_000_999 }));
    expect(outcome).toEqual({ kind: 'delivered', providerId: expect.any(String) });
    const [d] = sim.deliveries();
    expect(d!.headers).toEqual({
      'apns-topic': 'com.example.app.voip',
      'apns-push-type': 'voip',
      'apns-priority': '10',
      'apns-expiration': '1800000000',
      'apns-id': (outcome as { providerId: string }).providerId,
    });
  });

  it('sends alerts to the bare topic with the request priority, and keeps an explicit .voip topic', async () => {
    const transport = track(simTransport(sim));
    await transport.send(voipRequest(2, { pushType: 'alert', priority: 'normal', collapseId: 'call-2' }));
    await transport.send(voipRequest(3, { headers: { 'apns-topic': 'com.example.app.voip' } }));
    expect(
      sim
        .deliveries()
        .map((d) => [
          d.headers['apns-topic'],
          d.headers['apns-push-type'],
          d.headers['apns-priority'],
          d.headers['apns-expiration'],
          d.headers['apns-collapse-id'],
        ]),
    ).toEqual([
      ['com.example.app', 'alert', '5', '0', 'call-2'],
      ['com.example.app.voip', 'voip', '10', '0', undefined],
    ]);
  });

  it('does not send a request whose deadline passed while it waited for a free stream', async () => {
    const transport = track(simTransport(sim, { maxStreamsPerConnection: 1, requestTimeoutMs: 600 }));
    await transport.send(voipRequest(40));
    sim.fault({ kind: 'hang', token: deviceToken(41) });
    // The only stream is held by a request APNs never answers, until the request timeout.
    const holding = transport.send(voipRequest(41));
    const waiting = transport.send(voipRequest(42), { deadline: Date.now() + 200 });
    expect(await waiting).toEqual({ kind: 'retry', reason: 'deadline passed before sending' });
    expect((await holding).kind).toBe('retry');
    expect(sim.deliveries({ token: deviceToken(42) })).toEqual([]);
    // The stream it would have used is free again.
    expect((await transport.send(voipRequest(43))).kind).toBe('delivered');
  });

  it('picks the environment from the request: sandbox and production in one process', async () => {
    const transport = track(simTransport(sim));
    await transport.send(voipRequest(4, { environment: 'sandbox' }));
    await transport.send(voipRequest(5, { environment: 'production' }));
    expect(sim.deliveries().map((d) => [d.token, d.environment])).toEqual([
      [deviceToken(4), 'sandbox'],
      [deviceToken(5), 'production'],
    ]);
  });

  it('authenticates with a client certificate, per app, next to a token-auth app', async () => {
    const cert = sim.issueClientCertificate('com.example.second', 'both');
    const transport = track(
      new ApnsTransport({
        apps: [
          { bundleId: 'com.example.app', credential: { type: 'token', ...sim.signingKey } },
          { bundleId: 'com.example.second', credential: { type: 'certificate', ...cert } },
        ],
        address: sim.host,
        port: { production: sim.productionPort, sandbox: sim.sandboxPort },
        ca: sim.ca,
      }),
    );
    const a = await transport.send(voipRequest(6, { app: 'com.example.second', environment: 'sandbox' }));
    const b = await transport.send(voipRequest(7));
    expect([a.kind, b.kind]).toEqual(['delivered', 'delivered']);
    expect(sim.deliveries().map((d) => d.headers['apns-topic'])).toEqual([
      'com.example.second.voip',
      'com.example.app.voip',
    ]);
  });

  it('maps a certificate used in the wrong environment to auth-failed', async () => {
    const cert = sim.issueClientCertificate('com.example.second', 'sandbox');
    const transport = track(
      createApnsTransport({
        apps: [{ bundleId: 'com.example.second', production: { type: 'certificate', ...cert } }],
        address: sim.host,
        port: sim.productionPort,
        ca: sim.ca,
      }),
    );
    expect(await transport.send(voipRequest(16, { app: 'com.example.second' }))).toEqual({
      kind: 'auth-failed',
      reason: 'BadCertificateEnvironment',
    });
  });

  it('maps a key APNs does not take in that environment to auth-failed', async () => {
    const sandboxKey = sim.addSigningKey({ environments: ['sandbox'] });
    const transport = track(
      new ApnsTransport({
        apps: [{ bundleId: 'com.example.app', credential: { type: 'token', ...sandboxKey } }],
        address: sim.host,
        port: { production: sim.productionPort, sandbox: sim.sandboxPort },
        ca: sim.ca,
      }),
    );
    expect(await transport.send(voipRequest(8))).toEqual({ kind: 'auth-failed', reason: 'BadEnvironmentKeyInToken' });
    expect((await transport.send(voipRequest(9, { environment: 'sandbox' }))).kind).toBe('delivered');
  });

  it('maps ExpiredProviderToken (simulator clock two hours ahead) to retry', async () => {
    const ahead = await startApnsSimulator({ clock: { now: () => Date.now() + 2 * 3600_000 } });
    const transport = simTransport(ahead);
    try {
      expect(await transport.send(voipRequest(17))).toEqual({ kind: 'retry', reason: 'ExpiredProviderToken' });
      expect(ahead.deliveries()).toEqual([]);
    } finally {
      await transport.close();
      await ahead.close();
    }
  });

  it('maps 410 to invalid-token with the time APNs gave', async () => {
    const transport = track(simTransport(sim));
    sim.unregister(deviceToken(10), Date.parse('2026-03-01T10:00:00Z'));
    expect(await transport.send(voipRequest(10))).toEqual({
      kind: 'invalid-token',
      reason: 'Unregistered',
      since: '2026-03-01T10:00:00.000Z',
    });
  });

  it('maps the simulator validation errors: topic of an unknown app is rejected', async () => {
    const transport = track(simTransport(sim));
    const outcome = await transport.send(voipRequest(11, { headers: { 'apns-topic': 'org.unknown' } }));
    expect(outcome).toEqual({ kind: 'rejected', reason: 'BadTopic' });
  });

  it('opens another connection of the pool only when the streams of the open ones run out', async () => {
    const transport = track(simTransport(sim, { poolSize: 3, maxStreamsPerConnection: 10 }));
    const before = sim.connections().opened;
    // Held long enough that no stream frees up while the 30 sends are handed out.
    sim.fault({ kind: 'slow', delayMs: 300, count: 30 });
    const outcomes = await Promise.all(Array.from({ length: 30 }, (_, i) => transport.send(voipRequest(100 + i))));
    expect(outcomes.filter((o) => o.kind !== 'delivered')).toEqual([]);
    expect(sim.connections().opened - before).toBe(3);
    // With streams to spare, everything goes on the connections already open.
    await Promise.all(Array.from({ length: 20 }, (_, i) => transport.send(voipRequest(200 + i))));
    expect(sim.connections().opened - before).toBe(3);
  });

  it('keeps one connection when its streams suffice, and waits for a stream beyond the pool', async () => {
    const transport = track(simTransport(sim, { poolSize: 1, maxStreamsPerConnection: 4 }));
    const before = sim.connections().opened;
    sim.fault({ kind: 'slow', delayMs: 100, count: 12 });
    const outcomes = await Promise.all(Array.from({ length: 12 }, (_, i) => transport.send(voipRequest(300 + i))));
    expect(outcomes.map((o) => o.kind)).toEqual(Array(12).fill('delivered'));
    expect(sim.connections().opened - before).toBe(1);
  });

  it('answers bad input with a TransportError naming the field', async () => {
    const transport = track(simTransport(sim));
    await expect(transport.send(voipRequest(12, { environment: 'staging' as 'sandbox' }))).rejects.toMatchObject({
      field: 'environment',
    });
    await expect(transport.send(voipRequest(12, { pushType: 'mdm' as 'voip' }))).rejects.toMatchObject({
      field: 'pushType',
    });
    await expect(
      transport.send(voipRequest(12, { payload: null as unknown as Record<string, unknown> })),
    ).rejects.toMatchObject({ field: 'payload' });
    expect(await transport.send(voipRequest(12, { collapseId: 'x'.repeat(65) }))).toEqual({
      kind: 'rejected',
      reason: expect.stringMatching(/^collapseId:/),
    });
    expect(() => new ApnsTransport({ apps: [] })).toThrow(TransportError);
    expect(() => new ApnsTransport({ apps: [{ bundleId: 'a' }] })).toThrow(
      expect.objectContaining({ field: 'apps[0].credential' }),
    );
    expect(
      () =>
        new ApnsTransport({
          apps: [{ bundleId: 'a', credential: { type: 'token', key: 'not a key', keyId: 'K', teamId: 'T' } }],
        }),
    ).toThrow(expect.objectContaining({ field: 'apps[0].credential' }));
    expect(sim.requests()).toEqual([]);
  });

  it('rejects an alert payload over 4096 bytes before sending, and takes a VoIP one up to 5120', async () => {
    const transport = track(simTransport(sim));
    const blob = { aps: {}, x: 'y'.repeat(4500) };
    expect((await transport.send(voipRequest(13, { pushType: 'alert', payload: blob }))).kind).toBe('rejected');
    expect((await transport.send(voipRequest(14, { payload: blob }))).kind).toBe('delivered');
    expect(sim.requests().map((r) => r.token)).toEqual([deviceToken(14)]);
  });

  it('lets the relay wait at least Retry-After before the next attempt', async () => {
    const transport = track(simTransport(sim));
    const codec: Codec = {
      id: 'plain',
      capabilities: { providers: ['apns'], decode: false },
      encode: (n, b) => ({
        provider: 'apns',
        token: b.token,
        app: b.app,
        environment: b.environment,
        pushType: 'voip',
        priority: 'high',
        expiresAt: null,
        payload: { aps: { alert: n.call?.from.displayName ?? '' } },
      }),
    };
    const bindings = new InMemoryBindingStore();
    const queue = new InMemoryQueue();
    const relay = new Relay({
      bindings,
      reports: new InMemoryReportStore(),
      queue,
      codecs: [codec],
      transports: { apns: transport },
      random: () => 0,
    });
    relay.start();
    const token = deviceToken(15);
    await bindings.upsert({
      tenant: 't',
      userId: 'bob',
      provider: 'apns',
      token,
      app: 'com.example.app',
      environment: 'production',
      pushKind: 'voip',
      format: 'plain',
      origin: 'api',
    });
    sim.fault({ kind: 'status', status: 429, reason: 'TooManyRequests', retryAfter: 1, token });
    const now = Date.now();
    const notification: CallNotification = {
      id: 'n1',
      type: 'incoming_call',
      tenant: 't',
      recipient: 'bob',
      priority: 'high',
      call: { id: 'c1', from: { displayName: 'Alice' }, video: false, startedAt: new Date(now).toISOString() },
      createdAt: new Date(now).toISOString(),
      deadline: new Date(now + 20_000).toISOString(),
    };
    await relay.notify(notification);
    await relay.waitForCompletion('t', 'n1', { timeoutMs: 10_000, pollMs: 50 });
    // Read again: the report carried by the completion event can lag the last update.
    const report = await relay.report('t', 'n1');
    await relay.close();
    expect(report?.devices[0]?.status).toBe('delivered');
    expect(report?.devices[0]?.attempts.map((a) => a.outcome)).toEqual([
      { kind: 'retry', reason: 'TooManyRequests', retryAfterMs: 1000, scope: 'device' },
      { kind: 'delivered', providerId: expect.any(String) },
    ]);
    const times = sim.requests({ token }).map((r) => [r.status, r.receivedAt]);
    expect(times.map(([s]) => s)).toEqual([429, 200]);
    expect(times[1]![1]! - times[0]![1]!).toBeGreaterThanOrEqual(1000);
  });
});
