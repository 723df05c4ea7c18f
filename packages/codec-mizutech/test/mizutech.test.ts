import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CodecError,
  payloadLimit,
  payloadSize,
  type CallNotification,
  type DeviceBinding,
  type DeviceBindingInput,
} from '@pushrelay/core';
import { MizuPushHeaderError, createMizutechCodec, mizutechCodec, parseMizuPushHeader } from '../src/index.js';

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('parseMizuPushHeader', () => {
  it('reads the wiki example', () => {
    expect(parseMizuPushHeader('i:com.voip.phone:abcdef')).toEqual({
      provider: 'apns',
      app: 'com.voip.phone',
      token: 'abcdef',
      pushKind: 'voip',
      environment: 'production',
      format: 'mizutech',
      origin: 'sip-x-mpush',
    });
  });

  it('splits on the first two colons only, as the REGISTER example needs', () => {
    const parsed = parseMizuPushHeader(
      ' i:com.mycompany.myapp:c-10-ap_Kt0:G7SThkASJx2K4Rm1033iR0mIgzI1cLg5xxpST4cjrd_cqQquRLkHMi3eY4g ',
    );
    expect(parsed.app).toBe('com.mycompany.myapp');
    expect(parsed.token).toBe('c-10-ap_Kt0:G7SThkASJx2K4Rm1033iR0mIgzI1cLg5xxpST4cjrd_cqQquRLkHMi3eY4g');
  });

  it('reads an Android FCM binding and makes a binding input with tenant and user added', () => {
    const parsed = parseMizuPushHeader('a:com.telebroad.teleconsole:dQw4w9WgXcQ:APA91bHun4', {
      environment: 'sandbox',
    });
    const input: DeviceBindingInput = { ...parsed, tenant: 't', userId: '1111' };
    expect(input).toEqual({
      provider: 'fcm',
      app: 'com.telebroad.teleconsole',
      token: 'dQw4w9WgXcQ:APA91bHun4',
      pushKind: 'data',
      environment: 'sandbox',
      format: 'mizutech',
      origin: 'sip-x-mpush',
      tenant: 't',
      userId: '1111',
    });
  });

  it('answers an unknown provider letter with a typed error', () => {
    const error = catchError(() => parseMizuPushHeader('w:com.example:tok'));
    expect(error).toBeInstanceOf(MizuPushHeaderError);
    expect(error).toBeInstanceOf(CodecError);
    expect((error as MizuPushHeaderError).problem).toBe('unknown_provider');
    expect((error as MizuPushHeaderError).path).toBe('X-MPUSH.provider');
  });

  it.each([
    ['', 'X-MPUSH'],
    ['i:com.example', 'X-MPUSH'],
    ['i::tok', 'X-MPUSH.package'],
    ['i:com example:tok', 'X-MPUSH.package'],
    ['i:com.example:', 'X-MPUSH.token'],
    ['i:com.example:to k', 'X-MPUSH.token'],
  ])('rejects %j at %s', (value, path) => {
    const error = catchError(() => parseMizuPushHeader(value));
    expect(error).toBeInstanceOf(MizuPushHeaderError);
    expect((error as MizuPushHeaderError).problem).toBe('malformed');
    expect((error as MizuPushHeaderError).path).toBe(path);
  });

  it('throws nothing but CodecError on arbitrary header strings', () => {
    const headerish = fc.oneof(
      fc.string(),
      fc.tuple(fc.string({ maxLength: 3 }), fc.string(), fc.string()).map(([a, b, c]) => `${a}:${b}:${c}`),
      fc
        .tuple(
          fc.constantFrom('i', 'a', 'I', 'A'),
          fc.stringMatching(/^[a-z.]{0,20}$/),
          fc.string({ unit: 'binary-ascii' }),
        )
        .map(([a, b, c]) => `${a}:${b}:${c}`),
    );
    fc.assert(
      fc.property(headerish, (value) => {
        const error = catchError(() => parseMizuPushHeader(value));
        return error === undefined || error instanceof CodecError;
      }),
      { numRuns: 1000 },
    );
  });
});

const call: CallNotification = {
  id: 'c1',
  type: 'incoming_call',
  tenant: 't',
  recipient: '9876',
  call: { id: 'abcdef', from: { number: '1234' }, video: false, startedAt: '2024-05-01T12:00:00.000Z' },
  createdAt: '2024-05-01T12:00:00.000Z',
  deadline: '2024-05-01T12:00:30.000Z',
  priority: 'high',
};
const apns: DeviceBinding = {
  ...parseMizuPushHeader('i:com.voip.phone:abcdef'),
  id: 'b',
  tenant: 't',
  userId: '9876',
  createdAt: '2024-05-01T00:00:00.000Z',
  updatedAt: '2024-05-01T00:00:00.000Z',
};
const now = { now: Date.parse('2024-05-01T12:00:00.000Z') };

describe('mizutech encode quirks', () => {
  it('sends an alert push to the bundle topic for a token that is not a PushKit one', () => {
    const out = mizutechCodec.encode(call, { ...apns, pushKind: 'alert' }, now)!;
    expect([out.pushType, out.headers]).toEqual(['alert', { 'apns-topic': 'com.voip.phone' }]);
  });

  it('does not double the .voip suffix', () => {
    const out = mizutechCodec.encode(call, { ...apns, app: 'com.voip.phone.voip' }, now)!;
    expect(out.headers).toEqual({ 'apns-topic': 'com.voip.phone.voip' });
  });

  it('takes texts, sound and badge from the options', () => {
    const codec = createMizutechCodec({
      texts: { title: (c) => `Anruf von ${c}`, body: (c) => `VoIP-Anruf von ${c}` },
      sound: 'ring.caf',
      badge: 0,
    });
    const payload = codec.encode(call, apns, now)!.payload as { aps: unknown; data: { nmsg: string } };
    expect(payload.aps).toEqual({
      alert: { title: 'Anruf von 1234', body: 'VoIP-Anruf von 1234' },
      'content-available': 1,
      sound: 'ring.caf',
      badge: 0,
    });
    expect(payload.data.nmsg).toBe('Anruf von 1234');
  });

  it('can send FCM now-or-never like the APNs push', () => {
    const fcm: DeviceBinding = { ...apns, ...parseMizuPushHeader('a:com.example:tok') };
    expect(createMizutechCodec({ fcmExpiry: 'now-or-never' }).encode(call, fcm, now)!.expiresAt).toBeNull();
  });

  it('asks for a fresh REGISTER with a silent push: FCM data carrying nmsg, APNs background to an alert token, nothing to a VoIP token', () => {
    const refresh: CallNotification = { ...call, type: 'register_refresh', call: undefined, priority: 'normal' };
    const fcm: DeviceBinding = { ...apns, ...parseMizuPushHeader('a:com.example:tok') };
    expect(mizutechCodec.encode(refresh, fcm, now)).toEqual({
      provider: 'fcm',
      token: 'tok',
      app: 'com.example',
      environment: 'production',
      pushType: 'background',
      priority: 'high',
      expiresAt: Date.parse('2024-05-01T12:00:30.000Z'),
      payload: { android: { priority: 'high' }, data: { nmsg: 'register' } },
    });
    expect(mizutechCodec.encode(refresh, { ...apns, pushKind: 'alert' }, now)).toEqual({
      provider: 'apns',
      token: 'abcdef',
      app: 'com.voip.phone',
      environment: 'production',
      pushType: 'background',
      priority: 'normal',
      expiresAt: Date.parse('2024-05-01T12:00:30.000Z'),
      headers: { 'apns-topic': 'com.voip.phone' },
      payload: { aps: { 'content-available': 1 }, data: { nmsg: 'register' } },
    });
    expect(mizutechCodec.encode(refresh, apns, now)).toBeNull();
  });

  it('refuses HMS bindings with a CodecError', () => {
    const error = catchError(() => mizutechCodec.encode(call, { ...apns, provider: 'hms' }, now));
    expect(error).toBeInstanceOf(CodecError);
    expect((error as CodecError).path).toBe('binding.provider');
  });

  it('fits the provider limit or refuses with a CodecError, whatever the caller data', () => {
    const text = fc.string({ unit: 'grapheme', maxLength: 1500 });
    fc.assert(
      fc.property(text, text, text, text, fc.constantFrom('i', 'a'), (number, name, id, to, letter) => {
        const n: CallNotification = {
          ...call,
          recipient: to || 'u',
          call: {
            id: id || 'x',
            from: { number: number || '1', displayName: name || undefined },
            to: to ? { number: to } : undefined,
            video: false,
            startedAt: call.createdAt,
          },
        };
        const binding: DeviceBinding = { ...apns, ...parseMizuPushHeader(`${letter}:com.example:tok`) };
        let out;
        try {
          out = mizutechCodec.encode(n, binding, now);
        } catch (error) {
          return error instanceof CodecError;
        }
        return out !== null && payloadSize(out) <= payloadLimit(out);
      }),
      { numRuns: 300 },
    );
  });
});
