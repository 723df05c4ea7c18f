import { afterEach, describe, expect, it } from 'vitest';
import {
  InMemoryBindingStore,
  InMemoryReportStore,
  Relay,
  type Codec,
  type DeliveryOutcome,
  type PushRequest,
  type Transport,
} from '@pushrelay/core';
import { bindingInput, sampleNotification } from '@pushrelay/testkit';
import { BullMQQueue } from '../src/index.js';
import { redis, REDIS_PORT, runPrefix } from './helpers.js';

const codec: Codec = {
  id: 'generic',
  capabilities: { decode: false, providers: ['apns', 'fcm', 'hms'] },
  encode: (n, b) => ({
    provider: b.provider,
    token: b.token,
    app: b.app,
    environment: b.environment,
    pushType: 'voip',
    priority: 'high',
    expiresAt: Date.parse(n.deadline),
    payload: { id: n.id },
  }),
};

/** Answers from a script per token, then `delivered`; records every send. */
class ScriptedTransport implements Transport {
  readonly sent: PushRequest[] = [];
  constructor(
    readonly provider: Transport['provider'],
    private readonly script: Map<string, DeliveryOutcome[]> = new Map(),
  ) {}
  async send(request: PushRequest): Promise<DeliveryOutcome> {
    this.sent.push(request);
    return this.script.get(request.token)?.shift() ?? { kind: 'delivered', providerId: `id-${this.sent.length}` };
  }
  async close(): Promise<void> {}
}

describe.skipIf(!redis.available)('Relay on BullMQQueue, two processes', () => {
  const queues: BullMQQueue[] = [];
  afterEach(async () => {
    for (const q of queues.splice(0)) {
      await q.close();
      await q.destroy();
    }
  });

  it('delivers a call to every device once, pausing the credential after a 429 and retrying', async () => {
    const prefix = runPrefix('relay');
    const bindings = new InMemoryBindingStore();
    const reports = new InMemoryReportStore();
    const apnsToken = 'a'.repeat(64);
    const apns = new ScriptedTransport(
      'apns',
      new Map([[apnsToken, [{ kind: 'retry', reason: 'TooManyRequests', retryAfterMs: 300 }]]]),
    );
    const fcm = new ScriptedTransport('fcm');
    const relays = [0, 1].map(() => {
      const queue = new BullMQQueue({ connection: { port: REDIS_PORT }, prefix, name: 'relay', concurrency: 4 });
      queues.push(queue);
      const relay = new Relay({ bindings, reports, queue, codecs: [codec], transports: { apns, fcm } });
      relay.start();
      return relay;
    });
    await bindings.upsert(bindingInput({ token: apnsToken }));
    await bindings.upsert(bindingInput({ provider: 'fcm', token: 'f'.repeat(40), app: 'proj', pushKind: 'data' }));
    const notification = sampleNotification({
      id: `n-${Date.now()}`,
      createdAt: new Date().toISOString(),
      deadline: new Date(Date.now() + 20_000).toISOString(),
    });

    await relays[0]!.notify(notification);
    const report = await relays[1]!.waitForCompletion('tenant-a', notification.id, { timeoutMs: 15_000, pollMs: 50 });

    expect(report?.status).toBe('completed');
    expect(report?.devices.map((d) => [d.provider, d.status, d.attempts.length])).toEqual([
      ['apns', 'delivered', 2],
      ['fcm', 'delivered', 1],
    ]);
    expect(apns.sent.length).toBe(2);
    expect(fcm.sent.length).toBe(1);
    const [first, second] = report!.devices[0]!.attempts;
    expect(Date.parse(second!.at) - Date.parse(first!.at)).toBeGreaterThanOrEqual(300);
  }, 20_000);
});
