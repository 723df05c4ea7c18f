import { CodecError, type CallNotification } from '@pushrelay/core';
import { describe, expect, it } from 'vitest';
import { pythonIsoformat, pythonJsonDumps, wazoCodec } from '../src/index.js';
import { binding, callNotification } from './helpers.js';

const NOW = Date.parse('2024-08-06T12:00:00.123Z');

function caught(fn: () => unknown): CodecError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(CodecError);
    return error as CodecError;
  }
  throw new Error('expected a CodecError');
}

function fcmItems(n: CallNotification): Record<string, unknown> {
  const out = wazoCodec.encode(n, binding('fcm', 'data'), { now: NOW })!;
  return JSON.parse((out.payload as { data: { items: string } }).data.items) as Record<string, unknown>;
}

describe('Python json.dumps(sort_keys=True, separators=(",", ":"))', () => {
  // Expected strings are what CPython 3 prints for the same values.
  it('escapes everything outside printable ASCII as lowercase \\uXXXX, astral as surrogate pairs', () => {
    expect(pythonJsonDumps({ s: 'Café ☕ 😀 \u007f\u0001\n\t"\\/' })).toBe(
      '{"s":"Caf\\u00e9 \\u2615 \\ud83d\\ude00 \\u007f\\u0001\\n\\t\\"\\\\/"}',
    );
  });

  it('sorts keys by code point, not by UTF-16 unit', () => {
    expect(pythonJsonDumps({ '😀': 1, '～': 2, b: 3, B: 4, aa: 5, a: 6 })).toBe(
      '{"B":4,"a":6,"aa":5,"b":3,"\\uff5e":2,"\\ud83d\\ude00":1}',
    );
  });

  it('prints numbers as Python does', () => {
    expect(pythonJsonDumps([0.1, 1.5, 1e-5, 0.0001, 123456789.125, -2.5e-7, 12, 2 ** 53, 1e21, -0])).toBe(
      '[0.1,1.5,1e-05,0.0001,123456789.125,-2.5e-07,12,9007199254740992,1000000000000000000000,0]',
    );
    // JSON.parse cannot tell 2.0 from 2: whole numbers are printed as Python ints.
    expect(pythonJsonDumps(2.0)).toBe('2');
  });

  it('refuses what JSON cannot carry', () => {
    expect(() => pythonJsonDumps({ a: Number.NaN })).toThrow(/finite/);
  });
});

describe('notification_timestamp', () => {
  it('is isoformat() with microseconds, and without a fraction on a whole second', () => {
    expect(pythonIsoformat(NOW)).toBe('2024-08-06T12:00:00.123000+00:00');
    expect(pythonIsoformat(Date.parse('2024-08-06T12:00:00Z'))).toBe('2024-08-06T12:00:00+00:00');
    expect(pythonIsoformat(Date.parse('2024-08-06T12:00:00Z') + 0.5)).toBe('2024-08-06T12:00:00.000500+00:00');
  });
});

describe('type traps', () => {
  it('keeps ring_timeout a string, video a bool and data_only true', () => {
    const n = callNotification();
    (n.vendor!.wazo as { items: Record<string, unknown> }).items.ring_timeout = '42';
    n.call!.video = true;
    n.vendor!.wazo = { items: { ...(n.vendor!.wazo as { items: object }).items, video: true } };
    expect(fcmItems(n)).toMatchObject({ ring_timeout: '42', video: true });
    const cancel = fcmItems({ ...n, type: 'call_cancelled' });
    expect(cancel.data_only).toBe(true);
    expect(fcmItems(n)).not.toHaveProperty('data_only');
  });

  it('builds the call items from the canonical call when no Wazo data came with it', () => {
    const n = callNotification();
    delete n.vendor;
    expect(fcmItems(n)).toEqual({
      peer_caller_id_number: '8001',
      peer_caller_id_name: 'Alice',
      call_id: '1560784195.313',
      video: false,
      ring_timeout: '30',
      notification_timestamp: '2024-08-06T12:00:00.123000+00:00',
    });
  });

  it('sends "items": "" on FCM when a custom push has no items', () => {
    const n: CallNotification = {
      ...callNotification(),
      id: 'c1',
      type: 'custom',
      customType: 'reminder',
      message: { title: 'Hi', body: 'there' },
    };
    delete n.call;
    delete n.vendor;
    const out = wazoCodec.encode(n, binding('fcm', 'data'), { now: NOW })!;
    expect((out.payload as { data: unknown }).data).toEqual({ notification_type: 'reminder', items: '' });
  });
});

describe('routing and refusals', () => {
  it('uses the device default topic for non-call pushes', () => {
    const n = { ...callNotification(), type: 'call_cancelled' as const };
    const out = wazoCodec.encode(n, binding('apns', 'alert', { apns_default_topic: 'com.example.phone' }), {
      now: NOW,
    })!;
    expect(out.headers).toEqual({ 'apns-topic': 'com.example.phone' });
    expect(wazoCodec.encode(n, binding('apns', 'voip'), { now: NOW })).toBeNull();
  });

  it('does not push to HMS', () => {
    expect(caught(() => wazoCodec.encode(callNotification(), binding('hms', 'data'), { now: NOW })).path).toBe(
      'binding.provider',
    );
  });

  it('refuses FCM data values that are not strings, as FCM v1 would with a 400', () => {
    const n: CallNotification = {
      ...callNotification(),
      type: 'custom',
      customType: 'plugin',
      message: { title: 't', body: 'b' },
      vendor: { wazo: { extra: { plugin: { id: 'x' } } } },
    };
    expect(caught(() => wazoCodec.encode(n, binding('fcm', 'data'), { now: NOW })).path).toBe(
      'vendor.wazo.extra.plugin',
    );
    // APNs takes the object as it is.
    expect(wazoCodec.encode(n, binding('apns', 'alert'), { now: NOW })).not.toBeNull();
  });

  it('refuses a custom type that only Wazo may send', () => {
    const n: CallNotification = {
      ...callNotification(),
      type: 'custom',
      customType: 'missedCall',
      message: { title: 't' },
    };
    expect(caught(() => wazoCodec.encode(n, binding('fcm', 'data'), { now: NOW })).path).toBe('customType');
  });

  it('refuses a push over the provider limit before sending it', () => {
    const n: CallNotification = {
      ...callNotification(),
      type: 'custom',
      customType: 'big',
      message: { title: 't', body: 'b' },
      vendor: { wazo: { items: { blob: 'é'.repeat(800) } } },
    };
    // 800 characters become 4800 bytes of \u00e9 in the FCM items string.
    expect(caught(() => wazoCodec.encode(n, binding('fcm', 'data'), { now: NOW })).message).toMatch(
      /over the fcm limit of 4096/,
    );
  });
});

describe('decoding', () => {
  it('moves extra.items to items and keeps the other extra keys beside it', () => {
    const [n] = wazoCodec.decode!(
      {
        notification_type: 'x',
        user_uuid: '123e4567-e89b-12d3-a456-426614174000',
        title: 't',
        body: 'b',
        extra: { items: { a: 1 }, k: 'v' },
      },
      { tenant: 't', now: NOW },
    );
    expect(n!.vendor).toEqual({ wazo: { items: { a: 1 }, extra: { k: 'v' } } });
    const out = wazoCodec.encode(n!, binding('fcm', 'data'), { now: NOW })!;
    expect((out.payload as { data: unknown }).data).toEqual({ notification_type: 'x', items: '{"a":1}', k: 'v' });
  });

  it('counts title and body limits in characters as Python does', () => {
    const ok = {
      notification_type: 'x',
      user_uuid: '123e4567-e89b-12d3-a456-426614174000',
      title: '😀'.repeat(128),
      body: 'b',
    };
    expect(wazoCodec.decode!(ok, { tenant: 't', now: NOW })).toHaveLength(1);
    expect(caught(() => wazoCodec.decode!({ ...ok, title: '😀'.repeat(129) }, { tenant: 't', now: NOW })).path).toBe(
      'title',
    );
  });

  it('sends an unknown missed caller back out as null, as webhookd does', () => {
    const [n] = wazoCodec.decode!(
      { name: 'user_missed_call', user_uuid: 'u-1', data: { conversation_id: '1.5' } },
      { tenant: 't', now: NOW },
    );
    expect(n!.missed![0]!.from).toEqual({ displayName: '<name unknown>' });
    expect(fcmItems(n!)).toEqual({
      caller_id_name: null,
      caller_id_number: null,
      data_only: true,
      notification_timestamp: '2024-08-06T12:00:00.123000+00:00',
    });
  });

  it('takes the call ring timeout from the event and the recipient from the bus key', () => {
    const [n] = wazoCodec.decode!(
      {
        name: 'call_push_notification',
        'user_uuid:abc': true,
        data: { call_id: '1.2', peer_caller_id_number: '8001', ring_timeout: '42' },
      },
      { tenant: 't', now: NOW },
    );
    expect(n!.recipient).toBe('abc');
    expect(Date.parse(n!.deadline) - NOW).toBe(42_000);
  });
});
