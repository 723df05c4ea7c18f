import { createCipheriv, createHash } from 'node:crypto';
import { deflateSync } from 'node:zlib';
import { CodecError, type PushRequest } from '@pushrelay/core';
import { describe, expect, it } from 'vitest';
import { createSignalWireCodec, generatePushKey, openSignalWirePush, signalWireCodec } from '../src/index.js';
import { KEY, sampleBinding, sampleNotification } from './helpers.js';

// SignalWire's APNs example (vendor-formats.md section 3), verbatim.
const VENDOR_EXAMPLE = JSON.parse(
  '{"aps":{"alert":{"version":"1","type":"call_invite","title":"Incoming Call","notification_uuid":"982cf533-7b1b-4cf6-a6e0-004aab68c503","incoming_caller_id":"0123456789","incoming_caller_name":"Tester","with_video":"true","encryption_type":"aes_256_gcm","iv":"+ojw3NtIgHkHAoD5","tag":"eIkch7g8h75m2QWrvdB3UQ==","invite":"YMK3bz0VtiQvxpxWRIE="}}}',
) as { aps: { alert: Record<string, string> } };

const seedIv = () => Buffer.from('+ojw3NtIgHkHAoD5', 'base64');

function caught(fn: () => unknown): CodecError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(CodecError);
    return error as CodecError;
  }
  throw new Error('expected a CodecError');
}

describe('SignalWire encoder', () => {
  it('matches the vendor example in every field but the ciphertext, which decrypts to the invite', () => {
    const out = createSignalWireCodec({ randomBytes: seedIv }).encode(sampleNotification(), sampleBinding(), {
      now: 0,
    })!;
    const alert = (out.payload as typeof VENDOR_EXAMPLE).aps.alert;
    // The example was sealed with a key nobody published, so only its shape can match.
    expect({ ...alert, tag: VENDOR_EXAMPLE.aps.alert.tag, invite: VENDOR_EXAMPLE.aps.alert.invite }).toEqual(
      VENDOR_EXAMPLE.aps.alert,
    );
    expect(Object.keys(alert)).toEqual(Object.keys(VENDOR_EXAMPLE.aps.alert));
    expect(openSignalWirePush(out.payload, KEY).invite).toEqual(sampleNotification().vendor!.invite);
  });

  it('uses a fresh IV for every push by default', () => {
    const a = signalWireCodec.encode(sampleNotification(), sampleBinding(), { now: 0 })!;
    const b = signalWireCodec.encode(sampleNotification(), sampleBinding(), { now: 0 })!;
    const ivs = [a, b].map((r) => (r.payload as typeof VENDOR_EXAMPLE).aps.alert.iv);
    expect(ivs[0]).not.toBe(ivs[1]);
    expect(Buffer.from(ivs[0]!, 'base64')).toHaveLength(12);
    for (const r of [a, b])
      expect(openSignalWirePush(r.payload, KEY).invite).toEqual(sampleNotification().vendor!.invite);
  });

  it('keeps notification_uuid stable across retries when the id is not a UUID', () => {
    const n = { ...sampleNotification(), id: 'call-42' };
    const uuid = (r: PushRequest | null) => (r!.payload as typeof VENDOR_EXAMPLE).aps.alert.notification_uuid;
    const first = uuid(signalWireCodec.encode(n, sampleBinding(), { now: 0 }));
    expect(first).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(uuid(signalWireCodec.encode(n, sampleBinding(), { now: 0 }))).toBe(first);
    expect(uuid(signalWireCodec.encode({ ...n, tenant: 'other' }, sampleBinding(), { now: 0 }))).not.toBe(first);
  });

  it('puts every value in as a string, with_video "false" for audio calls', () => {
    const n = sampleNotification();
    n.call!.video = false;
    const alert = (signalWireCodec.encode(n, sampleBinding(), { now: 0 })!.payload as typeof VENDOR_EXAMPLE).aps.alert;
    expect(alert.with_video).toBe('false');
    expect(Object.values(alert).every((v) => typeof v === 'string')).toBe(true);
  });

  it('rejects a key that is not 32 bytes, naming the secret', () => {
    const e = caught(() =>
      signalWireCodec.encode(sampleNotification(), sampleBinding({ secrets: { pushKey: 'c2hvcnQ=' } }), { now: 0 }),
    );
    expect(e.path).toBe('binding.secrets.pushKey');
  });

  it('refuses a keyless device when encryption is required', () => {
    const codec = createSignalWireCodec({ requireEncryption: true });
    expect(caught(() => codec.encode(sampleNotification(), sampleBinding({ secrets: {} }), { now: 0 })).path).toBe(
      'binding.secrets.pushKey',
    );
  });

  it('needs the verto invite in vendor.invite', () => {
    const n = sampleNotification();
    delete n.vendor;
    expect(caught(() => signalWireCodec.encode(n, sampleBinding(), { now: 0 })).path).toBe('vendor.invite');
  });

  it('refuses a push over the provider limit before it is sent', () => {
    const n = sampleNotification();
    const invite = n.vendor!.invite as { params: { params: { sdp: string } } };
    // Random text does not compress, so the sealed invite grows with it.
    invite.params.params.sdp = Array.from({ length: 80 }, (_, i) =>
      createHash('sha512').update(String(i)).digest('base64'),
    ).join('');
    const e = caught(() => signalWireCodec.encode(n, sampleBinding(), { now: 0 }));
    expect(e.message).toMatch(/over the apns limit of 5120/);
  });

  it('reads its own key format: generatePushKey gives 32 bytes of base64', () => {
    const key = generatePushKey();
    expect(Buffer.from(key, 'base64')).toHaveLength(32);
    expect(generatePushKey(() => new Uint8Array(32).fill(1))).toBe(Buffer.alloc(32, 1).toString('base64'));
    const out = signalWireCodec.encode(sampleNotification(), sampleBinding({ secrets: { pushKey: key } }), { now: 0 })!;
    expect(openSignalWirePush(out.payload, key).payload.encryption_type).toBe('aes_256_gcm');
  });
});

describe('openSignalWirePush (server side)', () => {
  const push = () =>
    structuredClone(
      signalWireCodec.encode(sampleNotification(), sampleBinding(), { now: 0 })!.payload,
    ) as typeof VENDOR_EXAMPLE;

  it('gives a CodecError for a wrong key, a tampered tag, truncated base64 and a zip bomb', () => {
    expect(caught(() => openSignalWirePush(push(), generatePushKey())).message).toMatch(/authentication failed/);
    const tampered = push();
    tampered.aps.alert.tag = Buffer.alloc(16).toString('base64');
    expect(caught(() => openSignalWirePush(tampered, KEY)).message).toMatch(/authentication failed/);
    const truncated = push();
    truncated.aps.alert.invite = truncated.aps.alert.invite!.slice(0, -1);
    expect(caught(() => openSignalWirePush(truncated, KEY)).path).toBe('invite');

    const iv = Buffer.alloc(12, 3);
    const cipher = createCipheriv('aes-256-gcm', Buffer.from(KEY, 'base64'), iv);
    const body = Buffer.concat([cipher.update(deflateSync(Buffer.alloc(5_000_000, 0x20))), cipher.final()]);
    const bomb = push();
    Object.assign(bomb.aps.alert, {
      iv: iv.toString('base64'),
      tag: cipher.getAuthTag().toString('base64'),
      invite: body.toString('base64'),
    });
    expect(caught(() => openSignalWirePush(bomb, KEY)).message).toMatch(/inflates to more than 262144 bytes/);
  });
});
