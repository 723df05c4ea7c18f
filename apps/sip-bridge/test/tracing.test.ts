import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { startTracing, type Tracing } from '@pushrelay/app-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBridge, type RunningBridge } from '../src/index.js';
import { CALLER, TestPhone } from './phone.js';
import { RecordingTransport } from './support.js';

const TOKEN = 'aa00bb11cc22dd33ee44ff5566778899aa00bb11cc22dd33ee44ff5566778899';
const PASSWORD = 'wonderland';

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; !condition(); i++) {
    if (i > 400) throw new Error(`not reached: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('SIP transaction spans', () => {
  const exporter = new InMemorySpanExporter();
  let tracing: Tracing | undefined;
  let bridge: RunningBridge;
  const apns = new RecordingTransport('apns');
  const phones: TestPhone[] = [];
  beforeAll(async () => {
    tracing = await startTracing({ serviceName: 'pushrelay-sip-bridge-test', exporter });
    bridge = await startBridge({
      config: {
        domain: '127.0.0.1',
        listen: { host: '127.0.0.1', port: 0, tcp: false },
        users: [{ username: 'alice', password: PASSWORD }, CALLER],
        // The phone never wakes: the INVITE transaction ends when the bridge stops waiting for it.
        calls: { ringTimeoutMs: 10_000, pushWaitMs: 300 },
        metrics: null,
        log: { level: 'silent' },
        shutdownTimeoutMs: 1000,
      },
      transports: { apns },
    });
  });
  afterAll(async () => {
    for (const p of phones) await p.close();
    await bridge?.stop();
    await tracing?.shutdown();
  });

  it('makes the INVITE server transaction a span, the parent of the push it triggers, with no token or password', async () => {
    const mpush = [{ name: 'X-MPUSH', value: `i:com.example.mizu:${TOKEN}` }];
    const device = await TestPhone.start(bridge.sip.port);
    const callerPhone = await TestPhone.start(bridge.sip.port);
    phones.push(device, callerPhone);
    const caller = callerPhone.asCaller();
    expect((await device.register('alice', PASSWORD, { headers: mpush })).status).toBe(200);
    const registers = exporter.getFinishedSpans().filter((s) => s.name === 'SIP REGISTER');
    expect(registers.map((s) => s.attributes['sip.response.status_code'])).toEqual([401, 200]);

    void caller.send(caller.inviteRequest('alice', 'traced-call@127.0.0.1'), () => {});
    await apns.waitFor((r) => r.token === TOKEN, 5000);
    await until(() => exporter.getFinishedSpans().some((s) => s.name === 'process delivery'), 'the consumer span');
    await until(
      () => exporter.getFinishedSpans().filter((s) => s.name === 'SIP INVITE').length === 2,
      'both INVITE transactions ended',
    );

    const spans = exporter.getFinishedSpans();
    const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]));
    const parentOf = (s: ReadableSpan) => byId.get(s.parentSpanContext?.spanId ?? '');
    // The first INVITE is challenged (407); the second, authenticated, triggers the push.
    const invites = spans.filter((s) => s.name === 'SIP INVITE');
    expect(invites.map((s) => s.attributes['sip.response.status_code'])[0]).toBe(407);
    for (const s of invites) {
      expect(s.attributes).toMatchObject({ 'sip.method': 'INVITE', 'sip.call_id': 'traced-call@127.0.0.1' });
    }
    const producer = spans.find((s) => s.name === 'send delivery')!;
    const invite = parentOf(producer)!;
    expect(invites.indexOf(invite)).toBe(1);
    expect(invite.attributes['sip.response.status_code']).toBeGreaterThanOrEqual(400);
    expect(producer.attributes['pushrelay.call.id']).toBe('traced-call@127.0.0.1');
    const consumer = spans.find((s) => s.name === 'process delivery')!;
    expect(parentOf(consumer)).toBe(producer);
    expect(consumer.spanContext().traceId).toBe(invite.spanContext().traceId);

    const values = spans.flatMap((s) => Object.values(s.attributes).map((v) => String(v)));
    for (const secret of [TOKEN, PASSWORD]) expect(values.filter((v) => v.includes(secret))).toEqual([]);
  }, 20_000);
});
