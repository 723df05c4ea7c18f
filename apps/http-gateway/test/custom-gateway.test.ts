import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, sha256Hex } from '../src/index.js';
import { startSimulatedProviders, type SimulatedProviders } from '../demo/demo.js';
import { startAcmeGateway } from '../examples/custom-gateway.js';

// The README's custom gateway (examples/custom-gateway.ts) against the FCM simulator.
const KEY = 'acme-key-0123456789abcdef';
let sims: SimulatedProviders;
let started: Awaited<ReturnType<typeof startAcmeGateway>>;

beforeAll(async () => {
  sims = await startSimulatedProviders();
  const config = parseConfig({
    listen: { host: '127.0.0.1', port: 0 },
    store: { kind: 'memory' },
    codecs: ['wazo'],
    tenants: [{ id: 'acme', apiKeySha256: [sha256Hex(KEY)] }],
    providers: { fcm: sims.providers.fcm },
  });
  started = await startAcmeGateway(config);
});
afterAll(async () => {
  await started?.gateway.close();
  await sims?.close();
});

const call = async (method: string, path: string, body?: unknown) => {
  const res = await fetch(`${started.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return {
    status: res.status,
    body: (await res.json()) as { error?: string; report?: { devices: { status: string }[] } },
  };
};

describe('a custom gateway with one extra codec', () => {
  it('registers a device in the extra format and pushes it the codec payload', async () => {
    const token = 'acme-android-token-1';
    const device = await call('POST', '/v1/devices', {
      userId: 'alice',
      provider: 'fcm',
      token,
      app: 'demo-project',
      pushKind: 'data',
      format: 'acme',
    });
    expect(device.status).toBe(201);
    const sent = await call('POST', '/v1/notifications?wait=true', {
      type: 'incoming_call',
      recipient: 'alice',
      call: { id: 'c-1', from: { number: '8001', displayName: 'Bob' } },
    });
    expect(sent.body.report?.devices.map((d) => d.status)).toEqual(['delivered']);
    const [delivery] = sims.fcm.deliveries({ token });
    expect(delivery?.payload).toMatchObject({ data: { event: 'ring', call_id: 'c-1', caller: 'Bob' } });
  });

  it('keeps the configured codecs, and refuses a format neither has', async () => {
    const wazo = await call('POST', '/v1/devices', {
      userId: 'bob',
      provider: 'fcm',
      token: 'wazo-token-1',
      app: 'demo-project',
      pushKind: 'data',
      format: 'wazo',
    });
    expect(wazo.status).toBe(201);
    const other = await call('POST', '/v1/devices', {
      userId: 'bob',
      provider: 'fcm',
      token: 'x-token-1',
      app: 'demo-project',
      format: 'other',
    });
    expect([other.status, other.body.error]).toEqual([400, 'unknown_format']);
  });
});
