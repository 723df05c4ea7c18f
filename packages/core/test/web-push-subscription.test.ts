import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError, parseWebPushSubscription, parseWebPushToken, webPushToken } from '../src/index.js';

// A P-256 point and an auth secret as a browser's PushSubscription.toJSON() gives them.
const p256dh = 'BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4';
const auth = 'BTBZMqHH6r4Tts7J_aSIgg';
const subscription = { endpoint: 'https://push.example.net/push/abc', keys: { p256dh, auth } };

describe('web push subscriptions', () => {
  it('reads a browser subscription into its canonical form', () => {
    expect(
      parseWebPushSubscription({
        expirationTime: null,
        keys: { auth: `${auth}==`, p256dh },
        endpoint: subscription.endpoint,
      }),
    ).toEqual(subscription);
  });

  it('makes one token of a subscription however its JSON was ordered or padded', () => {
    const token = webPushToken(subscription);
    expect(token).toBe(
      `{"endpoint":"https://push.example.net/push/abc","keys":{"p256dh":"${p256dh}","auth":"${auth}"}}`,
    );
    expect(webPushToken({ keys: { auth: `${auth}==`, p256dh }, endpoint: subscription.endpoint })).toBe(token);
    expect(parseWebPushToken(token)).toEqual(subscription);
  });

  it('names every problem of a bad subscription', () => {
    let error: unknown;
    try {
      parseWebPushSubscription({ endpoint: 'ftp://x', keys: { p256dh: 'AAAA', auth: 'x'.repeat(30) }, extra: 1 });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues).toEqual([
      { path: 'extra', message: 'is not a known field' },
      { path: 'endpoint', message: 'must be an http(s) URL' },
      { path: 'keys.p256dh', message: 'must be base64url of a 65-byte uncompressed P-256 public key' },
      { path: 'keys.auth', message: 'must be base64url of the 16-byte auth secret' },
    ]);
    expect(() => parseWebPushSubscription({ ...subscription, keys: { p256dh: `A${p256dh.slice(1)}`, auth } })).toThrow(
      'keys.p256dh: must be an uncompressed P-256 point',
    );
    expect(() => parseWebPushToken('not json')).toThrow(ValidationError);
  });

  it('answers any JSON with a subscription or a ValidationError, never anything else', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        try {
          const parsed = parseWebPushSubscription(value);
          expect(parseWebPushToken(webPushToken(parsed))).toEqual(parsed);
        } catch (error) {
          expect(error).toBeInstanceOf(ValidationError);
        }
      }),
    );
  });
});
