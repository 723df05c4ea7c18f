import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CodecError, payloadLimit, payloadSize, type CallNotification, type DeviceBinding } from '@pushrelay/core';
import { createKaleyraCodec, kaleyraCodec } from '../src/index.js';

const context = { tenant: 't', now: Date.parse('2024-01-01T00:00:00Z') };

function webhook(users: Array<[string, string]>, initiator = 'usr_1'): Record<string, unknown> {
  return {
    event: 'on_call_incoming',
    room_id: 'room_1',
    data: { initiator, users: users.map(([alias, status]) => ({ user: { userAlias: alias }, status })) },
  };
}

function binding(provider: DeviceBinding['provider'], pushKind: DeviceBinding['pushKind'] = 'data'): DeviceBinding {
  return {
    id: 'b',
    tenant: 't',
    userId: 'usr_2',
    provider,
    token: 'tok',
    app: 'com.example.app',
    environment: 'production',
    pushKind,
    format: 'kaleyra',
    origin: 'api',
    createdAt: '2024-01-01T00:00:00.000Z',
    updatedAt: '2024-01-01T00:00:00.000Z',
  };
}

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('kaleyra decode quirks', () => {
  it('rings each invitee once even when Kaleyra lists them twice', () => {
    const out = kaleyraCodec.decode!(
      webhook([
        ['usr_1', 'invited'],
        ['usr_2', 'invited'],
        ['usr_2', 'invited'],
      ]),
      context,
    );
    expect(out.map((n) => n.recipient)).toEqual(['usr_2']);
  });

  it('gives no notification when the initiator is the only one invited', () => {
    expect(kaleyraCodec.decode!(webhook([['usr_1', 'invited']]), context)).toEqual([]);
  });

  it('takes the ring time from the decode context, then from the options', () => {
    const input = webhook([['usr_2', 'invited']]);
    const fromOptions = createKaleyraCodec({ ringTimeoutMs: 45_000 }).decode!(input, context);
    expect(fromOptions[0]!.deadline).toBe('2024-01-01T00:00:45.000Z');
    const fromContext = createKaleyraCodec({ ringTimeoutMs: 45_000 }).decode!(input, {
      ...context,
      defaultRingTimeoutMs: 20_000,
    });
    expect(fromContext[0]!.deadline).toBe('2024-01-01T00:00:20.000Z');
  });

  it('names the path of a bad field in the error', () => {
    const input = webhook([['usr_2', 'invited']]);
    (input.data as { options: unknown }).options = { callType: 7 };
    const error = catchError(() => kaleyraCodec.decode!(input, context));
    expect(error).toBeInstanceOf(CodecError);
    expect((error as CodecError).path).toBe('data.options.callType');
  });
});

describe('kaleyra encode quirks', () => {
  const [incoming] = kaleyraCodec.decode!(webhook([['usr_2', 'invited']]), context) as [CallNotification];

  it('puts the webhook under the configured FCM data key', () => {
    const out = createKaleyraCodec({ fcmDataKey: 'payload' }).encode(incoming, binding('fcm'), { now: context.now });
    expect(Object.keys(out!.payload.data as object)).toEqual(['payload']);
    expect(JSON.parse((out!.payload.data as { payload: string }).payload)).toEqual(incoming.vendor!.webhook);
  });

  it("names the Push Kit API of a HarmonyOS NEXT device from the binding's params['hms-api']", () => {
    const next = { ...binding('hms'), params: { 'hms-api': 'v3' } };
    expect(kaleyraCodec.encode(incoming, next, { now: context.now })!.headers).toEqual({ 'hms-api': 'v3' });
    expect(kaleyraCodec.encode(incoming, binding('hms'), { now: context.now })!.headers).toBeUndefined();
    const bad = catchError(() =>
      kaleyraCodec.encode(incoming, { ...next, params: { 'hms-api': 'v9' } }, { now: context.now }),
    );
    expect((bad as CodecError).path).toBe('binding.params.hms-api');
  });

  it('refuses a carried webhook whose event does not match the notification type', () => {
    const wrong: CallNotification = { ...incoming, vendor: { webhook: { event: 'on_call_ended' } } };
    const error = catchError(() => kaleyraCodec.encode(wrong, binding('fcm'), { now: context.now }));
    expect(error).toBeInstanceOf(CodecError);
    expect((error as CodecError).path).toBe('vendor.webhook.event');
  });

  it('never sends a missed-call summary as a VoIP push', () => {
    const missed: CallNotification = {
      ...incoming,
      type: 'missed_calls',
      vendor: undefined,
      missed: [{ callId: 'room_1', from: { uri: 'usr_1' }, at: '2024-01-01T00:00:00.000Z' }],
    };
    expect(kaleyraCodec.encode(missed, binding('apns', 'voip'), { now: context.now })).toBeNull();
  });

  it('rejects a webhook too large for FCM before sending', () => {
    const big: CallNotification = {
      ...incoming,
      vendor: { webhook: { ...(incoming.vendor!.webhook as object), padding: 'x'.repeat(5000) } },
    };
    const error = catchError(() => kaleyraCodec.encode(big, binding('fcm'), { now: context.now }));
    expect(error).toBeInstanceOf(CodecError);
    expect((error as CodecError).message).toMatch(/over the 4096-byte limit/);
  });
});

describe('kaleyra properties', () => {
  it('decode throws nothing but CodecError on arbitrary JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (input) => {
        const error = catchError(() => kaleyraCodec.decode!(input, context));
        return error === undefined || error instanceof CodecError;
      }),
      { numRuns: 500 },
    );
  });

  it('decode throws nothing but CodecError on webhook-shaped input with arbitrary leaves', () => {
    const leaf = fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.boolean(), fc.jsonValue());
    const shaped = fc.record(
      {
        event: fc.constantFrom('on_call_incoming', 'on_call_ended', 'on_missed_call', 'on_message_sent', leaf),
        room_id: leaf,
        data: fc.oneof(
          leaf,
          fc.record(
            {
              initiator: leaf,
              caller_id: leaf,
              users: fc.oneof(
                leaf,
                fc.array(
                  fc.oneof(leaf, fc.record({ user: fc.oneof(leaf, fc.record({ userAlias: leaf })), status: leaf })),
                ),
              ),
              called_users: fc.oneof(leaf, fc.array(fc.oneof(leaf, fc.record({ user_id: leaf, status: leaf })))),
              options: fc.oneof(leaf, fc.record({ callType: leaf, creationDate: leaf })),
            },
            { requiredKeys: [] },
          ),
        ),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(shaped, (input) => {
        const error = catchError(() => kaleyraCodec.decode!(input, context));
        return error === undefined || error instanceof CodecError;
      }),
      { numRuns: 1000 },
    );
  });

  it('every decoded webhook encodes within the provider limit or is refused with a CodecError', () => {
    const alias = fc.string({ minLength: 1, maxLength: 300 });
    const input = fc.record({
      initiator: alias,
      users: fc.array(alias, { minLength: 1, maxLength: 20 }),
      extra: fc.dictionary(fc.string({ maxLength: 20 }), fc.jsonValue(), { maxKeys: 8 }),
    });
    fc.assert(
      fc.property(input, fc.constantFrom('fcm', 'hms', 'apns'), ({ initiator, users, extra }, provider) => {
        const hook: Record<string, unknown> = { ...extra, ...webhook(users.map((u) => [u, 'invited'])) };
        (hook.data as { initiator: string }).initiator = initiator;
        for (const n of kaleyraCodec.decode!(hook, context)) {
          const b = binding(provider as DeviceBinding['provider'], provider === 'apns' ? 'voip' : 'data');
          let out;
          try {
            out = kaleyraCodec.encode(n, b, { now: context.now });
          } catch (error) {
            if (!(error instanceof CodecError)) return false;
            continue;
          }
          if (out && payloadSize(out) > payloadLimit(out)) return false;
        }
        return true;
      }),
      { numRuns: 300 },
    );
  });
});

describe('kaleyra dates', () => {
  it('uses creationDate only when it carries a time zone', () => {
    const at = (creationDate: unknown) => {
      const input = webhook([['usr_2', 'invited']]);
      (input.data as { options: unknown }).options = { creationDate };
      return kaleyraCodec.decode!(input, context)[0]!.call!.startedAt;
    };
    expect(at('2022-05-26T11:04:38.097+02:00')).toBe('2022-05-26T09:04:38.097Z');
    expect(at('2022-05-26T09:04:38')).toBe('2024-01-01T00:00:00.000Z');
    expect(at(1653555878)).toBe('2024-01-01T00:00:00.000Z');
  });
});
