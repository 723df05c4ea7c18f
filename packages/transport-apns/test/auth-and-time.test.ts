import { startApnsSimulator, toPkcs12, type ApnsSimulatorHandle } from '@pushrelay/simulators';
import { afterEach, describe, expect, it } from 'vitest';
import { ApnsTransport } from '../src/index.js';
import { deviceToken, simTransport, voipRequest } from './helpers.js';

/** A clock that moves only when told to. */
function manualClock(start = Date.now()) {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(check()).toBe(true);
}

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});
async function simulator(options: Parameters<typeof startApnsSimulator>[0] = {}): Promise<ApnsSimulatorHandle> {
  const sim = await startApnsSimulator(options);
  cleanup.push(() => sim.close());
  return sim;
}
function tracked<T extends ApnsTransport>(t: T): T {
  cleanup.push(() => t.close());
  return t;
}

const MINUTE = 60_000;

describe('the provider token (JWT)', () => {
  it('is signed once for many sends over apps, environments and connections, and again after its lifetime', async () => {
    const clock = manualClock();
    const sim = await simulator({
      clock,
      apps: [{ bundleId: 'com.example.app' }, { bundleId: 'com.example.second' }],
    });
    const credential = { type: 'token' as const, ...sim.signingKey };
    const transport = tracked(
      new ApnsTransport({
        apps: [
          { bundleId: 'com.example.app', credential },
          { bundleId: 'com.example.second', credential },
        ],
        address: sim.host,
        port: { production: sim.productionPort, sandbox: sim.sandboxPort },
        ca: sim.ca,
        clock,
        poolSize: 2,
        maxStreamsPerConnection: 5,
      }),
    );
    sim.fault({ kind: 'slow', delayMs: 100, count: 40 });
    const outcomes = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        transport.send(
          voipRequest(i + 1, {
            app: i % 2 ? 'com.example.second' : 'com.example.app',
            environment: i % 4 < 2 ? 'production' : 'sandbox',
          }),
        ),
      ),
    );
    expect(outcomes.filter((o) => o.kind !== 'delivered')).toEqual([]);
    // Two connections per environment carried them, all with one token.
    expect(sim.connections().opened).toBe(4);
    const iat = Math.floor(clock.now() / 1000);
    expect(sim.providerTokens()).toEqual([{ keyId: sim.signingKey.keyId, iat, requests: 40 }]);

    clock.advance(49 * MINUTE);
    expect((await transport.send(voipRequest(50))).kind).toBe('delivered');
    expect(sim.providerTokens()).toEqual([{ keyId: sim.signingKey.keyId, iat, requests: 41 }]);

    clock.advance(1 * MINUTE);
    for (let i = 0; i < 5; i++) expect((await transport.send(voipRequest(60 + i))).kind).toBe('delivered');
    expect(sim.providerTokens()).toEqual([
      { keyId: sim.signingKey.keyId, iat, requests: 41 },
      { keyId: sim.signingKey.keyId, iat: iat + 50 * 60, requests: 5 },
    ]);
  });

  it('is signed again for the next send after APNs answers ExpiredProviderToken', async () => {
    const clock = manualClock();
    let simAhead = 0;
    const sim = await simulator({ clock: { now: () => clock.now() + simAhead } });
    const transport = tracked(simTransport(sim, { clock }));
    expect((await transport.send(voipRequest(1))).kind).toBe('delivered');
    // APNs' clock runs ahead: to it the token is over an hour old.
    clock.advance(30 * MINUTE);
    simAhead = 31 * MINUTE;
    expect(await transport.send(voipRequest(2))).toEqual({ kind: 'retry', reason: 'ExpiredProviderToken' });
    expect((await transport.send(voipRequest(3))).kind).toBe('delivered');
    const iat = Math.floor((clock.now() - 30 * MINUTE) / 1000);
    expect(sim.providerTokens().map((t) => [t.iat, t.requests])).toEqual([
      [iat, 1],
      [iat + 30 * 60, 1],
    ]);
  });
});

describe('deadlines', () => {
  it('never issues a send whose deadline passed while it waited for a stream', async () => {
    const clock = manualClock();
    const sim = await simulator({ clock });
    const transport = tracked(simTransport(sim, { clock, maxStreamsPerConnection: 1, requestTimeoutMs: 600_000 }));
    expect((await transport.send(voipRequest(1))).kind).toBe('delivered');
    sim.fault({ kind: 'hang', token: deviceToken(2) });
    const holder = new AbortController();
    const holding = transport.send(voipRequest(2), { signal: holder.signal });
    await until(() => sim.requests({ token: deviceToken(2) }).length === 1);
    const waiting = transport.send(voipRequest(3), { deadline: clock.now() + 1000 });
    clock.advance(1000);
    expect(await waiting).toEqual({ kind: 'retry', reason: 'deadline passed before sending' });
    holder.abort();
    expect(await holding).toEqual({ kind: 'retry', reason: 'aborted' });
    // The freed stream goes to the next send, not to the one whose deadline passed.
    expect((await transport.send(voipRequest(4))).kind).toBe('delivered');
    expect(sim.requests().map((r) => r.token)).toEqual([deviceToken(1), deviceToken(2), deviceToken(4)]);
  });

  it('gives up on an issued request at its deadline, and at the request timeout without one', async () => {
    const clock = manualClock();
    const sim = await simulator({ clock });
    const transport = tracked(simTransport(sim, { clock, requestTimeoutMs: 600_000 }));
    sim.fault({ kind: 'hang', count: 2 });
    const byDeadline = transport.send(voipRequest(1), { deadline: clock.now() + 5000 });
    const byTimeout = transport.send(voipRequest(2));
    await until(() => sim.requests().length === 2);
    clock.advance(5000);
    expect(await byDeadline).toEqual({ kind: 'retry', reason: 'no answer from APNs before the deadline' });
    clock.advance(600_000);
    expect(await byTimeout).toEqual({ kind: 'retry', reason: 'no answer from APNs in time' });
    expect(sim.deliveries()).toEqual([]);
  });

  it('hands a freed stream to the next waiting send whose deadline has not passed', async () => {
    const clock = manualClock();
    const sim = await simulator({ clock });
    const transport = tracked(simTransport(sim, { clock, maxStreamsPerConnection: 1 }));
    expect((await transport.send(voipRequest(1))).kind).toBe('delivered');
    sim.fault({ kind: 'hang', token: deviceToken(2) });
    const holder = new AbortController();
    const holding = transport.send(voipRequest(2), { signal: holder.signal });
    await until(() => sim.requests().length === 2);
    const late = transport.send(voipRequest(3), { deadline: clock.now() + 10 });
    const onTime = transport.send(voipRequest(4), { deadline: clock.now() + 60_000 });
    clock.advance(10);
    holder.abort();
    expect(await holding).toEqual({ kind: 'retry', reason: 'aborted' });
    expect(await late).toEqual({ kind: 'retry', reason: 'deadline passed before sending' });
    expect((await onTime).kind).toBe('delivered');
    expect(sim.requests({ token: deviceToken(3) })).toEqual([]);
  });
});

describe('close', () => {
  it('answers retry to a send made while closing, and lets the sends under way finish', async () => {
    const sim = await simulator();
    const transport = simTransport(sim);
    sim.fault({ kind: 'slow', delayMs: 200 });
    const pending = transport.send(voipRequest(1));
    await until(() => sim.requests().length > 0 || sim.connections().open > 0);
    const closed = transport.close();
    expect(await transport.send(voipRequest(2))).toEqual({ kind: 'retry', reason: 'transport is closing' });
    expect((await pending).kind).toBe('delivered');
    await closed;
    expect(await transport.send(voipRequest(3))).toEqual({ kind: 'retry', reason: 'transport is closing' });
    expect(sim.requests({ token: deviceToken(2) })).toEqual([]);
    await until(() => sim.connections().open === 0);
  });
});

describe('apps, credentials and environments', () => {
  it('serves token and certificate apps in both environments, token apps of one key on shared connections', async () => {
    const sim = await simulator({
      apps: [{ bundleId: 'com.example.app' }, { bundleId: 'com.example.second' }, { bundleId: 'com.example.cert' }],
    });
    const token = { type: 'token' as const, ...sim.signingKey };
    const cert = sim.issueClientCertificate('com.example.cert', 'both');
    const sandboxOnly = sim.issueClientCertificate('com.example.cert', 'sandbox');
    const transport = tracked(
      new ApnsTransport({
        apps: [
          { bundleId: 'com.example.app', credential: token },
          { bundleId: 'com.example.second', credential: token },
          {
            bundleId: 'com.example.cert',
            production: { type: 'certificate', ...cert },
            sandbox: { type: 'certificate', ...sandboxOnly },
          },
        ],
        address: sim.host,
        port: { production: sim.productionPort, sandbox: sim.sandboxPort },
        ca: sim.ca,
      }),
    );
    let i = 0;
    for (const app of ['com.example.app', 'com.example.second', 'com.example.cert']) {
      for (const environment of ['production', 'sandbox'] as const) {
        expect(await transport.send(voipRequest(++i, { app, environment }))).toEqual({
          kind: 'delivered',
          providerId: expect.stringMatching(/^[0-9a-f-]{36}$/),
        });
      }
    }
    expect(sim.deliveries().map((d) => [d.headers['apns-topic'], d.environment])).toEqual([
      ['com.example.app.voip', 'production'],
      ['com.example.app.voip', 'sandbox'],
      ['com.example.second.voip', 'production'],
      ['com.example.second.voip', 'sandbox'],
      ['com.example.cert.voip', 'production'],
      ['com.example.cert.voip', 'sandbox'],
    ]);
    // The token key: one connection per environment for both apps; the certificates: their own.
    expect(sim.connections().opened).toBe(4);
  });

  it('authenticates with a PKCS#12 certificate and refuses one whose passphrase is wrong', async () => {
    const sim = await simulator();
    const pfx = toPkcs12(sim.issueClientCertificate('com.example.app', 'both'), 'secret');
    const transport = tracked(
      new ApnsTransport({
        apps: [{ bundleId: 'com.example.app', credential: { type: 'pkcs12', pfx, passphrase: 'secret' } }],
        address: sim.host,
        port: { production: sim.productionPort, sandbox: sim.sandboxPort },
        ca: sim.ca,
      }),
    );
    for (const environment of ['production', 'sandbox'] as const) {
      expect((await transport.send(voipRequest(environment === 'sandbox' ? 2 : 1, { environment }))).kind).toBe(
        'delivered',
      );
    }
    expect(sim.deliveries().map((d) => d.environment)).toEqual(['production', 'sandbox']);
    expect(
      () =>
        new ApnsTransport({
          apps: [{ bundleId: 'com.example.app', credential: { type: 'pkcs12', pfx, passphrase: 'wrong' } }],
          address: sim.host,
          port: sim.productionPort,
          ca: sim.ca,
        }),
    ).toThrow(expect.objectContaining({ field: 'apps[0].credential' }));
  });

  it('answers retry when APNs cannot be reached, after trying again on new connections', async () => {
    const sim = await simulator();
    const port = sim.productionPort;
    await sim.close();
    const transport = tracked(
      new ApnsTransport({
        apps: [{ bundleId: 'com.example.app', credential: { type: 'token', ...sim.signingKey } }],
        address: '127.0.0.1',
        port,
        ca: sim.ca,
        maxResends: 2,
      }),
    );
    const outcome = await transport.send(voipRequest(1));
    expect(outcome).toEqual({
      kind: 'retry',
      reason: expect.stringMatching(/^cannot connect to APNs: .*ECONNREFUSED/),
    });
  });
});
