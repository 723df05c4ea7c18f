import { CodecError, payloadLimit, payloadSize, type PushRequest } from '@pushrelay/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeSignalWirePush, SignalWirePushError } from '../src/client/index.js';
import { signalWireCodec } from '../src/index.js';
import { KEY, sampleBinding, sampleNotification } from './helpers.js';

const invite = sampleNotification().vendor!.invite as Record<string, unknown>;

/** Values near the call shape, so decoding gets past the first check often. */
const callLike = fc.record(
  {
    notification_uuid: fc.oneof(fc.uuid(), fc.string(), fc.integer()),
    callee_user_id: fc.oneof(fc.string(), fc.constant('bob'), fc.integer()),
    caller: fc.oneof(fc.record({ id: fc.string(), name: fc.string() }, { requiredKeys: [] }), fc.jsonValue()),
    with_video: fc.oneof(fc.boolean(), fc.jsonValue()),
    ring_timeout: fc.oneof(fc.integer({ min: -5, max: 700 }), fc.double(), fc.string()),
    invite: fc.oneof(
      fc.constant(invite),
      fc.jsonValue(),
      fc.record({
        params: fc.record(
          {
            method: fc.constantFrom('verto.invite', 'x'),
            params: fc.dictionary(
              fc.constantFrom('callID', 'sdp', 'caller_id_name', 'caller_id_number'),
              fc.jsonValue(),
            ),
          },
          { requiredKeys: [] },
        ),
      }),
    ),
  },
  { requiredKeys: [] },
);

/** SDP-sized text that compresses poorly, from a few bytes to well past every provider limit. */
const sdpText = fc.tuple(fc.integer({ min: 0, max: 5000 }), fc.integer()).map(([length, seed]) => {
  const bytes = new Uint8Array(length);
  let x = seed | 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = x & 0xff;
  }
  return Buffer.from(bytes).toString('base64');
});

describe('properties', () => {
  it('decode throws nothing but CodecError on arbitrary JSON', () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), callLike), (input) => {
        try {
          const out = signalWireCodec.decode!(input, { tenant: 't', now: 0 });
          expect(out).toHaveLength(1);
        } catch (error) {
          if (!(error instanceof CodecError)) throw error;
        }
      }),
      { numRuns: 500 },
    );
  }, 30_000);

  it('encode fits the provider limit or refuses with a CodecError', () => {
    let sent = 0;
    let refused = 0;
    const binding = fc.constantFrom(
      sampleBinding({ provider: 'apns', pushKind: 'voip' }),
      sampleBinding({ provider: 'fcm', pushKind: 'alert' }),
      sampleBinding({ provider: 'hms', pushKind: 'alert', secrets: {} }),
    );
    fc.assert(
      fc.property(binding, fc.string({ maxLength: 256, unit: 'binary' }), sdpText, (b, name, sdp) => {
        const n = sampleNotification();
        n.call!.from.displayName = name;
        (n.vendor!.invite as { params: { params: { sdp: string } } }).params.params.sdp = `v=0\r\n${sdp}`;
        let out: PushRequest | null;
        try {
          out = signalWireCodec.encode(n, b, { now: 0 });
        } catch (error) {
          if (!(error instanceof CodecError)) throw error;
          refused++;
          return;
        }
        expect(payloadSize(out!)).toBeLessThanOrEqual(payloadLimit(out!));
        sent++;
      }),
      { numRuns: 150 },
    );
    // Both outcomes occur, so the property checks real payloads, not only refusals.
    expect(sent).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);
  }, 30_000);

  it('the client decoder rejects arbitrary input only with SignalWirePushError', async () => {
    const core = (
      signalWireCodec.encode(sampleNotification(), sampleBinding(), { now: 0 })!.payload as {
        aps: { alert: Record<string, string> };
      }
    ).aps.alert;
    const mutated = fc.record({
      field: fc.constantFrom(...Object.keys(core)),
      value: fc.oneof(fc.string(), fc.base64String(), fc.jsonValue()),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.jsonValue(),
          mutated.map(({ field, value }) => ({ aps: { alert: { ...core, [field]: value } } })),
        ),
        async (push) => {
          try {
            await decodeSignalWirePush(push, KEY);
          } catch (error) {
            if (!(error instanceof SignalWirePushError)) throw error;
          }
        },
      ),
      { numRuns: 300 },
    );
  }, 30_000);
});
