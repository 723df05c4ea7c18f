import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getHeader } from '@pushrelay/sip';
import { Kamailio, kamailioService } from './kamailio.js';
import { SipUa } from './sip-ua.js';

// The harness the edge and trunk tests stand on: Kamailio as a registrar, digest users, routing.
describe.skipIf(!kamailioService.available)('the Kamailio test harness', () => {
  let kamailio: Kamailio;
  const uas: SipUa[] = [];

  beforeAll(async () => {
    kamailio = await Kamailio.start({ expires: { min: 1, max: 300 } });
  }, 20_000);

  afterAll(async () => {
    for (const ua of uas) await ua.close();
    await kamailio?.stop();
  });

  async function ua(user: string, password = kamailio.password(user)): Promise<SipUa> {
    const created = await SipUa.start({ user, password, domain: kamailio.domain, outbound: kamailio.endpoint() });
    uas.push(created);
    return created;
  }

  it('challenges REGISTER, refuses a wrong password and stores a Path it is given', async () => {
    const wrong = await ua('carol', 'not-her-password');
    expect((await wrong.register()).status).toBe(403);
    expect(await kamailio.location('carol')).toEqual([]);

    const carol = await ua('carol');
    const ok = await carol.register({
      expires: 120,
      headers: [
        { name: 'Path', value: '<sip:edge@127.0.0.1:5999;lr>' },
        { name: 'Supported', value: 'path' },
      ],
    });
    expect(ok.status).toBe(200);
    const [binding] = await kamailio.location('carol');
    expect(binding).toMatchObject({ aor: 'carol', contact: carol.contactUri(), path: '<sip:edge@127.0.0.1:5999;lr>' });
    expect(binding!.expires).toBeGreaterThan(100);
    expect((await carol.unregister()).status).toBe(200);
    expect(await kamailio.location('carol')).toEqual([]);
  });

  it('refuses a Path without Supported: path (strict Path mode)', async () => {
    const carol = await ua('carol');
    const refused = await carol.register({ headers: [{ name: 'Path', value: '<sip:edge@127.0.0.1:5999;lr>' }] });
    expect(refused.status).toBe(420);
  });

  it('routes an authenticated call between registered users and ends it from either side', async () => {
    const alice = await ua('alice');
    const bob = await ua('bob');
    expect((await alice.register()).status).toBe(200);
    expect((await bob.register()).status).toBe(200);

    const first = await alice.call('bob');
    expect(first.response.status).toBe(200);
    expect(getHeader(first.invite, 'Proxy-Authorization')).toBeDefined();
    const atBob = await bob.nextCall();
    await atBob.dialog!.waitForAck();
    expect((await first.dialog!.bye()).status).toBe(200);
    await atBob.dialog!.waitForBye();

    const second = await alice.call('bob');
    expect(second.response.status).toBe(200);
    const again = await bob.nextCall();
    await again.dialog!.waitForAck();
    expect((await again.dialog!.bye()).status).toBe(200);
    await second.dialog!.waitForBye();
  });

  it('answers 404 for a user without a binding', async () => {
    const alice = await ua('alice');
    const result = await alice.call('nobody');
    expect(result.response.status).toBe(404);
  });
});

describe.skipIf(!kamailioService.available)('the Kamailio test harness as a trunk peer', () => {
  it('sends calls for users it has no binding for to the trunk, and takes the trunk peer’s calls unchallenged', async () => {
    const peer = await SipUa.start({
      user: 'trunk',
      password: 'unused',
      domain: 'kamailio.test',
      outbound: { transport: 'udp', address: '127.0.0.1', port: 9 },
    });
    const kamailio = await Kamailio.start({
      forwardUnknownTo: `sip:127.0.0.1:${peer.port}`,
      trustedPorts: [peer.port],
    });
    const alice = await SipUa.start({
      user: 'alice',
      password: kamailio.password('alice'),
      domain: kamailio.domain,
      outbound: kamailio.endpoint(),
    });
    try {
      expect((await alice.register()).status).toBe(200);
      const out = await alice.call('+15550001111');
      expect(out.response.status).toBe(200);
      const atPeer = await peer.nextCall();
      expect(atPeer.request.uri).toBe('sip:+15550001111@kamailio.test');
      expect((await out.dialog!.bye()).status).toBe(200);

      // The peer calls from the socket Kamailio trusts.
      peer.options.outbound = kamailio.endpoint();
      const inbound = await peer.call(`sip:alice@${kamailio.domain}`, {});
      expect(inbound.response.status).toBe(200);
      expect(getHeader(inbound.invite, 'Proxy-Authorization')).toBeUndefined();
      await (await alice.nextCall()).dialog!.waitForAck();
      expect((await inbound.dialog!.bye()).status).toBe(200);
    } finally {
      await alice.close();
      await peer.close();
      await kamailio.stop();
    }
  }, 20_000);
});
