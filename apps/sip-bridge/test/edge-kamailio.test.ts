import { createSocket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InMemoryBindingStore } from '@pushrelay/core';
import { getHeader, getHeaders, type Endpoint, type SipResponse, type TransactionLayer } from '@pushrelay/sip';
import {
  startApnsSimulator,
  startFcmSimulator,
  type ApnsSimulatorHandle,
  type FcmSimulator,
  type SimDelivery,
} from '@pushrelay/simulators';
import { startBridge, TOKENS, type RunningBridge } from '../src/index.js';
import type { EdgeService } from '../src/internal/edge/edge-service.js';
import { Kamailio, kamailioService } from './kamailio.js';
import { SipUa, type RegisterOptions } from './sip-ua.js';
import { eventually } from './backends.js';
import { freePort, RecordingTransport } from './support.js';

const MIZU_TOKEN = 'a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90';
const CAROL_TOKEN = 'fcm-carol-token:APA91bEdge_0123456789';
const MIZU: RegisterOptions = { headers: [{ name: 'X-MPUSH', value: `i:com.example.mizu:${MIZU_TOKEN}` }] };
const MIZU_ERIN: RegisterOptions = { headers: [{ name: 'X-MPUSH', value: 'a:com.example.mizu:fcm-erin:APA91b' }] };
const RFC8599: RegisterOptions = {
  contactParams: `;pn-provider=fcm;pn-param=example-project;pn-prid=${CAROL_TOKEN}`,
  headerParams: ';+sip.instance="<urn:uuid:00000000-0000-4000-8000-0000000000c1>";+sip.pnsreg',
};

describe.skipIf(!kamailioService.available)('edge mode in front of Kamailio', () => {
  let kamailio: Kamailio;
  let bridge: RunningBridge;
  let edge: EdgeService;
  let apnsSim: ApnsSimulatorHandle;
  let fcmSim: FcmSimulator;
  const bindings = new InMemoryBindingStore();
  const uas: SipUa[] = [];

  beforeAll(async () => {
    apnsSim = await startApnsSimulator({ apps: [{ bundleId: 'com.example.mizu' }] });
    fcmSim = await startFcmSimulator();
    const bridgePort = await freePort();
    // Calls for users Kamailio does not know come back to the bridge: the loop case.
    kamailio = await Kamailio.start({ forwardUnknownTo: `sip:127.0.0.1:${bridgePort}` });
    bridge = await startBridge({
      config: {
        mode: 'edge',
        edge: { upstream: kamailio.uri('udp'), upstreamTimeoutMs: 5000 },
        listen: { host: '127.0.0.1', port: bridgePort },
        calls: { ringTimeoutMs: 10_000, pushWaitMs: 5000 },
        metrics: null,
        log: { level: 'silent' },
        shutdownTimeoutMs: 2000,
        apns: {
          apps: [{ bundleId: 'com.example.mizu', credential: { type: 'token', ...apnsSim.signingKey } }],
          address: apnsSim.host,
          port: { production: apnsSim.productionPort, sandbox: apnsSim.sandboxPort },
          ca: apnsSim.ca,
        },
        fcm: {
          credentials: [{ serviceAccount: fcmSim.createServiceAccount('example-project') }],
          baseUrl: fcmSim.baseUrl,
          ca: fcmSim.ca,
        },
      },
      bindings,
    });
    edge = bridge.container.resolve<EdgeService>(TOKENS.Edge);
  }, 30_000);

  afterAll(async () => {
    for (const ua of uas) await ua.close();
    await bridge?.stop();
    await kamailio?.stop();
    await apnsSim?.close();
    await fcmSim?.close();
  });

  /** A phone whose outbound proxy is the bridge. */
  async function phone(user: string, password = kamailio.password(user)): Promise<SipUa> {
    const ua = await SipUa.start({
      user,
      password,
      domain: kamailio.domain,
      outbound: { transport: 'udp', address: '127.0.0.1', port: bridge.sip.port },
    });
    uas.push(ua);
    return ua;
  }

  /** A user registered at Kamailio itself. */
  async function direct(user: string): Promise<SipUa> {
    const ua = await SipUa.start({
      user,
      password: kamailio.password(user),
      domain: kamailio.domain,
      outbound: kamailio.endpoint(),
    });
    uas.push(ua);
    expect((await ua.register()).status).toBe(200);
    return ua;
  }

  async function delivery(sim: ApnsSimulatorHandle | FcmSimulator, token: string, n: number): Promise<SimDelivery> {
    return eventually(`${sim.provider} delivery #${n}`, () => sim.deliveries({ token })[n - 1], 8000);
  }

  function challengeOf(response: SipResponse): string {
    return getHeader(response, 'WWW-Authenticate') ?? getHeader(response, 'Proxy-Authenticate') ?? '';
  }

  it('registers a Mizutech phone through the bridge: Kamailio challenges, the Path is stored, the binding only after the 200', async () => {
    const alice = await phone('alice');
    const ok = await alice.register(MIZU);
    expect(ok.status).toBe(200);
    // Kamailio's own challenge reached the phone unchanged.
    expect(alice.challenges.map((r) => r.status)).toEqual([401]);
    expect(challengeOf(alice.challenges[0]!)).toMatch(/realm="kamailio\.test"/);
    const [binding] = await kamailio.location('alice');
    expect(binding!.path).toMatch(new RegExp(`^<sip:pr[0-9a-f]{20}@127\\.0\\.0\\.1:${bridge.sip.port};lr>$`));
    expect(binding!.contact).toBe(alice.contactUri());
    const pushes = await bindings.forUser('default', 'alice');
    expect(pushes.map((b) => [b.provider, b.token, b.origin])).toEqual([['apns', MIZU_TOKEN, 'sip-x-mpush']]);
  });

  it('registers an RFC 8599 phone: pn-* stay at the bridge, the 200 carries Feature-Caps with +sip.pnsreg', async () => {
    const carol = await phone('carol');
    const ok = await carol.register({ ...RFC8599, expires: 600 });
    expect(ok.status).toBe(200);
    expect(getHeader(ok, 'Feature-Caps')).toMatch(/^\*;\+sip\.pns="apns,fcm";\+sip\.pnsreg="\d+"$/);
    // The phone sees its own Contact back, pn-* included.
    expect(getHeaders(ok, 'Contact').some((c) => c.includes(`pn-prid=${CAROL_TOKEN}`))).toBe(true);
    const [binding] = await kamailio.location('carol');
    expect(binding!.contact).toBe(carol.contactUri());
    expect(binding!.path).toMatch(/^<sip:pr[0-9a-f]{20}@127\.0\.0\.1:\d+;lr>$/);
    expect(binding!.instance).toBe('<urn:uuid:00000000-0000-4000-8000-0000000000c1>');
    const pushes = await bindings.forUser('default', 'carol');
    expect(pushes.map((b) => [b.provider, b.token, b.origin])).toEqual([['fcm', CAROL_TOKEN, 'sip-rfc8599']]);
  });

  it('pushes a call from another Kamailio user once, forwards it once after the re-REGISTER; answered, ACKed, hung up by either side', async () => {
    const bob = await direct('bob');
    const asleep = uas.filter((ua) => ua.options.user === 'alice');
    for (const [round, hangUp] of [
      [1, 'caller'],
      [2, 'callee'],
    ] as const) {
      const before = apnsSim.deliveries({ token: MIZU_TOKEN }).length;
      const calling = bob.call('alice');
      await delivery(apnsSim, MIZU_TOKEN, before + 1);
      // The push woke the app: it registers again from a new socket.
      const woken = await phone('alice');
      expect((await woken.register(MIZU)).status).toBe(200);
      const call = await calling;
      expect(call.response.status, `round ${round}`).toBe(200);
      const atPhone = await woken.nextCall();
      await atPhone.dialog!.waitForAck();
      if (hangUp === 'caller') {
        expect((await call.dialog!.bye()).status).toBe(200);
        await atPhone.dialog!.waitForBye();
      } else {
        expect((await atPhone.dialog!.bye()).status).toBe(200);
        await call.dialog!.waitForBye();
      }
      expect(woken.invites()).toHaveLength(1);
      expect(apnsSim.deliveries({ token: MIZU_TOKEN })).toHaveLength(before + 1);
    }
    // The sockets of the sleeping app got nothing: only the fresh flow was rung.
    expect(asleep.flatMap((ua) => ua.invites())).toEqual([]);
    expect([edge.pendingCount, bridge.metrics.get('sip_bridge_held_invites')]).toEqual([0, 0]);
  }, 30_000);

  it('routes a call from the woken phone out through the bridge to a Kamailio user; Kamailio authenticates it', async () => {
    const dave = await direct('dave');
    const alice = uas.filter((ua) => ua.options.user === 'alice').at(-1)!;
    const out = await alice.call('dave');
    expect(out.response.status).toBe(200);
    expect(alice.challenges.at(-1)!.status).toBe(407);
    expect(challengeOf(alice.challenges.at(-1)!)).toMatch(/realm="kamailio\.test"/);
    // The dialog keeps passing through the bridge and Kamailio.
    expect(getHeaders(out.response, 'Record-Route')).toHaveLength(2);
    const atDave = await dave.nextCall();
    await atDave.dialog!.waitForAck();
    expect((await out.dialog!.bye()).status).toBe(200);
    await atDave.dialog!.waitForBye();
  });

  it('delivers a MESSAGE for a sleeping phone after its re-REGISTER', async () => {
    const bob = await direct('bob');
    const before = fcmSim.deliveries({ token: CAROL_TOKEN }).length;
    const sending = bob.message('carol', 'are you there?');
    await delivery(fcmSim, CAROL_TOKEN, before + 1);
    const woken = await phone('carol');
    expect((await woken.register({ ...RFC8599, expires: 600 })).status).toBe(200);
    expect((await sending).status).toBe(200);
    const messages = await eventually('MESSAGE at the woken phone', () => {
      const got = woken.received.filter((r) => r.method === 'MESSAGE');
      return got.length > 0 ? got : undefined;
    });
    expect(messages.map((m) => m.body.toString())).toEqual(['are you there?']);
  });

  it('lets Kamailio refuse a wrong password and keeps no push binding for it', async () => {
    const mallory = await phone('erin', 'not-the-password');
    const refused = await mallory.register({
      headers: [{ name: 'X-MPUSH', value: 'a:com.example.mizu:fcm-token-of-mallory' }],
    });
    expect(refused.status).toBe(403);
    expect(await bindings.forUser('default', 'erin')).toEqual([]);
    expect(await kamailio.location('erin')).toEqual([]);
  });

  it('removes the push binding once Kamailio accepted the unregister', async () => {
    const erin = await phone('erin');
    expect((await erin.register(MIZU_ERIN)).status).toBe(200);
    expect(await bindings.forUser('default', 'erin')).toHaveLength(1);
    expect((await erin.unregister(MIZU_ERIN)).status).toBe(200);
    expect(await bindings.forUser('default', 'erin')).toEqual([]);
    expect(await kamailio.location('erin')).toEqual([]);
  });

  it('refuses a REGISTER whose Path already names the bridge, and a call that comes back unchanged (482)', async () => {
    const alice = await phone('alice');
    const looped = await alice.register({
      ...MIZU,
      headers: [...MIZU.headers!, { name: 'Path', value: `<sip:127.0.0.1:${bridge.sip.port};lr>` }],
    });
    expect(looped.status).toBe(482);
    // Kamailio sends calls for users it does not know to the bridge, which sent it there.
    const out = await alice.call('nobody');
    expect(out.response.status).toBe(482);
    expect(bridge.metrics.get('sip_bridge_edge_loops_total', { method: 'INVITE' })).toBe(1);
    // A call from upstream that is for no device here is not sent back.
    const bob = await direct('bob');
    expect((await bob.call('nobody')).response.status).toBe(404);
    expect(edge.pendingCount).toBe(0);
  });

  it('wakes a phone that stops refreshing before its Kamailio binding expires, keeps it callable over three expiry periods, and records when it does not come back', async () => {
    const FRANK_TOKEN = 'fcm-frank-token:APA91bExpiry_0123456789';
    const frankParams: RegisterOptions = {
      contactParams: `;pn-provider=fcm;pn-param=example-project;pn-prid=${FRANK_TOKEN}`,
      headerParams: ';+sip.instance="<urn:uuid:00000000-0000-4000-8000-0000000000f1>"',
      expires: 4,
    };
    const pushes = (type: string) =>
      fcmSim
        .deliveries({ token: FRANK_TOKEN })
        .filter((d) => (d.payload as { data?: { type?: string } }).data?.type === type);
    const first = await phone('frank');
    expect((await first.register(frankParams)).status).toBe(200);
    for (let period = 1; period <= 3; period++) {
      // Half the 4 s lifetime before expiry, a silent push asks for a fresh REGISTER...
      await eventually(`wake push #${period}`, () => pushes('register')[period - 1], 4000);
      const [binding] = await kamailio.location('frank');
      expect(binding!.expires, `period ${period}`).toBeGreaterThan(0);
      // ...and the app, woken, registers again from a new socket.
      const woken = await phone('frank');
      expect((await woken.register(frankParams)).status).toBe(200);
    }
    expect(edge.missedRefreshes().filter((r) => r.user === 'frank')).toEqual([]);
    // Still reachable after three periods: a call pushes, the woken app answers.
    const bob = await direct('bob');
    const calling = bob.call('frank');
    await eventually('call push', () => pushes('invite')[0], 4000);
    const woken = await phone('frank');
    expect((await woken.register(frankParams)).status).toBe(200);
    const call = await calling;
    expect(call.response.status).toBe(200);
    await (await woken.nextCall()).dialog!.waitForAck();
    expect((await call.dialog!.bye()).status).toBe(200);
    // Now the app ignores the next wake push: the lapse is recorded and counted.
    const [missed] = await eventually(
      'missed refresh record',
      () => {
        const records = edge.missedRefreshes().filter((r) => r.user === 'frank');
        return records.length > 0 ? records : undefined;
      },
      8000,
    );
    expect(missed).toMatchObject({ user: 'frank', reason: 'no-refresh' });
    expect(missed!.wokenAt).toBeLessThan(missed!.expiredAt);
    expect(bridge.metrics.get('sip_bridge_wake_missed_total')).toBeGreaterThanOrEqual(1);
    expect(await kamailio.location('frank')).toEqual([]);
  }, 40_000);
});

describe.skipIf(!kamailioService.available)('edge mode with an upstream that does not answer', () => {
  it('answers the phone 408 and holds nothing', async () => {
    const silent = createSocket('udp4');
    await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', () => resolve()));
    const bridge = await startBridge({
      config: {
        mode: 'edge',
        domain: 'pbx.test',
        edge: { upstream: `sip:127.0.0.1:${silent.address().port}`, upstreamTimeoutMs: 1000 },
        listen: { host: '127.0.0.1', port: 0 },
        metrics: null,
        log: { level: 'silent' },
        shutdownTimeoutMs: 1000,
      },
      transports: { apns: new RecordingTransport('apns'), fcm: new RecordingTransport('fcm') },
    });
    const ua = await SipUa.start({
      user: 'alice',
      password: 'x',
      domain: 'pbx.test',
      outbound: { transport: 'udp', address: '127.0.0.1', port: bridge.sip.port },
    });
    try {
      const edge = bridge.container.resolve<EdgeService>(TOKENS.Edge);
      const layer = bridge.container.resolve<TransactionLayer>(TOKENS.SipLayer);
      expect((await ua.register(MIZU)).status).toBe(408);
      const call = await ua.call('bob');
      expect([call.response.status, call.provisionals]).toEqual([408, [100]]);
      expect((await ua.message('bob', 'hello?')).status).toBe(408);
      expect([edge.pendingCount, layer.clientTransactionCount]).toEqual([0, 0]);
      expect(bridge.metrics.get('sip_bridge_edge_upstream_timeouts_total', { method: 'INVITE' })).toBe(1);
    } finally {
      await ua.close();
      await bridge.stop();
      silent.close();
    }
  }, 20_000);
});

describe.skipIf(!kamailioService.available)('edge mode in front of a registrar without Path', () => {
  it('registers a Contact alias of the bridge, and maps a call for it back to the woken phone', async () => {
    const kamailio = await Kamailio.start({ path: 'ignored' });
    const apns = new RecordingTransport('apns');
    const bridge = await startBridge({
      config: {
        mode: 'edge',
        edge: { upstream: kamailio.uri('udp'), pathSupport: false },
        listen: { host: '127.0.0.1', port: 0 },
        calls: { ringTimeoutMs: 10_000, pushWaitMs: 5000 },
        metrics: null,
        log: { level: 'silent' },
        shutdownTimeoutMs: 1000,
      },
      transports: { apns, fcm: new RecordingTransport('fcm') },
    });
    const uas: SipUa[] = [];
    const ua = async (outbound: number | 'kamailio', user: string): Promise<SipUa> => {
      const created = await SipUa.start({
        user,
        password: kamailio.password(user),
        domain: kamailio.domain,
        outbound:
          outbound === 'kamailio' ? kamailio.endpoint() : { transport: 'udp', address: '127.0.0.1', port: outbound },
      });
      uas.push(created);
      return created;
    };
    try {
      const alice = await ua(bridge.sip.port, 'alice');
      const ok = await alice.register(MIZU);
      expect(ok.status).toBe(200);
      // The phone sees its own Contact in the 200; Kamailio holds the alias and no Path.
      expect(getHeaders(ok, 'Contact')).toEqual([`<${alice.contactUri()}>;expires=3600`]);
      const [binding] = await kamailio.location('alice');
      expect(binding!.contact).toMatch(new RegExp(`^sip:pr[0-9a-f]{20}@127\\.0\\.0\\.1:${bridge.sip.port}$`));
      expect(binding!.path).toBeUndefined();

      const bob = await ua('kamailio', 'bob');
      expect((await bob.register()).status).toBe(200);
      const calling = bob.call('alice');
      await apns.waitFor((r) => r.token === MIZU_TOKEN, 5000);
      const woken = await ua(bridge.sip.port, 'alice');
      expect((await woken.register(MIZU)).status).toBe(200);
      const call = await calling;
      expect(call.response.status).toBe(200);
      const atPhone = await woken.nextCall();
      expect(atPhone.request.uri).toBe(woken.contactUri());
      await atPhone.dialog!.waitForAck();
      expect((await atPhone.dialog!.bye()).status).toBe(200);
      await call.dialog!.waitForBye();
      expect(apns.sent).toHaveLength(1);
    } finally {
      for (const created of uas) await created.close();
      await bridge.stop();
      await kamailio.stop();
    }
  }, 30_000);
});

describe.skipIf(!kamailioService.available)('edge mode over TCP through an outbound proxy, pn-* forwarded', () => {
  it('registers and calls through Kamailio as the outbound proxy, with the pn-* parameters going upstream', async () => {
    const kamailio = await Kamailio.start();
    const fcm = new RecordingTransport('fcm');
    const bridge = await startBridge({
      config: {
        mode: 'edge',
        edge: {
          // Only the outbound proxy has to resolve; the registrar's name is its business.
          upstream: `sip:${kamailio.domain};transport=tcp`,
          outboundProxy: kamailio.uri('tcp'),
          forwardPushParams: true,
        },
        listen: { host: '127.0.0.1', port: 0 },
        calls: { ringTimeoutMs: 10_000, pushWaitMs: 5000 },
        metrics: null,
        log: { level: 'silent' },
        shutdownTimeoutMs: 1000,
      },
      transports: { apns: new RecordingTransport('apns'), fcm },
    });
    const uas: SipUa[] = [];
    const ua = async (outbound: Endpoint, user: string): Promise<SipUa> => {
      const created = await SipUa.start({ user, password: kamailio.password(user), domain: kamailio.domain, outbound });
      uas.push(created);
      return created;
    };
    const viaBridge: Endpoint = { transport: 'udp', address: '127.0.0.1', port: bridge.sip.port };
    try {
      const carol = await ua(viaBridge, 'carol');
      expect((await carol.register(RFC8599)).status).toBe(200);
      const [binding] = await kamailio.location('carol');
      expect(binding!.contact).toBe(carol.contactUri(RFC8599.contactParams));
      expect(binding!.path).toMatch(/;transport=tcp;lr>$/);

      const bob = await ua(kamailio.endpoint(), 'bob');
      expect((await bob.register()).status).toBe(200);
      const calling = bob.call('carol');
      await fcm.waitFor((r) => r.token === CAROL_TOKEN, 5000);
      const woken = await ua(viaBridge, 'carol');
      expect((await woken.register(RFC8599)).status).toBe(200);
      const call = await calling;
      expect(call.response.status).toBe(200);
      const atPhone = await woken.nextCall();
      // The phone gets its Contact without the pn-* parameters, as RFC 8599 §5.6 asks.
      expect(atPhone.request.uri).toBe(woken.contactUri());
      await atPhone.dialog!.waitForAck();
      expect((await atPhone.dialog!.bye()).status).toBe(200);
      await call.dialog!.waitForBye();
    } finally {
      for (const created of uas) await created.close();
      await bridge.stop();
      await kamailio.stop();
    }
  }, 30_000);
});
