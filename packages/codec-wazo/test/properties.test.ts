import { CodecError, payloadLimit, payloadSize, type CallNotification, type PushRequest } from '@pushrelay/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pythonJsonDumps, wazoCodec } from '../src/index.js';
import { binding, callNotification } from './helpers.js';

const NOW = Date.parse('2024-08-06T12:00:00.123Z');

const apiLike = fc.record(
  {
    notification_type: fc.oneof(fc.string(), fc.constantFrom('incomingCall', 'plugin', 'a_b'), fc.jsonValue()),
    user_uuid: fc.oneof(fc.uuid(), fc.string(), fc.jsonValue()),
    title: fc.oneof(fc.string({ maxLength: 200 }), fc.jsonValue()),
    body: fc.oneof(fc.string({ maxLength: 300 }), fc.jsonValue()),
    extra: fc.oneof(fc.dictionary(fc.string(), fc.jsonValue()), fc.jsonValue()),
  },
  { requiredKeys: [] },
);
const busLike = fc.record(
  {
    name: fc.constantFrom(
      'call_push_notification',
      'call_cancel_push_notification',
      'user_missed_call',
      'user_voicemail_message_created',
      'chatd_user_room_message_created',
      'other',
    ),
    data: fc.oneof(
      fc.jsonValue(),
      fc.record(
        {
          call_id: fc.oneof(fc.string(), fc.jsonValue()),
          peer_caller_id_number: fc.oneof(fc.string(), fc.jsonValue()),
          ring_timeout: fc.oneof(fc.nat().map(String), fc.jsonValue()),
          video: fc.jsonValue(),
          message: fc.jsonValue(),
          uuid: fc.string(),
          conversation_id: fc.oneof(fc.string(), fc.jsonValue()),
          user_uuid: fc.constantFrom('u-1', 'u-2'),
        },
        { requiredKeys: [] },
      ),
    ),
    user_uuid: fc.oneof(fc.constant('u-1'), fc.jsonValue()),
  },
  { requiredKeys: [] },
);

describe('properties', () => {
  it('decode throws nothing but CodecError on arbitrary JSON', () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), apiLike, busLike), (input) => {
        try {
          wazoCodec.decode!(input, { tenant: 't', now: NOW });
        } catch (error) {
          if (!(error instanceof CodecError)) throw error;
        }
      }),
      { numRuns: 1000 },
    );
  }, 30_000);

  it('encode fits the provider limit or refuses with a CodecError', () => {
    let sent = 0;
    let refused = 0;
    const types = fc.constantFrom(
      'incoming_call',
      'call_cancelled',
      'missed_calls',
      'voicemail',
      'message',
      'custom',
    ) as fc.Arbitrary<CallNotification['type']>;
    const text = fc.string({ maxLength: 600, unit: 'binary' });
    fc.assert(
      fc.property(
        types,
        text,
        text,
        fc.option(fc.jsonValue({ maxDepth: 3 })),
        fc.option(
          fc.dictionary(
            fc.string({ maxLength: 20 }),
            fc.oneof(fc.string({ maxLength: 400 }), fc.jsonValue({ maxDepth: 2 })),
          ),
        ),
        fc.constantFrom(binding('apns', 'voip'), binding('apns', 'alert'), binding('fcm', 'data')),
        (type, name, body, items, extra, b) => {
          const n: CallNotification = {
            ...callNotification(),
            type,
            customType: 'custom_type',
            message: { title: name, body },
          };
          n.call!.from.displayName = name;
          n.missed = [{ callId: 'c', from: { displayName: name }, at: n.createdAt }];
          const wazo: Record<string, unknown> = {};
          if (items !== null) wazo.items = items;
          if (extra !== null) wazo.extra = extra;
          n.vendor = { wazo };
          let out: PushRequest | null;
          try {
            out = wazoCodec.encode(n, b, { now: NOW });
          } catch (error) {
            if (!(error instanceof CodecError)) throw error;
            refused++;
            return;
          }
          if (out) {
            expect(payloadSize(out)).toBeLessThanOrEqual(payloadLimit(out));
            sent++;
          }
        },
      ),
      { numRuns: 150 },
    );
    // Both outcomes occur, so the property checks real payloads, not only refusals.
    expect(sent).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);
  }, 60_000);

  it('pythonJsonDumps is ASCII-only JSON that reads back to the same value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = pythonJsonDumps(value);
        expect(text).toMatch(/^[\x20-\x7e]*$/);
        // JSON itself has no -0, so compare with what JSON makes of the value.
        expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(value)));
      }),
      { numRuns: 1000 },
    );
  }, 30_000);
});
