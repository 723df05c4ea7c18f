import { createServer, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { InMemoryBindingStore, type CallNotification } from '@pushrelay/core';
import { createCancel, getHeader, getHeaders, type SipResponse } from '@pushrelay/sip';
import { startBridge, type RunningBridge } from '../src/index.js';
import { CALLER, TestPhone } from './phone.js';
import { freePort, RecordingTransport } from './support.js';

const TOKEN = 'aa00bb11cc22dd33ee44ff5566778899aa00bb11cc22dd33ee44ff5566778899';
const INSTANCE = ';+sip.instance="<urn:uuid:6f2c1a3e-0000-4000-8000-00000000a11c>"';

interface Harness {
  bridge: RunningBridge;
  apns: RecordingTransport;
  fcm: RecordingTransport;
  bindings: InMemoryBindingStore;
  accepted: CallNotification[];
  phones: TestPhone[];
  phone(): Promise<TestPhone>;
}

let current: Harness | undefined;
afterEach(async () => {
  for (const p of current?.phones ?? []) await p.close();
  await current?.bridge.stop();
  current = undefined;
});

async function harness(calls: { ringTimeoutMs?: number; pushWaitMs?: number } = {}): Promise<Harness> {
  const apns = new RecordingTransport('apns');
  const fcm = new RecordingTransport('fcm');
  const bindings = new InMemoryBindingStore();
  const bridge = await startBridge({
    config: {
      domain: '127.0.0.1',
      listen: { host: '127.0.0.1', port: 0, tcp: false },
      users: [{ username: 'alice', password: 'wonderland' }, CALLER],
      calls: { ringTimeoutMs: calls.ringTimeoutMs ?? 10_000, pushWaitMs: calls.pushWaitMs ?? 5000 },
      metrics: null,
      log: { level: 'silent' },
      shutdownTimeoutMs: 1000,
    },
    transports: { apns, fcm },
    bindings,
  });
  const accepted: CallNotification[] = [];
  bridge.relay.events.on('accepted', ({ notification }) => accepted.push(notification));
  const h: Harness = {
    bridge,
    apns,
    fcm,
    bindings,
    accepted,
    phones: [],
    phone: async () => {
      const p = await TestPhone.start(bridge.sip.port);
      h.phones.push(p);
      return p;
    },
  };
  current = h;
  return h;
}

function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const start = Date.now();
  return new Promise((resolve, reject) => {
    const tick = (): void => {
      if (check()) resolve();
      else if (Date.now() - start > timeoutMs) reject(new Error('condition not met in time'));
      else setTimeout(tick, 10);
    };
    tick();
  });
}

describe('registrar', () => {
  it('accepts a SHA-256 digest answer, stores an RFC 8599 push binding and advertises Feature-Caps', async () => {
    const h = await harness();
    const phone = await h.phone();
    const response = await phone.register('alice', 'wonderland', {
      contactParams: `;pn-provider=apns;pn-param=ABCD1234.com.example.app.voip;pn-prid=${TOKEN}`,
      headerParams: INSTANCE,
      algorithm: 'SHA-256',
    });
    expect(response.status).toBe(200);
    expect(getHeader(response, 'Feature-Caps')).toBe('*;+sip.pns="apns,fcm"');
    expect(getHeaders(response, 'Contact')).toEqual([
      `<sip:alice@127.0.0.1:${phone.port};pn-provider=apns;pn-param=ABCD1234.com.example.app.voip;pn-prid=${TOKEN}>;expires=3600`,
    ]);
    const [binding, ...others] = await h.bindings.forUser('default', 'alice');
    expect(others).toEqual([]);
    expect(binding).toMatchObject({
      provider: 'apns',
      token: TOKEN,
      app: 'com.example.app',
      pushKind: 'voip',
      format: 'ecss',
      origin: 'sip-rfc8599',
      sipInstance: '<urn:uuid:6f2c1a3e-0000-4000-8000-00000000a11c>',
      params: { 'pn-param': 'ABCD1234.com.example.app.voip' },
    });
  });

  it('accepts MD5 too, and refuses a wrong password with 403', async () => {
    const h = await harness();
    const phone = await h.phone();
    expect((await phone.register('alice', 'wonderland', { algorithm: 'MD5' })).status).toBe(200);
    expect((await phone.register('alice', 'looking-glass', { algorithm: 'MD5' })).status).toBe(403);
  });

  it('answers 555 with Feature-Caps for an unsupported pn-provider and 400 for a broken X-MPUSH', async () => {
    const h = await harness();
    const phone = await h.phone();
    const unsupported = await phone.register('alice', 'wonderland', {
      contactParams: ';pn-provider=webpush;pn-prid=abc',
    });
    expect([unsupported.status, unsupported.reason]).toEqual([555, 'Push Notification Service Not Supported']);
    expect(getHeader(unsupported, 'Feature-Caps')).toBe('*;+sip.pns="apns,fcm"');
    const broken = await phone.register('alice', 'wonderland', {
      headers: [{ name: 'X-MPUSH', value: 'i:com.example.app' }],
    });
    expect(broken.status).toBe(400);
    expect(await h.bindings.forUser('default', 'alice')).toEqual([]);
  });

  it('replaces the binding of the same +sip.instance on a token change and removes it on Expires: 0', async () => {
    const h = await harness();
    const phone = await h.phone();
    const params = (token: string) => `;pn-provider=fcm;pn-param=example-project;pn-prid=${token}`;
    await phone.register('alice', 'wonderland', { contactParams: params('old-token'), headerParams: INSTANCE });
    await phone.register('alice', 'wonderland', { contactParams: params('new-token'), headerParams: INSTANCE });
    expect((await h.bindings.forUser('default', 'alice')).map((b) => b.token)).toEqual(['new-token']);
    const removed = await phone.register('alice', 'wonderland', {
      contactParams: params('new-token'),
      headerParams: INSTANCE,
      expires: 0,
    });
    expect(removed.status).toBe(200);
    expect(getHeaders(removed, 'Contact')).toEqual([]);
    expect(await h.bindings.forUser('default', 'alice')).toEqual([]);
  });

  it('matches a Mizutech re-REGISTER from another port by its token, never by host:port', async () => {
    const h = await harness();
    const mpush = [{ name: 'X-MPUSH', value: `i:com.example.mizu:${TOKEN}` }];
    await (await h.phone()).register('alice', 'wonderland', { headers: mpush });
    const moved = await h.phone();
    const response = await moved.register('alice', 'wonderland', { headers: mpush });
    expect(getHeaders(response, 'Contact')).toEqual([`<sip:alice@127.0.0.1:${moved.port}>;expires=3600`]);
    expect(await h.bindings.forUser('default', 'alice')).toHaveLength(1);
  });
});

describe('proxy', () => {
  it('holds the INVITE, pushes, and forwards it once: not on the 401 round, not on a later refresh', async () => {
    const h = await harness();
    const mpush = [{ name: 'X-MPUSH', value: `i:com.example.mizu:${TOKEN}` }];
    await (await h.phone()).register('alice', 'wonderland', { headers: mpush });
    const caller = (await h.phone()).asCaller();
    const provisional: SipResponse[] = [];
    const answered = caller.send(caller.inviteRequest('alice', 'call-1@127.0.0.1'), (r) => provisional.push(r));
    const push = await h.apns.waitFor((r) => r.token === TOKEN, 5000);
    expect(push.payload['data']).toEqual({
      ntype: 0,
      nfromusername: 'Bob Caller',
      nfrom: '+15551234567',
      nmsg: 'Incoming call from +15551234567',
      ncallid: 'call-1@127.0.0.1',
      ntousr: 'alice',
    });
    const woken = await h.phone();
    const challenge = await woken.send(woken.registerRequest('alice', { headers: mpush }));
    expect(challenge.status).toBe(401);
    await new Promise((r) => setTimeout(r, 100));
    expect(woken.invites()).toHaveLength(0);
    expect((await woken.register('alice', 'wonderland', { headers: mpush })).status).toBe(200);
    const response = await answered;
    expect(response.status).toBe(200);
    expect(provisional.map((r) => r.status)).toEqual(expect.arrayContaining([100, 180]));
    expect(getHeaders(response, 'Record-Route')).toEqual([`<sip:127.0.0.1:${h.bridge.sip.port};lr>`]);
    expect((await woken.register('alice', 'wonderland', { headers: mpush })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 100));
    expect(woken.invites()).toHaveLength(1);
    expect(woken.invites()[0]!.uri).toBe(`sip:alice@127.0.0.1:${woken.port}`);
    expect(h.accepted.map((n) => n.type)).toEqual(['incoming_call']);
  });

  it('rings a device without push parameters at once', async () => {
    const h = await harness();
    const desk = await h.phone();
    await desk.register('alice', 'wonderland');
    const caller = (await h.phone()).asCaller();
    expect((await caller.send(caller.inviteRequest('alice'))).status).toBe(200);
    expect(desk.invites()).toHaveLength(1);
    expect(h.accepted).toEqual([]);
  });

  it('relays a CANCEL to a device that is ringing and answers the caller 487', async () => {
    const h = await harness();
    const desk = await h.phone();
    desk.answer = (_invite, tx) => void tx.reply(180);
    await desk.register('alice', 'wonderland');
    const caller = (await h.phone()).asCaller();
    const invite = caller.inviteRequest('alice');
    let rang: () => void = () => {};
    const ringing = new Promise<void>((r) => (rang = r));
    const final = caller.send(invite, (r) => r.status === 180 && rang());
    await ringing;
    expect((await caller.send(createCancel(invite))).status).toBe(200);
    expect((await final).status).toBe(487);
    await until(() => desk.received.some((r) => r.method === 'CANCEL'));
    expect(desk.received.map((r) => r.method)).toEqual(['INVITE', 'CANCEL']);
  });

  it('answers 404 for an unknown user and 480 for a user with no device', async () => {
    const h = await harness();
    const caller = (await h.phone()).asCaller();
    expect((await caller.send(caller.inviteRequest('mallory'))).status).toBe(404);
    expect((await caller.send(caller.inviteRequest('alice'))).status).toBe(480);
  });

  it('turns a CANCEL before the device is back into a call_cancelled push and a missed call pushed on the next REGISTER', async () => {
    const h = await harness();
    const phone = await h.phone();
    const params = `;pn-provider=fcm;pn-param=example-project;pn-prid=${TOKEN}`;
    await phone.register('alice', 'wonderland', { contactParams: params, headerParams: INSTANCE });
    const caller = (await h.phone()).asCaller();
    const invite = caller.inviteRequest('alice', 'call-2@127.0.0.1');
    const final = caller.send(invite);
    await h.fcm.waitFor((r) => r.token === TOKEN, 5000);
    const cancelled = await caller.send(createCancel(invite));
    expect(cancelled.status).toBe(200);
    expect((await final).status).toBe(487);
    await until(() => h.accepted.some((n) => n.type === 'call_cancelled'));
    expect(
      await phone.register('alice', 'wonderland', { contactParams: params, headerParams: INSTANCE }),
    ).toMatchObject({ status: 200 });
    await until(() => h.accepted.some((n) => n.type === 'missed_calls'));
    const missed = h.accepted.find((n) => n.type === 'missed_calls')!;
    expect(missed.missed).toEqual([
      {
        callId: 'call-2@127.0.0.1',
        from: { uri: `sip:+15551234567@127.0.0.1:${caller.port}`, number: '+15551234567', displayName: 'Bob Caller' },
        at: expect.any(String),
      },
    ]);
    expect(phone.invites()).toHaveLength(0);
    await phone.register('alice', 'wonderland', { contactParams: params, headerParams: INSTANCE });
    await new Promise((r) => setTimeout(r, 100));
    expect(h.accepted.filter((n) => n.type === 'missed_calls')).toHaveLength(1);
  });

  it('answers 480 when the pushed device does not come back within the wait', async () => {
    const h = await harness({ pushWaitMs: 300 });
    await (
      await h.phone()
    ).register('alice', 'wonderland', { headers: [{ name: 'X-MPUSH', value: `a:com.example.mizu:${TOKEN}` }] });
    const caller = (await h.phone()).asCaller();
    expect((await caller.send(caller.inviteRequest('alice'))).status).toBe(480);
    expect(h.bridge.metrics.get('sip_bridge_unavailable_total')).toBe(1);
    expect(h.fcm.sent).toHaveLength(1);
  });
});

describe('startBridge failing part-way', () => {
  it('gives its SIP port back when the metrics port is taken', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const metricsPort = (taken.address() as AddressInfo).port;
    const sipPort = await freePort();
    const config = {
      domain: '127.0.0.1',
      listen: { host: '127.0.0.1', port: sipPort },
      users: [{ username: 'alice', password: 'wonderland' }, CALLER],
      metrics: { host: '127.0.0.1', port: metricsPort },
      log: { level: 'silent' as const },
    };
    try {
      await expect(startBridge({ config, transports: { apns: new RecordingTransport('apns') } })).rejects.toThrow(
        /EADDRINUSE/,
      );
    } finally {
      await new Promise<void>((resolve) => taken.close(() => resolve()));
    }
    // Had the failed start kept its SIP sockets, this one could not bind the same port.
    const bridge = await startBridge({
      config: { ...config, metrics: null },
      transports: { apns: new RecordingTransport('apns') },
    });
    try {
      expect(bridge.sip.port).toBe(sipPort);
    } finally {
      await bridge.stop();
    }
  });
});
