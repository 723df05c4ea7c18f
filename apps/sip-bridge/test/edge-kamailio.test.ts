import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InMemoryBindingStore } from '@pushrelay/core';
import { getHeader, getHeaders, type SipResponse } from '@pushrelay/sip';
import {
  startApnsSimulator,
  startFcmSimulator,
  type ApnsSimulatorHandle,
  type FcmSimulator,
  type SimDelivery,
} from '@pushrelay/testkit';
import { startBridge, TOKENS, type RunningBridge } from '../src/index.js';
import type { EdgeService } from '../src/internal/edge/edge-service.js';
import { Kamailio, kamailioService } from './kamailio.js';
import { SipUa, type RegisterOptions } from './sip-ua.js';
import { eventually } from './backends.js';
import { freePort } from './support.js';

const MIZU_TOKEN = 'a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90';
const CAROL_TOKEN = 'fcm-carol-token:APA91bEdge_0123456789';
const MIZU: RegisterOptions = { headers: [{ name: 'X-MPUSH', value: `i:com.example.mizu:${MIZU_TOKEN}` }] };
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
});
