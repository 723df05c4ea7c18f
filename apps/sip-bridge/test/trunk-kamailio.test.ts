import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getHeaders, parseVia } from '@pushrelay/sip';
import { startBridge, type RunningBridge } from '../src/index.js';
import { eventually } from './backends.js';
import { Kamailio, kamailioService } from './kamailio.js';
import { SipUa } from './sip-ua.js';
import { freePort, RecordingTransport } from './support.js';

// Registrar mode in front of a PBX: the bridge's own users (dave, erin) call Kamailio's users
// (alice, bob, carol) through Kamailio as the trunk, and Kamailio sends calls for the bridge's
// users to the bridge.
describe.skipIf(!kamailioService.available)('registrar mode with Kamailio as the trunk', () => {
  let kamailio: Kamailio;
  let bridge: RunningBridge;
  const uas: SipUa[] = [];

  beforeAll(async () => {
    const bridgePort = await freePort();
    kamailio = await Kamailio.start({
      // The bridge is Kamailio's trusted peer: its requests are not challenged, and calls for
      // users Kamailio does not know go to it.
      trustedPorts: [bridgePort],
      forwardUnknownTo: `sip:127.0.0.1:${bridgePort}`,
      // One worker, so the callee's 180 is relayed before its 200 and the test can see it.
      children: 1,
    });
    bridge = await startBridge({
      config: {
        domain: '127.0.0.1',
        listen: { host: '127.0.0.1', port: bridgePort, tcp: false },
        users: [
          { username: 'dave', password: 'dave-secret' },
          { username: 'erin', password: 'erin-secret' },
        ],
        trunk: { uri: kamailio.uri('udp') },
        metrics: null,
        log: { level: 'silent' },
        shutdownTimeoutMs: 1000,
      },
      transports: { apns: new RecordingTransport('apns') },
      sipTimers: { t1: 50, t2: 200, t4: 250, timerD: 500 },
    });
  }, 30_000);

  afterAll(async () => {
    for (const ua of uas) await ua.close();
    await bridge?.stop();
    await kamailio?.stop();
  });

  async function atBridge(user: string): Promise<SipUa> {
    const ua = await SipUa.start({
      user,
      password: `${user}-secret`,
      domain: '127.0.0.1',
      outbound: { transport: 'udp', address: '127.0.0.1', port: bridge.sip.port },
    });
    uas.push(ua);
    expect((await ua.register()).status).toBe(200);
    return ua;
  }

  async function atKamailio(user: string): Promise<SipUa> {
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

  async function idle(): Promise<void> {
    await eventually(
      `the bridge back to idle (now ${JSON.stringify(bridge.load())})`,
      () => {
        const load = bridge.load();
        return load.serverTransactions + load.clientTransactions + load.timers + load.calls + load.inFlight === 0
          ? true
          : undefined;
      },
      10_000,
    );
  }

  it('a call from a bridge user to a Kamailio user goes out through the trunk, and is hung up from both ends', async () => {
    const dave = await atBridge('dave');
    const bob = await atKamailio('bob');

    // The bridge challenges dave (407), then sends the call to Kamailio, which rings bob.
    const first = await dave.call('bob');
    expect(first.response.status).toBe(200);
    expect(first.provisionals).toContain(180);
    const [invite] = bob.invites();
    const vias = getHeaders(invite!, 'Via').map(parseVia);
    expect(vias.map((v) => v.port)).toEqual([kamailio.port, bridge.sip.port, dave.port]);
    expect(getHeaders(invite!, 'Record-Route')).toEqual([
      expect.stringContaining(`127.0.0.1:${kamailio.port}`),
      `<sip:127.0.0.1:${bridge.sip.port};lr>`,
    ]);
    // Nothing of dave's answer to the bridge's challenge reached Kamailio's side.
    expect(getHeaders(invite!, 'Proxy-Authorization')).toEqual([]);
    const incoming = await bob.nextCall();
    await incoming.dialog!.waitForAck();
    // bob hangs up: Kamailio -> bridge -> dave.
    expect((await incoming.dialog!.bye()).status).toBe(200);
    await first.dialog!.waitForBye();

    // Again, and dave hangs up: bridge -> Kamailio -> bob.
    const second = await dave.call('bob');
    expect(second.response.status).toBe(200);
    const answered = await bob.nextCall();
    await answered.dialog!.waitForAck();
    expect((await second.dialog!.bye()).status).toBe(200);
    await answered.dialog!.waitForBye();
    expect(bridge.metrics.get('sip_bridge_trunk_requests_total', { method: 'INVITE' })).toBe(2);
    await idle();
  }, 30_000);

  it('a call from a Kamailio user to a bridge user comes in from the trunk without a challenge', async () => {
    const erin = await atBridge('erin');
    const carol = await atKamailio('carol');
    const before = bridge.metrics.get('sip_bridge_inbound_trunk_requests_total', { how: 'address' });
    const challengesBefore = bridge.metrics.get('sip_bridge_request_rejections_total', {
      method: 'INVITE',
      status: '407',
    });

    // Kamailio challenges carol, knows no erin, and hands the call to the bridge.
    const call = await carol.call('erin');
    expect(call.response.status).toBe(200);
    expect(bridge.metrics.get('sip_bridge_inbound_trunk_requests_total', { how: 'address' }) - before).toBe(1);
    expect(bridge.metrics.get('sip_bridge_request_rejections_total', { method: 'INVITE', status: '407' })).toBe(
      challengesBefore,
    );
    const ringing = await erin.nextCall();
    await ringing.dialog!.waitForAck();
    expect(erin.invites()).toHaveLength(1);
    expect((await call.dialog!.bye()).status).toBe(200);
    await ringing.dialog!.waitForBye();
    await idle();
  }, 30_000);

  it('a stranger who is not the trunk cannot call a bridge user without credentials', async () => {
    await atBridge('erin');
    const stranger = await SipUa.start({
      user: 'mallory',
      password: 'x',
      domain: '127.0.0.1',
      outbound: { transport: 'udp', address: '127.0.0.1', port: bridge.sip.port },
    });
    uas.push(stranger);
    // mallory answers the 407 with credentials the bridge does not know.
    expect((await stranger.call('erin')).response.status).toBe(403);
    await idle();
  }, 30_000);
});
