import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { startTracing, type Tracing } from '@pushrelay/app-kit';
import {
  InMemoryBindingStore,
  InMemoryReportStore,
  parseCallNotification,
  Relay,
  traceProviderRequest,
  type Codec,
  type Transport,
} from '@pushrelay/core';
import { BullMQQueue } from '@pushrelay/queue-bullmq';
import { probeTcp, requireService } from '@pushrelay/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ANDROID_TOKEN, IOS_TOKEN, startStack, type Stack } from './helpers.js';

const redis = await requireService('Redis on 127.0.0.1:6379', () => probeTcp(6379));

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CLIENT_SPAN_ID = '00f067aa0ba902b7';

/** Every attribute value of every span, as text. */
const attributeValues = (spans: readonly ReadableSpan[]) =>
  spans.flatMap((s) => Object.values(s.attributes).map((v) => String(v)));

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; !condition(); i++) {
    if (i > 400) throw new Error(`not reached: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function describeTrace(kind: 'memory' | 'bullmq') {
  const skip = kind === 'bullmq' && !redis.available;
  describe.skipIf(skip)(`one call is one trace, from the HTTP request to the provider (${kind} queue)`, () => {
    const exporter = new InMemorySpanExporter();
    let tracing: Tracing | undefined;
    let queue: BullMQQueue | undefined;
    let s: Stack;
    beforeAll(async () => {
      // Started before the gateway is built, as the CLI does.
      tracing = await startTracing({ serviceName: 'pushrelay-test', exporter });
      if (kind === 'bullmq') {
        queue = new BullMQQueue({ connection: 'redis://127.0.0.1:6379/0', prefix: `tracing-${process.pid}` });
      }
      s = await startStack(queue ? { queue } : {});
    }, 60_000);
    afterAll(async () => {
      await s?.close();
      await tracing?.shutdown();
    }, 60_000);
    afterEach(() => exporter.reset());

    it('continues the client traceparent through the queue hop to the APNs and FCM requests, with no token or key in any attribute', async () => {
      for (const device of [
        {
          provider: 'apns',
          token: IOS_TOKEN,
          app: 'com.example.phone',
          environment: 'sandbox',
          pushKind: 'voip',
          params: { apns_call_topic: 'com.example.phone.voip' },
        },
        { provider: 'fcm', token: ANDROID_TOKEN, app: 'demo-project', pushKind: 'data' },
      ]) {
        const added = await s.call('POST', '/v1/devices', { body: { userId: 'alice', format: 'wazo', ...device } });
        expect(added.status).toBe(201);
      }
      exporter.reset();
      const sent = await s.call('POST', '/v1/notifications?wait=true', {
        headers: { 'idempotency-key': `traced-${kind}`, traceparent: `00-${TRACE_ID}-${CLIENT_SPAN_ID}-01` },
        body: {
          type: 'incoming_call',
          recipient: 'alice',
          call: { id: `call-${kind}`, from: { number: '8001', displayName: 'Bob' } },
        },
      });
      expect(sent.status).toBe(200);
      expect(sent.body.report.devices.map((d: { status: string }) => d.status)).toEqual(['delivered', 'delivered']);
      await until(
        () => exporter.getFinishedSpans().filter((x) => x.name === 'process delivery').length === 2,
        'both consumer spans ended',
      );
      await until(() => exporter.getFinishedSpans().some((x) => x.name.startsWith('POST ')), 'the server span ended');

      const spans = exporter.getFinishedSpans();
      const byId = new Map(spans.map((x) => [x.spanContext().spanId, x]));
      const parentOf = (x: ReadableSpan) => byId.get(x.parentSpanContext?.spanId ?? '');
      for (const x of spans) expect(x.spanContext().traceId).toBe(TRACE_ID);

      const server = spans.find((x) => x.name === 'POST /v1/notifications')!;
      expect(server).toBeDefined();
      expect(server.parentSpanContext?.spanId).toBe(CLIENT_SPAN_ID);
      expect(server.attributes).toMatchObject({
        'http.request.method': 'POST',
        'http.route': '/v1/notifications',
        'http.response.status_code': 200,
        'pushrelay.tenant': 'demo',
      });

      const producers = spans.filter((x) => x.name === 'send delivery');
      expect(producers).toHaveLength(2);
      for (const p of producers) {
        expect(parentOf(p)).toBe(server);
        expect(p.attributes).toMatchObject({
          'pushrelay.tenant': 'demo',
          'pushrelay.notification.id': `traced-${kind}`,
          'pushrelay.call.id': `call-${kind}`,
          'pushrelay.attempt': 1,
          'messaging.destination.name': 'call',
        });
      }
      const consumers = spans.filter((x) => x.name === 'process delivery');
      expect(consumers.map((c) => producers.indexOf(parentOf(c)!)).sort()).toEqual([0, 1]);
      for (const c of consumers) {
        expect(c.attributes['pushrelay.device.status']).toBe('delivered');
        expect(c.attributes['pushrelay.notification.id']).toBe(`traced-${kind}`);
      }

      const apns = spans.find((x) => x.name === 'apns send')!;
      const fcm = spans.find((x) => x.name === 'fcm send')!;
      for (const [span, provider, app] of [
        [apns, 'apns', 'com.example.phone'],
        [fcm, 'fcm', 'demo-project'],
      ] as const) {
        expect(span, `${provider} span`).toBeDefined();
        expect(consumers).toContain(parentOf(span));
        expect(span.attributes).toMatchObject({
          'pushrelay.provider': provider,
          'pushrelay.app': app,
          'pushrelay.outcome': 'delivered',
          'http.response.status_code': 200,
        });
        expect(span.attributes['pushrelay.provider.message_id']).toEqual(expect.any(String));
      }
      // The simulators saw exactly these two pushes, with the ids the spans name.
      const apnsIds = s.sims.apns.deliveries({ token: IOS_TOKEN }).map((d) => d.id);
      expect(apnsIds).toContain(apns.attributes['pushrelay.provider.message_id']);

      const values = attributeValues(spans);
      for (const secret of [IOS_TOKEN, ANDROID_TOKEN, s.apiKey]) {
        expect(values.filter((v) => v.includes(secret))).toEqual([]);
      }
    });

    it('starts a trace of its own for a request without a traceparent', async () => {
      const res = await s.call('GET', '/v1/devices?userId=alice');
      expect(res.status).toBe(200);
      await until(() => exporter.getFinishedSpans().some((x) => x.name === 'GET /v1/devices'), 'the server span');
      const server = exporter.getFinishedSpans().find((x) => x.name === 'GET /v1/devices')!;
      expect(server.parentSpanContext).toBeUndefined();
      expect(server.spanContext().traceId).not.toBe(TRACE_ID);
      expect(attributeValues([server]).filter((v) => v.includes(s.apiKey))).toEqual([]);
    });
  });
}

describeTrace('memory');
describeTrace('bullmq');

describe.skipIf(!redis.available)('the queue hop between two relays sharing a BullMQ queue', () => {
  it('continues the producer span in the relay that runs the job, from the context the job carries through Redis', async () => {
    const exporter = new InMemorySpanExporter();
    const tracing = await startTracing({ serviceName: 'pushrelay-test', exporter });
    const prefix = `tracing-hop-${process.pid}`;
    const queues = [0, 1].map(() => new BullMQQueue({ connection: 'redis://127.0.0.1:6379/0', prefix }));
    const bindings = new InMemoryBindingStore();
    const reports = new InMemoryReportStore();
    const codec: Codec = {
      id: 'plain',
      capabilities: { decode: false, providers: ['fcm'] },
      encode: (n, b) => ({
        provider: 'fcm',
        token: b.token,
        app: b.app,
        environment: b.environment,
        pushType: 'alert',
        priority: n.priority,
        expiresAt: null,
        payload: { type: n.type },
      }),
    };
    const transport: Transport = {
      provider: 'fcm',
      send: (request) =>
        traceProviderRequest('fcm', request.app, async () => ({ kind: 'delivered', providerId: 'm1' })),
      close: async () => {},
    };
    const options = { bindings, reports, codecs: [codec], transports: { fcm: transport } };
    // One relay only accepts (the gateway), the other only delivers (a worker process).
    const acceptor = new Relay({ ...options, queue: queues[0]!, acceptOnly: true });
    const worker = new Relay({ ...options, queue: queues[1]! });
    worker.start();
    try {
      await bindings.upsert({
        tenant: 't',
        userId: 'u',
        provider: 'fcm',
        token: ANDROID_TOKEN,
        app: 'demo-project',
        environment: 'production',
        pushKind: 'data',
        format: 'plain',
        origin: 'api',
      });
      const notification = parseCallNotification(
        { id: `hop-${process.pid}`, type: 'message', recipient: 'u', message: { body: 'hi' } },
        { tenant: 't', now: Date.now() },
      );
      await acceptor.notify(notification);
      await until(() => exporter.getFinishedSpans().some((x) => x.name === 'process delivery'), 'the consumer span');
      const spans = exporter.getFinishedSpans();
      const producer = spans.find((x) => x.name === 'send delivery')!;
      const consumer = spans.find((x) => x.name === 'process delivery')!;
      const send = spans.find((x) => x.name === 'fcm send')!;
      expect(consumer.spanContext().traceId).toBe(producer.spanContext().traceId);
      expect(consumer.parentSpanContext?.spanId).toBe(producer.spanContext().spanId);
      expect(send.parentSpanContext?.spanId).toBe(consumer.spanContext().spanId);
      expect(attributeValues(spans).filter((v) => v.includes(ANDROID_TOKEN))).toEqual([]);
    } finally {
      await worker.close();
      await acceptor.close();
      for (const q of queues) await q.destroy();
      await tracing?.shutdown();
    }
  }, 30_000);
});
