import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallNotification } from '@pushrelay/core';
import { BullMQQueue } from '@pushrelay/queue-bullmq';
import { startFcmSimulator, type FcmSimulator, type SimDelivery } from '@pushrelay/simulators';
import { startBridge, TOKENS, type RunningBridge } from '../src/index.js';
import { eventually, POSTGRES_URL, postgresService, REDIS_URL, redisService, TestBackends } from './backends.js';
import { CALLER, TestPhone } from './phone.js';

const TOKEN = 'fcm-alice-token:APA91bEngines_0123456789';
// RFC 8599 parameters (ECSS-10 format): its codec also writes the missed_calls summary.
const PUSH = {
  contactParams: `;pn-provider=fcm;pn-param=engines-project;pn-prid=${TOKEN}`,
  headerParams: ';+sip.instance="<urn:uuid:6f2c1a3e-0000-4000-8000-0000000e0a1c>"',
};

describe.skipIf(!redisService.available || !postgresService.available)(
  'sip-bridge on PostgreSQL, BullMQ and Redis by config',
  () => {
    const backends = new TestBackends('test');
    const { prefix, schema, redis, db } = backends;
    const phones: TestPhone[] = [];
    const accepted: CallNotification[] = [];
    let fcmSim: FcmSimulator;
    let bridge: RunningBridge | undefined;

    beforeAll(async () => {
      await backends.connect();
      fcmSim = await startFcmSimulator();
      bridge = await startBridge({
        config: {
          domain: '127.0.0.1',
          listen: { host: '127.0.0.1', port: 0, tcp: false },
          users: [{ username: 'alice', password: 'wonderland' }, CALLER],
          calls: { ringTimeoutMs: 5000, pushWaitMs: 1000 },
          metrics: null,
          log: { level: 'silent' },
          shutdownTimeoutMs: 3000,
          store: { engine: 'postgres', url: POSTGRES_URL, schema },
          queue: { engine: 'bullmq', redis: REDIS_URL, prefix, concurrency: 4 },
          ephemeral: { engine: 'redis', redis: REDIS_URL, prefix },
          fcm: {
            credentials: [{ serviceAccount: fcmSim.createServiceAccount('engines-project') }],
            baseUrl: fcmSim.baseUrl,
            ca: fcmSim.ca,
          },
        },
      });
      bridge.relay.events.on('accepted', ({ notification }) => accepted.push(notification));
    }, 30_000);

    afterAll(async () => {
      for (const p of phones) await p.close();
      await bridge?.stop();
      await fcmSim?.close();
      await backends.drop();
    }, 30_000);

    async function phone(): Promise<TestPhone> {
      const p = await TestPhone.start(bridge!.sip.port);
      phones.push(p);
      return p;
    }

    function delivery(n: number): Promise<SimDelivery> {
      return eventually(`FCM delivery #${n}`, () => fcmSim.deliveries({ token: TOKEN })[n - 1]);
    }

    it(
      'stores the binding in PostgreSQL, pushes through BullMQ, keeps the missed call in Redis, and leaves no Redis client on stop',
      { timeout: 30_000 },
      async () => {
        expect(bridge!.container.resolve(TOKENS.Queue)).toBeInstanceOf(BullMQQueue);

        expect((await (await phone()).register('alice', 'wonderland', PUSH)).status).toBe(200);
        const { rows } = await db.query<{ user_id: string; provider: string; token: string }>(
          `SELECT user_id, provider, token FROM "${schema}".bindings WHERE tenant = 'default'`,
        );
        expect(rows).toEqual([{ user_id: 'alice', provider: 'fcm', token: TOKEN }]);

        // Nobody comes back for the call: 480 after the push wait, and the call is remembered.
        const caller = (await phone()).asCaller();
        expect((await caller.send(caller.inviteRequest('alice', 'engines-call@127.0.0.1'))).status).toBe(480);
        expect((await delivery(1)).payload).toMatchObject({ data: { type: 'invite' } });
        const completed = await eventually('a completed BullMQ job of the call lane', async () => {
          const events = await redis.xrange(`${prefix}:sip-bridge-deliveries-call:events`, '-', '+');
          return events.find(([, fields]) => fields.includes('completed'));
        });
        expect(completed).toBeDefined();
        const missed = await eventually('the missed call in Redis', async () => {
          const values = await redis.hvals(`${prefix}:missed:{default:alice}:data`);
          return values.length > 0 ? values : undefined;
        });
        expect(missed).toEqual([expect.stringContaining('"callId":"engines-call@127.0.0.1"')]);

        // The phone's next REGISTER takes the entry from Redis and pushes the summary.
        expect((await (await phone()).register('alice', 'wonderland', PUSH)).status).toBe(200);
        expect((await delivery(2)).payload).toMatchObject({ data: { type: 'missed_calls' } });
        expect(accepted.map((n) => n.type)).toEqual(['incoming_call', 'missed_calls']);
        expect(accepted[1]!.missed).toEqual([expect.objectContaining({ callId: 'engines-call@127.0.0.1' })]);
        expect(await redis.exists(`${prefix}:missed:{default:alice}:data`)).toBe(0);

        const clients = async (): Promise<string[]> =>
          ((await redis.client('LIST')) as string).split('\n').filter((line) => line.includes(` name=${prefix}:`));
        expect((await clients()).map((line) => / name=(\S+)/.exec(line)![1])).toEqual(
          expect.arrayContaining([`${prefix}:sip-bridge`, `${prefix}:sip-bridge-missed-calls`]),
        );
        await bridge!.stop();
        bridge = undefined;
        // QUIT is answered before the server drops the client: wait for CLIENT LIST to catch up.
        const left = await eventually('the bridge closing its Redis clients', async () => {
          const named = await clients();
          return named.length === 0 ? named : undefined;
        });
        expect(left).toEqual([]);
      },
    );
  },
);
