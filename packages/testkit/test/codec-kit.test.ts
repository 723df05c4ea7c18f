import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CodecError, parseCallNotification, type Codec } from '@pushrelay/core';
import { describeCodecConformance, type TestApi } from '../src/index.js';

const fixturesDir = fileURLToPath(new URL('./fixtures/example', import.meta.url));

function exampleCodec(overrides: Partial<Codec> = {}): Codec {
  return {
    id: 'example',
    capabilities: { decode: true, providers: ['apns'] },
    decode(input, ctx) {
      const o = input as Record<string, unknown> | null;
      if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new CodecError('example', 'must be an object');
      if (o.event !== 'ring') throw new CodecError('example', 'must be ring', { path: 'event' });
      return [
        parseCallNotification(
          {
            id: o.callId,
            type: 'incoming_call',
            tenant: ctx.tenant,
            recipient: o.user,
            call: { id: o.callId, from: { number: o.caller } },
          },
          { now: ctx.now },
        ),
      ];
    },
    encode: (n, b) => ({
      provider: b.provider,
      token: b.token,
      app: b.app,
      environment: b.environment,
      pushType: 'voip',
      priority: 'high',
      expiresAt: Date.parse(n.deadline),
      collapseId: n.call?.id,
      payload: { aps: { alert: { title: 'Incoming call', body: n.call?.from.number } } },
    }),
    ...overrides,
  };
}

describeCodecConformance({ describe, it, expect }, { codec: exampleCodec(), fixturesDir });

/** Runs a suite outside vitest and reports which of its tests failed. */
async function failuresOf(codec: Codec): Promise<string[]> {
  const tests: Array<{ name: string; body: () => unknown }> = [];
  const api: TestApi = { describe: (_n, body) => body(), it: (name, body) => void tests.push({ name, body }), expect };
  describeCodecConformance(api, { codec, fixturesDir });
  const failed: string[] = [];
  for (const test of tests) {
    try {
      await test.body();
    } catch {
      failed.push(test.name);
    }
  }
  return failed;
}

describe('the codec conformance suite', () => {
  it('fails a codec whose output differs from a fixture by one field', async () => {
    const good = exampleCodec();
    const off = exampleCodec({ encode: (n, b, c) => ({ ...good.encode(n, b, c)!, priority: 'normal' }) });
    expect(await failuresOf(off)).toEqual(['encodes incoming.json (an incoming call to an iOS VoIP device)']);
  });

  it('fails a codec that throws a plain Error on garbage', async () => {
    const sloppy = exampleCodec({ decode: (input) => [(input as { x: never }).x] });
    expect(await failuresOf(sloppy)).toEqual([
      'rejects bad-event.json (an event the vendor does not send) with a CodecError',
      'decodes incoming.json (an incoming call to an iOS VoIP device)',
      'answers input that is no vendor payload with a CodecError',
    ]);
  });

  it('fails a codec whose payload is over the provider limit', async () => {
    const good = exampleCodec();
    const fat = exampleCodec({
      encode: (n, b, c) => ({ ...good.encode(n, b, c)!, payload: { aps: {}, pad: 'x'.repeat(6000) } }),
    });
    expect(await failuresOf(fat)).toEqual([
      'encodes incoming.json (an incoming call to an iOS VoIP device)',
      "incoming.json (an incoming call to an iOS VoIP device) fits the provider's limits and targets the binding",
    ]);
  });

  it('passes the example codec', async () => {
    expect(await failuresOf(exampleCodec())).toEqual([]);
  });
});
