import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '@pushrelay/core';
import { requireService } from '@pushrelay/testkit';
import { probeRedisServerBinary, startRedisServer, type RedisServer } from '@pushrelay/simulators';
import { Redis } from 'ioredis';
import type { Device } from '../src/index.js';
import { LocationService } from '../src/internal/locations.js';
import { createLogger } from '../src/internal/logger.js';
import { Metrics } from '../src/internal/metrics.js';
import { LocationReplicator, locationsChannel } from '../src/internal/replication.js';
import { eventually } from './backends.js';

const binary = await requireService('a redis-server binary', probeRedisServerBinary);

describe.skipIf(!binary.available)('location replication while its Redis is down at start', () => {
  let server: RedisServer;
  let replicator: LocationReplicator | undefined;
  let admin: Redis | undefined;
  const lines: string[] = [];
  const log = createLogger(
    'warn',
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    }),
  );
  const redisErrors = (client?: string): number =>
    lines.filter(
      (l) => l.includes('Redis error') && (!client || (JSON.parse(l) as { client?: string }).client === client),
    ).length;

  beforeAll(async () => {
    server = await startRedisServer({ appendonly: false });
  }, 60_000);

  afterAll(async () => {
    await replicator?.close();
    admin?.disconnect();
    await server?.close();
  }, 30_000);

  it('subscribes once Redis comes up, however many reconnects that took', { timeout: 60_000 }, async () => {
    await server.stop();
    const locations = new LocationService();
    const scope = { prefix: 'outage', tenant: 'default', domain: '127.0.0.1' };
    // Few retries per command and quick reconnects: without its own setting the subscriber's first
    // SUBSCRIBE would be rejected after the second failed connection attempt.
    replicator = new LocationReplicator(
      { host: '127.0.0.1', port: server.port, maxRetriesPerRequest: 1, retryStrategy: () => 50 },
      scope,
      locations,
      new Set(['alice']),
      systemClock,
      log,
      new Metrics(),
    );
    replicator.start();
    await eventually('several failed connection attempts', () => (redisErrors() >= 5 ? true : undefined));
    await server.start();

    admin = new Redis(server.url);
    const channel = locationsChannel(scope);
    await eventually('the replicator subscribed', async () => {
      const [, count] = (await admin!.pubsub('NUMSUB', channel)) as [string, number];
      return Number(count) >= 1 ? true : undefined;
    });
    const device: Device = {
      key: 'uri:sip:alice@127.0.0.1:5090',
      user: 'alice',
      target: 'sip:alice@127.0.0.1:5090',
      targetHost: '127.0.0.1',
      targetPort: 5090,
      contact: '<sip:alice@127.0.0.1:5090>',
      flow: { transport: 'udp', address: '127.0.0.1', port: 5090 },
      expiresAt: Date.now() + 3_600_000,
      updatedAt: Date.now(),
    };
    await admin.publish(
      channel,
      JSON.stringify({
        v: 1,
        from: 'another-process',
        tenant: scope.tenant,
        domain: scope.domain,
        kind: 'register',
        device,
      }),
    );
    expect(await eventually('the peer device applied', () => locations.get('alice', device.key))).toEqual(device);
  });

  it('drops what it publishes while Redis is away instead of publishing it late', { timeout: 60_000 }, async () => {
    const scope = { prefix: 'outage', tenant: 'default', domain: '127.0.0.1' };
    const channel = locationsChannel(scope);
    const connected = async (): Promise<number> =>
      ((await admin!.client('LIST')) as string)
        .split('\n')
        .filter((line) => line.includes(' name=outage:sip-bridge-locations')).length;
    await eventually('the publisher and subscriber connected', async () =>
      (await connected()) >= 2 ? true : undefined,
    );
    const device = (port: number): Device => ({
      key: `uri:sip:alice@127.0.0.1:${port}`,
      user: 'alice',
      target: `sip:alice@127.0.0.1:${port}`,
      targetHost: '127.0.0.1',
      targetPort: port,
      contact: `<sip:alice@127.0.0.1:${port}>`,
      flow: { transport: 'udp', address: '127.0.0.1', port },
      expiresAt: Date.now() + 3_600_000,
      updatedAt: Date.now(),
    });
    admin!.disconnect();
    await server.stop();
    // Both clients have seen the connection go (a write now would not sit in a dead socket's queue).
    const [publisher, subscriber] = [redisErrors('publisher'), redisErrors('subscriber')];
    await eventually('both clients failing to reconnect', () =>
      redisErrors('publisher') > publisher && redisErrors('subscriber') > subscriber ? true : undefined,
    );
    replicator!.publish('register', device(5091));
    await server.start();
    admin = new Redis(server.url);
    const listener = new Redis(server.url);
    try {
      const ports: number[] = [];
      listener.on('message', (_channel: string, message: string) =>
        ports.push((JSON.parse(message) as { device: Device }).device.targetPort),
      );
      await listener.subscribe(channel);
      await eventually('the publisher and subscriber reconnected', async () =>
        (await connected()) >= 2 ? true : undefined,
      );
      // Again until one gets through: the publisher may not be ready the moment it is named.
      await eventually('an event published after the outage', () => {
        if (ports.includes(5092)) return true;
        replicator!.publish('register', device(5092));
        return undefined;
      });
      expect(ports.filter((port) => port !== 5092)).toEqual([]);
    } finally {
      listener.disconnect();
    }
  });
});
