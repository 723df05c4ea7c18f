import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '@pushrelay/core';
import { probeRedisServerBinary, requireService, startRedisServer, type RedisServer } from '@pushrelay/testkit';
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
    await eventually('several failed connection attempts', () => (lines.filter((l) => l.includes('Redis error')).length >= 5 ? true : undefined));
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
    await admin.publish(channel, JSON.stringify({ v: 1, from: 'another-process', tenant: scope.tenant, domain: scope.domain, kind: 'register', device }));
    expect(await eventually('the peer device applied', () => locations.get('alice', device.key))).toEqual(device);
  });
});
