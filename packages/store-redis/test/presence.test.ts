import { createServer, type Server, type Socket } from 'node:net';
import type { CallNotification } from '@pushrelay/core';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisPresence, type PresenceOperation, type RedisPresenceOptions } from '../src/index.js';
import { dropPrefix, redis, REDIS_PORT, runPrefix } from './helpers.js';

const notification = (id: string, recipient: string): CallNotification => ({
  id,
  type: 'incoming_call',
  tenant: 'acme',
  recipient,
  createdAt: '2024-01-01T00:00:00.000Z',
  deadline: '2024-01-01T00:00:30.000Z',
  priority: 'high',
  call: { id: `c-${id}`, from: { number: '100' }, video: false, startedAt: '2024-01-01T00:00:00.000Z' },
});

/** Polls `check` until it holds, for at most about 10 s: behaviour, not a timing, is asserted. */
async function eventually(check: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 500 && !(await check()); i++) await new Promise((r) => setTimeout(r, 20));
}

describe.skipIf(!redis.available)('RedisPresence', () => {
  const prefix = runPrefix('presence');
  const opened: RedisPresence[] = [];
  const open = (options: RedisPresenceOptions = {}) => {
    const p = new RedisPresence({ connection: { port: REDIS_PORT }, prefix, ...options });
    opened.push(p);
    return p;
  };
  afterAll(async () => {
    await Promise.all(opened.map((p) => p.close()));
    await dropPrefix(prefix);
  });

  it('shows a user connected to one process as online to every other, until the last connection closes', async () => {
    const a = open();
    const b = open();
    const first = a.connect('acme', 'alice');
    const second = a.connect('acme', 'alice');
    await a.flush();
    expect(await b.isOnline('acme', 'alice')).toBe(true);
    expect(await a.isOnline('acme', 'alice')).toBe(true);
    expect(await b.isOnline('acme', 'bob')).toBe(false);
    expect(await b.isOnline('other', 'alice')).toBe(false);

    first();
    first();
    await a.flush();
    expect(await b.isOnline('acme', 'alice')).toBe(true);
    second();
    await a.flush();
    expect(await b.isOnline('acme', 'alice')).toBe(false);
    expect(await a.isOnline('acme', 'alice')).toBe(false);
  });

  it('hands a notification to the other processes holding its recipient, and to no one else', async () => {
    const [a, b, c] = [open(), open(), open()];
    const got = new Map<RedisPresence, string[]>([
      [a, []],
      [b, []],
      [c, []],
    ]);
    for (const [p, ids] of got) p.onNotification((n) => ids.push(n.id));
    a.connect('acme', 'alice');
    b.connect('acme', 'alice');
    c.connect('acme', 'carol');
    await Promise.all([a.flush(), b.flush(), c.flush()]);

    expect(await b.publish(notification('n1', 'alice'))).toBe(true);
    expect(await c.publish(notification('n2', 'alice'))).toBe(true);
    expect(await a.publish(notification('n3', 'carol'))).toBe(true);
    // Each process reads the channel in order: once it has the last message meant for it, it has
    // seen (and passed over) the earlier ones.
    await eventually(() => got.get(a)!.length === 2 && got.get(b)!.length === 1 && got.get(c)!.length === 1);
    expect(got.get(a)).toEqual(['n1', 'n2']);
    expect(got.get(b)).toEqual(['n2']);
    expect(got.get(c)).toEqual(['n3']);
  });

  it('takes the users of a process that died offline once its lease lapses', async () => {
    const client = new Redis({ port: REDIS_PORT });
    client.on('error', () => {});
    const dead = open({ client, leaseMs: 300, refreshMs: 100 });
    const b = open();
    dead.connect('acme', 'dora');
    await dead.flush();
    expect(await b.isOnline('acme', 'dora')).toBe(true);

    // As SIGKILL would: no refresh and no goodbye reach Redis any more.
    client.disconnect();
    await eventually(async () => !(await b.isOnline('acme', 'dora')));
    expect(await b.isOnline('acme', 'dora')).toBe(false);
    const members = new Redis({ port: REDIS_PORT });
    try {
      expect(await members.smembers(`${prefix}:presence:user:{acme:dora}`)).toEqual([]);
    } finally {
      members.disconnect();
    }
  });

  it('announces its users again when it finds its lease gone while it lives', async () => {
    const a = open({ leaseMs: 600, refreshMs: 100 });
    const b = open();
    a.connect('acme', 'erin');
    await a.flush();
    // As a Redis that lost its data (a restart without persistence) would.
    await dropPrefix(prefix);
    expect(await b.isOnline('acme', 'erin')).toBe(false);
    await eventually(() => b.isOnline('acme', 'erin'));
    expect(await b.isOnline('acme', 'erin')).toBe(true);
  });

  it('drops a membership Redis failed to drop at a disconnect, at its next refresh', async () => {
    const client = new Redis({ port: REDIS_PORT });
    // The SREM of the disconnect fails once, as during a short outage; the rest is real Redis.
    const srem = client.srem.bind(client) as (...args: unknown[]) => Promise<number>;
    let fail = true;
    (client as unknown as { srem: (...args: unknown[]) => Promise<number> }).srem = (...args) => {
      if (!fail) return srem(...args);
      fail = false;
      return Promise.reject(new Error('Connection is closed.'));
    };
    const failures: PresenceOperation[] = [];
    const a = open({ client, leaseMs: 1000, refreshMs: 100, onError: (_e, op) => failures.push(op) });
    const b = open();
    const disconnect = a.connect('acme', 'gwen');
    await a.flush();
    expect(await b.isOnline('acme', 'gwen')).toBe(true);
    disconnect();
    await a.flush();
    expect(failures).toContain('announce');
    // Left behind, the membership would keep gwen "online" for a day while nobody holds her.
    await eventually(async () => !(await b.isOnline('acme', 'gwen')));
    expect(await b.isOnline('acme', 'gwen')).toBe(false);
    await a.close();
    client.disconnect();
  });

  it('refuses a refresh that would let the lease lapse', () => {
    expect(() => new RedisPresence({ connection: { port: REDIS_PORT }, leaseMs: 1000, refreshMs: 1000 })).toThrow(
      RangeError,
    );
    expect(() => new RedisPresence({ connection: { port: REDIS_PORT }, timeoutMs: 0 })).toThrow(/timeoutMs/);
  });
});

describe('RedisPresence on a Redis that never answers', () => {
  let server: Server;
  const sockets = new Set<Socket>();
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server?.close(r));
  });

  it('answers a lookup from what this process knows, in bounded time, and says why', async () => {
    server = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const client = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1 });
    client.on('error', () => {});
    const failures: PresenceOperation[] = [];
    const p = new RedisPresence({ client, timeoutMs: 50, onError: (_e, operation) => failures.push(operation) });
    try {
      expect(await p.isOnline('acme', 'alice')).toBe(false);
      p.connect('acme', 'bob');
      expect(await p.isOnline('acme', 'bob')).toBe(true);
      expect(await p.publish(notification('n1', 'alice'))).toBe(false);
      expect(failures).toEqual(['lookup', 'publish']);
    } finally {
      await p.close();
      client.disconnect();
    }
  });
});
