import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { probeTcp, requireService } from '@pushrelay/testkit';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { TOKENS, type ConnectionPresence } from '../src/index.js';
import { ANDROID_TOKEN, IOS_TOKEN, startStack, type Stack } from './helpers.js';

const redis = await requireService('Redis on 127.0.0.1:6379', () => probeTcp(6379));

const stacks: Stack[] = [];
const dir = mkdtempSync(join(tmpdir(), 'pushrelay-gw-'));
afterAll(async () => {
  await Promise.allSettled(stacks.map((s) => s.close()));
  rmSync(dir, { recursive: true, force: true });
});
const start = async (o: Parameters<typeof startStack>[0] = {}) => {
  const s = await startStack(o);
  stacks.push(s);
  return s;
};
const call = (id: string, recipient = 'alice') => ({
  body: { id, type: 'incoming_call', recipient, call: { id: `c-${id}`, from: { number: '8001', displayName: 'Bob' } } },
});
const android = {
  userId: 'alice',
  provider: 'fcm',
  token: ANDROID_TOKEN,
  app: 'demo-project',
  pushKind: 'data',
  format: 'wazo',
};

function connect(s: Stack, userId: string, key = s.apiKey): Promise<{ ws: WebSocket; messages: unknown[] }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${s.url.replace('http', 'ws')}/v1/connect?userId=${userId}`, {
      headers: { authorization: `Bearer ${key}` },
    });
    const messages: unknown[] = [];
    ws.on('message', (m) => {
      const parsed = JSON.parse(String(m)) as { kind: string };
      if (parsed.kind === 'ready') resolve({ ws, messages });
      else messages.push(parsed);
    });
    ws.on('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.on('error', reject);
  });
}

describe('WebSocket presence', () => {
  it('sends over the socket instead of pushing while the app is connected, and pushes again once it drops', async () => {
    const s = await start();
    await s.call('POST', '/v1/devices', { body: android });
    const { ws, messages } = await connect(s, 'alice');

    const online = await s.call('POST', '/v1/notifications?wait=true', call('while-online'));
    expect(online.body.report).toMatchObject({ status: 'suppressed', suppressedReason: 'online', devices: [] });
    expect(messages).toEqual([
      {
        kind: 'notification',
        notification: expect.objectContaining({ id: 'while-online', type: 'incoming_call', recipient: 'alice' }),
      },
    ]);
    expect(s.sims.fcm.deliveries()).toEqual([]);

    await new Promise<void>((resolve) => {
      ws.once('close', () => resolve());
      ws.close();
    });
    // The server sees the close a moment after the client.
    for (
      let i = 0;
      i < 100 && (await s.call('GET', '/metrics', { key: null })).body.includes('pushrelay_websocket_connections 1');
      i++
    ) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const offline = await s.call('POST', '/v1/notifications?wait=true', call('after-drop'));
    expect(offline.body.report.devices.map((d: { status: string }) => d.status)).toEqual(['delivered']);
    expect(s.sims.fcm.deliveries({ token: ANDROID_TOKEN }).length).toBe(1);
  });

  it('refuses a socket without a valid key', async () => {
    const s = await start();
    await expect(connect(s, 'alice', 'wrong')).rejects.toThrow('HTTP 401');
  });
});

describe.skipIf(!redis.available)('WebSocket presence across gateway processes sharing Redis', () => {
  const prefix = `pushrelay-test-presence-${process.pid}-${Date.now().toString(36)}`;
  const ephemeral = { engine: 'redis', redis: 'redis://127.0.0.1:6379/0', prefix } as const;
  afterAll(async () => {
    const client = new Redis('redis://127.0.0.1:6379/0');
    try {
      let cursor = '0';
      do {
        const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
        if (keys.length) await client.del(...keys);
        cursor = next;
      } while (cursor !== '0');
    } finally {
      client.disconnect();
    }
  });

  it('suppresses the push for a user connected to another process, whose socket gets the notification', async () => {
    const apiKey = `presence-key-${process.pid}`;
    const a = await start({ ephemeral, apiKey });
    const b = await start({ ephemeral, apiKey });
    expect((await b.call('POST', '/v1/devices', { body: android })).status).toBe(201);
    const { ws, messages } = await connect(a, 'alice');

    const online = await b.call('POST', '/v1/notifications?wait=true', call('online-elsewhere'));
    expect(online.body.report).toMatchObject({ status: 'suppressed', suppressedReason: 'online', devices: [] });
    for (let i = 0; i < 500 && messages.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(messages).toEqual([
      {
        kind: 'notification',
        notification: expect.objectContaining({ id: 'online-elsewhere', type: 'incoming_call', recipient: 'alice' }),
      },
    ]);
    expect([...a.sims.fcm.deliveries(), ...b.sims.fcm.deliveries()]).toEqual([]);

    await new Promise<void>((resolve) => {
      ws.once('close', () => resolve());
      ws.close();
    });
    // Process A sees the close a moment after the client, and tells Redis a moment later.
    const presence = b.gateway.container.resolve<ConnectionPresence>(TOKENS.presence);
    for (let i = 0; i < 500 && (await presence.isOnline('demo', 'alice')); i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const offline = await b.call('POST', '/v1/notifications?wait=true', call('after-drop-elsewhere'));
    expect(offline.body.report.devices.map((d: { status: string }) => d.status)).toEqual(['delivered']);
    expect(b.sims.fcm.deliveries({ token: ANDROID_TOKEN }).length).toBe(1);
    expect(messages).toHaveLength(1);
  });
});

describe('token invalidation and persistence', () => {
  it('removes the binding of a token the provider says is unregistered, and the report shows it', async () => {
    const s = await start();
    const reg = await s.call('POST', '/v1/devices', {
      body: {
        userId: 'alice',
        provider: 'apns',
        token: IOS_TOKEN,
        app: 'com.example.phone',
        environment: 'sandbox',
        pushKind: 'voip',
        format: 'wazo',
        params: { apns_call_topic: 'com.example.phone.voip' },
      },
    });
    await new Promise((r) => setTimeout(r, 5));
    s.sims.apns.unregister(IOS_TOKEN);
    const res = await s.call('POST', '/v1/notifications?wait=true', call('to-dead-token'));
    const device = res.body.report.devices[0];
    expect(device).toMatchObject({ bindingId: reg.body.id, status: 'invalid-token', detail: 'Unregistered' });
    expect(device.attempts[0].outcome).toMatchObject({ kind: 'invalid-token', reason: 'Unregistered' });
    expect((await s.call('GET', '/v1/devices?userId=alice')).body).toEqual({ devices: [] });
    expect((await s.call('GET', '/metrics', { key: null })).body).toContain(
      'pushrelay_token_invalidations_total{provider="apns"} 1',
    );
  });

  it('keeps bindings, push keys and reports across a restart with the SQLite store', async () => {
    const sqlitePath = join(dir, 'restart.db');
    const first = await start({ sqlitePath, apiKey: 'restart-key-0001' });
    const reg = await first.call('POST', '/v1/devices', {
      body: {
        userId: 'bob',
        provider: 'fcm',
        token: 'sw-token',
        app: 'demo-project',
        pushKind: 'alert',
        format: 'signalwire',
      },
    });
    expect(reg.body.pushKey).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    await first.call('POST', '/v1/notifications?wait=true', call('before-restart', 'nobody'));
    await first.close();

    const second = await start({ sqlitePath, apiKey: 'restart-key-0001' });
    const list = await second.call('GET', '/v1/devices?userId=bob');
    expect(list.body.devices).toEqual([reg.body]);
    const again = await second.call('POST', '/v1/devices', {
      body: {
        userId: 'bob',
        provider: 'fcm',
        token: 'sw-token',
        app: 'demo-project',
        pushKind: 'alert',
        format: 'signalwire',
      },
    });
    expect([again.status, again.body.id, again.body.pushKey]).toEqual([200, reg.body.id, reg.body.pushKey]);
    expect((await second.call('GET', '/v1/notifications/before-restart')).body.suppressedReason).toBe('no-devices');
  });

  it('drains on close: an in-flight send finishes, then no new connection is accepted', async () => {
    const s = await start();
    await s.call('POST', '/v1/devices', { body: android });
    const inFlight = s.call('POST', '/v1/notifications?wait=true', call('during-shutdown'));
    // Close only once the gateway holds the request (its report exists), however slow the machine.
    while ((await s.call('GET', '/v1/notifications/during-shutdown')).status !== 200) {
      await new Promise((r) => setTimeout(r, 5));
    }
    await s.gateway.close();
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(res.body.report.devices.map((d: { status: string }) => d.status)).toEqual(['delivered']);
    await expect(fetch(`${s.url}/healthz`)).rejects.toThrow();
  });
});
