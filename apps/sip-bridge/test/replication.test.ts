import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallNotification, MissedCallStore } from '@pushrelay/core';
import {
  createAckFor2xx,
  createCancel,
  createRequest,
  createTcpTransport,
  getContacts,
  getHeader,
  getHeaders,
  getVias,
  TransactionLayer,
  type SipRequest,
  type SipTransport,
  type SipResponse,
} from '@pushrelay/sip';
import { startFcmSimulator, type FcmSimulator } from '@pushrelay/simulators';
import { startBridge, TOKENS, type Device, type RunningBridge } from '../src/index.js';
import type { LocationService } from '../src/internal/locations.js';
import { locationsChannel } from '../src/internal/replication.js';
import { eventually, POSTGRES_URL, postgresService, REDIS_URL, redisService, TestBackends } from './backends.js';
import { CALLER, TestPhone } from './phone.js';
import { freePort } from './support.js';

const TOKEN = 'fcm-alice-token:APA91bReplication_0123456789';
const PUSH = {
  contactParams: `;pn-provider=fcm;pn-param=replication-project;pn-prid=${TOKEN}`,
  headerParams: ';+sip.instance="<urn:uuid:6f2c1a3e-0000-4000-8000-00000000b21d>"',
};
const DEVICE_KEY = 'instance:<urn:uuid:6f2c1a3e-0000-4000-8000-00000000b21d>';

/** A phone listening over TCP on `host`: answers an INVITE 200 with its Contact, and anything else 200. */
async function tcpPhone(user: string, host: string): Promise<{ tcp: SipTransport; received: SipRequest[] }> {
  const tcp = await createTcpTransport({ host, port: 0 });
  const received: SipRequest[] = [];
  // Serves the transport's incoming messages from its construction on.
  new TransactionLayer({
    transports: [tcp],
    onRequest: (request, tx) => {
      received.push(request);
      if (request.method === 'INVITE' && tx) {
        tx.reply(200, 'OK', {
          headers: [{ name: 'Contact', value: `<sip:${user}@${host}:${tcp.local.port};transport=tcp>` }],
        });
      } else if (tx) tx.reply(200);
    },
  });
  return { tcp, received };
}

describe.skipIf(!redisService.available || !postgresService.available)(
  'sip-bridge processes sharing Redis replicate registrations',
  () => {
    const backends = new TestBackends('repl');
    const { prefix, schema, redis } = backends;
    const scope = { tenant: 'default', domain: '127.0.0.1' };
    const channel = locationsChannel({ prefix, ...scope });
    /** A message as another bridge process of this deployment publishes it. */
    const peerEvent = (kind: string, device: unknown): string =>
      JSON.stringify({ v: 1, from: 'another-process', ...scope, kind, device });
    const phones: TestPhone[] = [];
    const accepted: CallNotification[] = [];
    let fcmSim: FcmSimulator;
    let a: RunningBridge | undefined;
    let b: RunningBridge | undefined;

    function start(tenant = 'default'): Promise<RunningBridge> {
      return startBridge({
        config: {
          domain: '127.0.0.1',
          tenant,
          listen: { host: '127.0.0.1', port: 0 },
          users: [
            { username: 'alice', password: 'wonderland' },
            { username: 'carol', password: 'looking-glass' },
            { username: 'dave', password: 'through' },
            { username: 'erin', password: 'pool-of-tears' },
            { username: 'frank', password: 'caucus-race' },
            CALLER,
          ],
          calls: { ringTimeoutMs: 10_000, pushWaitMs: 8000 },
          metrics: null,
          log: { level: 'silent' },
          shutdownTimeoutMs: 3000,
          store: { engine: 'postgres', url: POSTGRES_URL, schema },
          queue: { engine: 'bullmq', redis: REDIS_URL, prefix, concurrency: 4 },
          ephemeral: { engine: 'redis', redis: REDIS_URL, prefix },
          fcm: {
            credentials: [{ serviceAccount: fcmSim.createServiceAccount('replication-project') }],
            baseUrl: fcmSim.baseUrl,
            ca: fcmSim.ca,
          },
        },
      });
    }

    beforeAll(async () => {
      await backends.connect();
      fcmSim = await startFcmSimulator();
      // One after the other: both would otherwise race to create the schema.
      a = await start();
      b = await start();
      for (const bridge of [a, b])
        bridge.relay.events.on('accepted', ({ notification }) => accepted.push(notification));
      // Pub/sub keeps nothing for a subscriber that is not there yet.
      await eventually('both bridges subscribed', async () => {
        const [, count] = (await redis.pubsub('NUMSUB', channel)) as [string, number];
        return Number(count) >= 2 ? true : undefined;
      });
      // A publisher has no offline queue: an event published before it is connected is dropped.
      await eventually('both publishers connected', async () =>
        (await replicationConnections()).length >= 4 ? true : undefined,
      );
    }, 30_000);

    afterAll(async () => {
      for (const p of phones) await p.close();
      await Promise.all([a?.stop(), b?.stop()]);
      await fcmSim?.close();
      await backends.drop();
    }, 30_000);

    async function phone(bridge: RunningBridge): Promise<TestPhone> {
      const p = await TestPhone.start(bridge.sip.port);
      phones.push(p);
      return p;
    }

    const replicationConnections = async (): Promise<string[]> =>
      ((await redis.client('LIST')) as string)
        .split('\n')
        .filter((line) => line.includes(` name=${prefix}:sip-bridge-locations`));
    const locations = (bridge: RunningBridge): LocationService =>
      bridge.container.resolve<LocationService>(TOKENS.Locations);
    const invalid = (bridge: RunningBridge): number =>
      bridge.metrics.get('sip_bridge_location_events_total', { direction: 'received', kind: 'invalid' });

    function bye(invite: SipRequest, answer: SipResponse, caller: TestPhone): SipRequest {
      const contacts = getContacts(answer);
      if (contacts === '*' || !contacts[0]) throw new Error('the 200 has no Contact');
      return createRequest({
        method: 'BYE',
        uri: `sip:${contacts[0].uri.user}@${contacts[0].uri.host}:${contacts[0].uri.port}`,
        from: getHeader(invite, 'From')!,
        to: getHeader(answer, 'To')!,
        callId: getHeader(invite, 'Call-ID')!,
        cseq: 2,
        via: { transport: 'UDP', host: '127.0.0.1', port: caller.port },
        headers: getHeaders(answer, 'Record-Route')
          .reverse()
          .map((value) => ({ name: 'Route', value })),
      });
    }

    it('drops malformed messages on the channel and keeps both bridges working', { timeout: 20_000 }, async () => {
      const device: Device = {
        key: 'instance:<urn:uuid:00000000-0000-4000-8000-000000000001>',
        user: 'carol',
        target: 'sip:carol@127.0.0.1:5070;transport=tcp',
        targetHost: '127.0.0.1',
        targetPort: 5070,
        contact: '<sip:carol@127.0.0.1:5070;transport=tcp>',
        flow: { transport: 'tcp', address: '127.0.0.1', port: 40123 },
        expiresAt: Date.now() + 3_600_000,
        updatedAt: Date.now(),
        push: { bindingId: 'b-1', provider: 'fcm', origin: 'sip-rfc8599' },
      };
      const event = peerEvent;
      const garbage = [
        'not json',
        '[]',
        'null',
        JSON.stringify({ v: 1 }),
        JSON.stringify({ v: 2, from: 'another-process', ...scope, kind: 'register', device }),
        JSON.stringify({ v: 1, from: 'another-process', kind: 'register', device }),
        event('refresh', device),
        event('register', { ...device, flow: { ...device.flow, transport: 'sctp' } }),
        event('register', { ...device, flow: { ...device.flow, port: 70000 } }),
        event('register', { ...device, push: { ...device.push, provider: 'mpns' } }),
        event('register', { ...device, push: { ...device.push, origin: 'elsewhere' } }),
        event('register', { ...device, expiresAt: 'tomorrow' }),
        event('register', { ...device, user: '' }),
        event('register', { ...device, extra: true }),
        event('register', { ...device, user: 'mallory' }),
        // What a peer puts in target, contact and the hosts ends up in requests sent from here.
        event('register', { ...device, target: 'sip:carol@127.0.0.1:5070\r\nX-Injected: yes' }),
        event('register', { ...device, target: 'sip:carol@127.0.0.1:5070;transport=tcp\u0000' }),
        event('register', { ...device, target: 'carol at 127.0.0.1' }),
        event('register', { ...device, target: 'tel:+15550100' }),
        event('register', { ...device, contact: '<sip:carol@127.0.0.1:5070;transport=tcp>\r\nX-Injected: yes' }),
        event('register', { ...device, contact: '<sip:carol@127.0.0.1:5070;transport=tcp' }),
        event('register', { ...device, contact: '<sip:carol@127.0.0.1:5070>\u0007' }),
        event('register', { ...device, targetHost: '127.0.0.1 evil.example' }),
        event('register', { ...device, targetHost: '127.0.0.1\r\n' }),
        event('register', { ...device, targetHost: 'sip:127.0.0.1' }),
        event('register', { ...device, flow: { ...device.flow, address: '127.0.0.1\tx' } }),
        event('register', { ...device, flow: { ...device.flow, address: 'evil host' } }),
        event('register', { ...device, flow: { ...device.flow, address: '[127.0.0.1]' } }),
        'x'.repeat(20_000),
      ];
      for (const message of garbage) await redis.publish(channel, message);
      // Published on one connection, so delivered in order: once this one is applied, the garbage was seen.
      await redis.publish(channel, event('register', device));
      for (const bridge of [a!, b!]) {
        const replicated = await eventually('the valid TCP device on both bridges', () =>
          locations(bridge).get('carol', device.key),
        );
        expect(invalid(bridge)).toBe(garbage.length);
        // A TCP flow belongs to the process that got the REGISTER: here the Contact address is dialled.
        expect(replicated.flow).toEqual({ transport: 'tcp', address: '127.0.0.1', port: 5070 });
        expect(replicated.push).toEqual(device.push);
      }
      await redis.publish(channel, event('unregister', device));
      for (const bridge of [a!, b!])
        await eventually('the TCP device removed', () =>
          locations(bridge).get('carol', device.key) ? undefined : true,
        );

      // Both still serve SIP.
      for (const bridge of [a!, b!])
        expect((await (await phone(bridge)).register('carol', 'looking-glass')).status).toBe(200);
    });

    it(
      'rings a phone that re-registered at another process from the process holding its call, once, and routes ACK and BYE through it',
      { timeout: 30_000 },
      async () => {
        const asleep = await phone(a!);
        expect((await asleep.register('alice', 'wonderland', PUSH)).status).toBe(200);
        await eventually('the device replicated to B', () => locations(b!).get('alice', DEVICE_KEY));

        const caller = (await phone(a!)).asCaller();
        const invite = caller.inviteRequest('alice', 'replication-call@127.0.0.1');
        const answered = caller.send(invite);
        const push = await eventually('the FCM push', () => fcmSim.deliveries({ token: TOKEN })[0]);
        expect(push.payload).toMatchObject({ data: { type: 'invite' } });

        const woken = await phone(b!);
        expect((await woken.register('alice', 'wonderland', PUSH)).status).toBe(200);
        const response = await answered;
        expect(response.status).toBe(200);
        expect(getHeaders(response, 'Record-Route')).toEqual([`<sip:127.0.0.1:${a!.sip.port};lr>`]);
        expect(woken.invites()).toHaveLength(1);
        expect(woken.invites()[0]!.uri).toBe(`sip:alice@127.0.0.1:${woken.port}`);
        expect(getVias(woken.invites()[0]!)[0]!.port).toBe(a!.sip.port);
        expect(asleep.invites()).toHaveLength(0);

        await caller.layer.sendRaw(
          createAckFor2xx(invite, response, { transport: 'UDP', host: '127.0.0.1', port: caller.port }),
          caller.bridge,
        );
        await eventually('the ACK at the phone', () => woken.received.find((r) => r.method === 'ACK'));
        expect((await caller.send(bye(invite, response, caller))).status).toBe(200);
        expect(woken.received.map((r) => r.method)).toEqual(['INVITE', 'ACK', 'BYE']);
        for (const request of woken.received) expect(getVias(request)[0]!.port).toBe(a!.sip.port);

        expect(a!.metrics.get('sip_bridge_forwarded_invites_total', { reason: 're-register' })).toBe(1);
        expect(b!.metrics.get('sip_bridge_forwarded_invites_total', { reason: 're-register' })).toBe(0);
        expect(b!.metrics.get('sip_bridge_forwarded_invites_total', { reason: 'direct' })).toBe(0);
        expect(a!.metrics.get('sip_bridge_calls_total', { status: '2xx' })).toBe(1);
        expect(b!.metrics.get('sip_bridge_calls_total', { status: '2xx' })).toBe(0);
        expect(accepted.map((n) => n.type)).toEqual(['incoming_call']);
        expect(fcmSim.deliveries({ token: TOKEN })).toHaveLength(1);

        // An un-REGISTER at B removes the device at A too.
        expect((await woken.register('alice', 'wonderland', { ...PUSH, expires: 0 })).status).toBe(200);
        await eventually('the device removed at A', () => (locations(a!).get('alice', DEVICE_KEY) ? undefined : true));
        expect(locations(b!).get('alice', DEVICE_KEY)).toBeUndefined();
      },
    );

    it('prunes the lapsed devices of a user it only knows from peer events', { timeout: 20_000 }, async () => {
      const base: Device = {
        key: 'uri:sip:erin@127.0.0.1:5080',
        user: 'erin',
        target: 'sip:erin@127.0.0.1:5080',
        targetHost: '127.0.0.1',
        targetPort: 5080,
        contact: '<sip:erin@127.0.0.1:5080>',
        flow: { transport: 'udp', address: '127.0.0.1', port: 5080 },
        expiresAt: Date.now() + 3_600_000,
        updatedAt: Date.now(),
      };
      const lapsed: Device = { ...base, key: 'uri:sip:erin@127.0.0.1:5081', expiresAt: Date.now() - 1000 };
      locations(b!).put(lapsed);
      await redis.publish(channel, peerEvent('register', base));
      await eventually('the peer device at B', () => locations(b!).get('erin', base.key));
      expect(locations(b!).get('erin', lapsed.key)).toBeUndefined();
      await redis.publish(channel, peerEvent('unregister', base));
      await eventually('the peer device removed at B', () => (locations(b!).get('erin', base.key) ? undefined : true));
    });

    it(
      'does not share registrations with a bridge of another tenant on the same Redis and prefix',
      { timeout: 30_000 },
      async () => {
        const other = await start('other');
        try {
          const otherScope = { prefix, tenant: 'other', domain: '127.0.0.1' };
          const otherChannel = locationsChannel(otherScope);
          await eventually("the other tenant's bridge subscribed", async () => {
            const [, count] = (await redis.pubsub('NUMSUB', otherChannel)) as [string, number];
            return Number(count) >= 1 ? true : undefined;
          });
          const p = await phone(a!);
          expect((await p.register('frank', 'caucus-race')).status).toBe(200);
          const [registered] = locations(a!).devices('frank', Date.now());
          await eventually('the device replicated to B', () => locations(b!).get('frank', registered!.key));

          // On the other tenant's channel: one event naming this tenant, then one of its own. Redis
          // had queued A's event to every subscriber before B applied it, so once the last of these is
          // applied, the other bridge has seen all of them.
          const marker: Device = { ...registered!, key: 'uri:sip:frank@127.0.0.1:5099', updatedAt: Date.now() };
          await redis.publish(otherChannel, peerEvent('register', marker));
          await redis.publish(
            otherChannel,
            JSON.stringify({
              v: 1,
              from: 'another-process',
              tenant: 'other',
              domain: '127.0.0.1',
              kind: 'register',
              device: marker,
            }),
          );
          await eventually("the other tenant's own event applied", () => locations(other).get('frank', marker.key));
          expect(locations(other).get('frank', registered!.key)).toBeUndefined();
          expect(invalid(other)).toBe(1);
        } finally {
          await other.stop();
        }
      },
    );

    it('drops a peer event older than the record it holds for that device', { timeout: 20_000 }, async () => {
      const now = Date.now();
      const held: Device = {
        key: 'uri:sip:erin@127.0.0.1:5085',
        user: 'erin',
        target: 'sip:erin@127.0.0.1:5085',
        targetHost: '127.0.0.1',
        targetPort: 5085,
        contact: '<sip:erin@127.0.0.1:5085>',
        flow: { transport: 'udp', address: '127.0.0.1', port: 5085 },
        expiresAt: now + 3_600_000,
        updatedAt: now,
      };
      const marker: Device = {
        ...held,
        key: 'uri:sip:erin@127.0.0.1:5086',
        target: 'sip:erin@127.0.0.1:5086',
        targetPort: 5086,
        contact: '<sip:erin@127.0.0.1:5086>',
      };
      const staleAtB = (): number =>
        b!.metrics.get('sip_bridge_location_events_total', { direction: 'received', kind: 'stale' });
      const staleBefore = staleAtB();
      await redis.publish(channel, peerEvent('register', held));
      await eventually('the record at B', () => locations(b!).get('erin', held.key));
      // An older register (another flow), one as old as the record, and an older unregister.
      await redis.publish(
        channel,
        peerEvent('register', { ...held, flow: { ...held.flow, port: 6000 }, updatedAt: now - 1000 }),
      );
      await redis.publish(channel, peerEvent('register', { ...held, flow: { ...held.flow, port: 6001 } }));
      await redis.publish(channel, peerEvent('unregister', { ...held, updatedAt: now - 1 }));
      // Delivered in order: once this one is applied, the others were seen.
      await redis.publish(channel, peerEvent('register', marker));
      await eventually('the marker at B', () => locations(b!).get('erin', marker.key));
      expect(locations(b!).get('erin', held.key)).toEqual(held);
      expect(staleAtB() - staleBefore).toBe(3);
      // An unregister carrying the record it removes is as old as that record: applied.
      await redis.publish(channel, peerEvent('unregister', held));
      await redis.publish(channel, peerEvent('unregister', marker));
      await eventually('both removed at B', () =>
        locations(b!).get('erin', held.key) || locations(b!).get('erin', marker.key) ? undefined : true,
      );
    });

    /** Counts the missed-calls lookups of a bridge, on its real store. */
    function countTakes(bridge: RunningBridge): { count: number } {
      const store = bridge.container.resolve<MissedCallStore>(TOKENS.MissedCallStore);
      const take = store.take.bind(store);
      const counter = { count: 0 };
      store.take = (...args) => {
        counter.count++;
        return take(...args);
      };
      return counter;
    }

    it('pushes the missed calls once, from the process that got the REGISTER', { timeout: 30_000 }, async () => {
      const before = fcmSim.deliveries({ token: TOKEN }).length;
      const asleep = await phone(a!);
      expect((await asleep.register('alice', 'wonderland', PUSH)).status).toBe(200);
      await eventually('the device replicated to B', () => locations(b!).get('alice', DEVICE_KEY));
      const caller = (await phone(a!)).asCaller();
      const invite = caller.inviteRequest('alice', 'replication-missed@127.0.0.1');
      const final = caller.send(invite);
      await eventually('the FCM push of the call', () => fcmSim.deliveries({ token: TOKEN })[before]);
      // The caller gives up before the phone is back: the call is missed.
      expect((await caller.send(createCancel(invite))).status).toBe(200);
      expect((await final).status).toBe(487);
      await eventually('the missed call in Redis', async () =>
        (await redis.exists(`${prefix}:missed:{default:alice}:data`)) ? true : undefined,
      );
      const takesAtA = countTakes(a!);
      const takesAtB = countTakes(b!);

      const woken = await phone(b!);
      expect((await woken.register('alice', 'wonderland', PUSH)).status).toBe(200);
      await eventually('the missed_calls push', () =>
        accepted.some((n) => n.type === 'missed_calls') ? true : undefined,
      );
      expect(takesAtB.count).toBe(1);
      // Once A has applied B's REGISTER, it must not have looked for missed calls itself.
      await eventually("B's REGISTER applied at A", () =>
        locations(a!).get('alice', DEVICE_KEY)?.flow.port === woken.port ? true : undefined,
      );
      expect(takesAtA.count).toBe(0);
      expect(accepted.filter((n) => n.type === 'missed_calls')).toHaveLength(1);
      expect(woken.invites()).toHaveLength(0);
    });

    it(
      'reaches a device that registered over TCP at another process, not behind NAT, through a new connection to its Contact, and fails the branch when nothing listens there',
      { timeout: 30_000 },
      async () => {
        const daveToken = 'fcm-dave-token:APA91bReplication_9876543210';
        const davePush = {
          contactParams: `;pn-provider=fcm;pn-param=replication-project;pn-prid=${daveToken}`,
          headerParams: ';+sip.instance="<urn:uuid:6f2c1a3e-0000-4000-8000-0000000ca401>"',
        };
        const key = 'instance:<urn:uuid:6f2c1a3e-0000-4000-8000-0000000ca401>';
        const asleep = await phone(a!);
        expect((await asleep.register('dave', 'through', davePush)).status).toBe(200);
        const registered = locations(a!).get('dave', key)!;

        const { tcp, received } = await tcpPhone('dave', '127.0.0.1');
        try {
          // What another process publishes for a phone that re-registered there over TCP: the flow
          // is that process's connection, the Contact is where the phone listens, on the address the
          // REGISTER came from (the phone is not behind NAT).
          const reRegisteredOverTcp = (contactPort: number): string =>
            peerEvent('register', {
              ...registered,
              target: `sip:dave@127.0.0.1:${contactPort};transport=tcp`,
              targetPort: contactPort,
              contact: `<sip:dave@127.0.0.1:${contactPort};transport=tcp>`,
              flow: { transport: 'tcp', address: '127.0.0.1', port: 1 },
              updatedAt: Date.now(),
            });

          const caller = (await phone(a!)).asCaller();
          const invite = caller.inviteRequest('dave', 'replication-tcp@127.0.0.1');
          const answered = caller.send(invite);
          await eventually('the FCM push to dave', () => fcmSim.deliveries({ token: daveToken })[0]);
          await redis.publish(channel, reRegisteredOverTcp(tcp.local.port));
          const response = await answered;
          expect(response.status).toBe(200);
          await caller.layer.sendRaw(
            createAckFor2xx(invite, response, { transport: 'UDP', host: '127.0.0.1', port: caller.port }),
            caller.bridge,
          );
          expect((await caller.send(bye(invite, response, caller))).status).toBe(200);
          expect(received.map((r) => r.method)).toEqual(['INVITE', 'ACK', 'BYE']);
          for (const request of received)
            expect(getVias(request)[0]).toMatchObject({ transport: 'TCP', port: a!.sip.port });

          const second = caller.inviteRequest('dave', 'replication-tcp-2@127.0.0.1');
          const failed = caller.send(second);
          await eventually('the second FCM push to dave', () => fcmSim.deliveries({ token: daveToken })[1]);
          await redis.publish(channel, reRegisteredOverTcp(await freePort()));
          expect((await failed).status).toBe(480);
          expect(received.filter((r) => r.method === 'INVITE')).toHaveLength(1);
        } finally {
          await tcp.close();
        }
      },
    );

    it(
      'does not ring a device that registered over TCP at another process from behind NAT, and keeps its record',
      { timeout: 30_000 },
      async () => {
        // A phone that would answer at its Contact address, which is not where its REGISTER came from.
        const { tcp, received } = await tcpPhone('erin', '127.0.0.2');
        try {
          const natted: Device = {
            key: 'instance:<urn:uuid:6f2c1a3e-0000-4000-8000-0000000e0001>',
            user: 'erin',
            target: `sip:erin@127.0.0.2:${tcp.local.port};transport=tcp`,
            targetHost: '127.0.0.2',
            targetPort: tcp.local.port,
            contact: `<sip:erin@127.0.0.2:${tcp.local.port};transport=tcp>`,
            flow: { transport: 'tcp', address: '127.0.0.1', port: 40999 },
            expiresAt: Date.now() + 3_600_000,
            updatedAt: Date.now(),
          };
          await redis.publish(channel, peerEvent('register', natted));
          const kept = await eventually('the record at A', () => locations(a!).get('erin', natted.key));
          expect(kept.flow).toEqual(natted.flow);

          const caller = (await phone(a!)).asCaller();
          expect((await caller.send(caller.inviteRequest('erin', 'replication-natted@127.0.0.1'))).status).toBe(480);
          expect(received).toEqual([]);
          expect(locations(a!).get('erin', natted.key)).toBeDefined();
          await redis.publish(channel, peerEvent('unregister', natted));
          await eventually('the record removed at A', () => (locations(a!).get('erin', natted.key) ? undefined : true));
        } finally {
          await tcp.close();
        }
      },
    );

    it('closes its replication connections on stop', { timeout: 20_000 }, async () => {
      const named = replicationConnections;
      expect((await named()).length).toBeGreaterThanOrEqual(2);
      await Promise.all([a!.stop(), b!.stop()]);
      a = b = undefined;
      expect(
        await eventually('the replication connections closed', async () =>
          (await named()).length === 0 ? [] : undefined,
        ),
      ).toEqual([]);
    });
  },
);
