import { describe, expect, it } from 'vitest';
import {
  activeTracer,
  InMemoryBindingStore,
  InMemoryQueue,
  InMemoryReportStore,
  parseCallNotification,
  Relay,
  traceProviderRequest,
  type Codec,
  type DeliveryJob,
  type Transport,
} from '../src/index.js';

const codec: Codec = {
  id: 'plain',
  capabilities: { decode: false, providers: ['fcm'] },
  encode: (n, b) => ({
    provider: b.provider,
    token: b.token,
    app: b.app,
    environment: b.environment,
    pushType: 'alert',
    priority: n.priority,
    expiresAt: null,
    payload: { type: n.type },
  }),
};

describe('tracing without an OpenTelemetry SDK', () => {
  it('has no tracer, queues jobs without a trace context and hands the provider request no span', async () => {
    expect(activeTracer()).toBeUndefined();
    const queued: DeliveryJob[] = [];
    const queue = new InMemoryQueue();
    const schedule = queue.schedule.bind(queue);
    queue.schedule = (job) => {
      queued.push(job);
      return schedule(job);
    };
    const spans: unknown[] = [];
    const transport: Transport = {
      provider: 'fcm',
      send: () =>
        traceProviderRequest('fcm', 'app', async (span) => {
          spans.push(span);
          return { kind: 'delivered' };
        }),
      close: async () => {},
    };
    const bindings = new InMemoryBindingStore();
    const relay = new Relay({
      bindings,
      reports: new InMemoryReportStore(),
      queue,
      codecs: [codec],
      transports: { fcm: transport },
    });
    relay.start();
    await bindings.upsert({
      tenant: 't',
      userId: 'u',
      provider: 'fcm',
      token: 'tok',
      app: 'app',
      environment: 'production',
      pushKind: 'alert',
      format: 'plain',
      origin: 'api',
    });
    const notification = parseCallNotification(
      { id: 'n1', type: 'message', recipient: 'u', message: { body: 'hi' } },
      { tenant: 't', now: Date.now() },
    );
    await relay.notify(notification);
    const report = await relay.waitForCompletion('t', 'n1', { timeoutMs: 5000, pollMs: 10 });
    expect(report?.devices.map((d) => d.status)).toEqual(['delivered']);
    expect(queued).toHaveLength(1);
    expect(queued[0]).not.toHaveProperty('trace');
    expect(spans).toEqual([undefined]);
    await relay.close();
  });
});
