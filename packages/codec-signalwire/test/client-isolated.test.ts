/**
 * The device-side decoder must run where there is no Node: it is bundled with its real
 * dependencies (pako) for the browser and executed in a bare `node:vm` context whose only
 * host objects are WebCrypto and TextDecoder, as in a browser or React Native with a
 * WebCrypto polyfill. There is no require, process, Buffer or atob in that context, so any
 * Node built-in reached at run time fails the test.
 */
import { webcrypto } from 'node:crypto';
import { dirname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createContext, runInContext } from 'node:vm';
import { deflateSync } from 'node:zlib';
import { createCipheriv } from 'node:crypto';
import { build } from 'rolldown';
import { beforeAll, describe, expect, it } from 'vitest';
import { createSignalWireCodec, generatePushKey } from '../src/index.js';
import { KEY, sampleBinding, sampleNotification } from './helpers.js';

const packageDir = dirname(dirname(fileURLToPath(import.meta.url)));
const entry = `${packageDir}/src/client/index.ts`;

let bundle: { code: string; moduleIds: string[] };
let client: {
  decode: (pushJson: string, key: string | undefined, maxInviteBytes?: number) => Promise<string>;
};

beforeAll(async () => {
  const out = await build({
    input: entry,
    write: false,
    platform: 'browser',
    output: { format: 'iife', name: 'SignalWireClient' },
  });
  const chunk = out.output[0];
  bundle = { code: chunk.code, moduleIds: chunk.moduleIds };
  const context = createContext({ crypto: webcrypto, TextDecoder });
  runInContext(chunk.code, context);
  // Values cross the realm boundary as JSON text; errors come back as their name, code and field.
  runInContext(
    `globalThis.decodeForTest = (pushJson, key, maxInviteBytes) =>
       SignalWireClient.decodeSignalWirePush(JSON.parse(pushJson), key, { maxInviteBytes })
         .then((r) => JSON.stringify({ ok: r }))
         .catch((e) => JSON.stringify({ error: { name: e.name, code: e.code, field: e.field,
            isClass: e instanceof SignalWireClient.SignalWirePushError } }));
     globalThis.hostGlobals = JSON.stringify([typeof require, typeof process, typeof Buffer, typeof atob, typeof module]);`,
    context,
  );
  client = { decode: context.decodeForTest as typeof client.decode };
  expect(JSON.parse(context.hostGlobals as string)).toEqual([
    'undefined',
    'undefined',
    'undefined',
    'undefined',
    'undefined',
  ]);
}, 60_000);

async function decode(push: unknown, key: string | undefined, maxInviteBytes?: number) {
  return JSON.parse(await client.decode(JSON.stringify(push), key, maxInviteBytes)) as {
    ok?: { payload: Record<string, string>; invite: unknown };
    error?: { name: string; code: string; field?: string; isClass: boolean };
  };
}

function encodeFor(provider: 'apns' | 'fcm' | 'hms', key: string | null = KEY) {
  const codec = createSignalWireCodec();
  const binding = sampleBinding({
    provider,
    pushKind: provider === 'apns' ? 'voip' : 'alert',
    ...(key ? { secrets: { pushKey: key } } : { secrets: {} }),
  });
  return codec.encode(sampleNotification(), binding, { now: 0 })!.payload;
}

/** A push whose invite is the given plaintext bytes, zlib-compressed, sealed with KEY. */
function sealedPush(plain: Buffer, compress = true) {
  const iv = Buffer.alloc(12, 7);
  const cipher = createCipheriv('aes-256-gcm', Buffer.from(KEY, 'base64'), iv);
  const body = compress ? deflateSync(plain) : plain;
  const ct = Buffer.concat([cipher.update(body), cipher.final()]);
  const core = structuredClone((encodeFor('apns').aps as { alert: Record<string, string> }).alert);
  return {
    aps: {
      alert: {
        ...core,
        iv: iv.toString('base64'),
        tag: cipher.getAuthTag().toString('base64'),
        invite: ct.toString('base64'),
      },
    },
  };
}

describe('client decoder without Node', () => {
  it('bundles from the client sources and pako only, with no node: import', () => {
    const outside = bundle.moduleIds
      .map((id) => relative(packageDir, id))
      .filter((id) => !id.startsWith('src/client/') && !/node_modules\/pako\//.test(id));
    expect(outside).toEqual([]);
    expect(bundle.code).not.toMatch(/\bnode:|\brequire\(|@pushrelay\/core/);
  });

  it.each(['apns', 'fcm', 'hms'] as const)('decrypts what the server encoded for %s', async (provider) => {
    const result = await decode(encodeFor(provider), KEY);
    expect(result.error).toBeUndefined();
    expect(result.ok!.invite).toEqual(sampleNotification().vendor!.invite);
    expect(result.ok!.payload.encryption_type).toBe('aes_256_gcm');
  });

  it('reads every wrapper a device sees: FCM v1 request, React Native Android, bare core, JSON text', async () => {
    const fcm = encodeFor('fcm') as { notification: { body: string } };
    const core = JSON.parse(fcm.notification.body) as Record<string, string>;
    const wrappers = [
      { message: { token: 'T', ...fcm } },
      { 'gcm.notification.body': fcm.notification.body },
      { payload: { 'gcm.notification.body': fcm.notification.body } },
      core,
    ];
    for (const push of wrappers) {
      const result = await decode(push, KEY);
      expect(result.ok?.invite, JSON.stringify(push).slice(0, 60)).toEqual(sampleNotification().vendor!.invite);
    }
  });

  it('decodes an unencrypted push without a key', async () => {
    const result = await decode(encodeFor('fcm', null), undefined);
    expect(result.ok!.payload.encryption_type).toBe('none');
    expect(result.ok!.invite).toEqual(sampleNotification().vendor!.invite);
  });

  it('refuses a wrong key with decrypt_failed', async () => {
    expect((await decode(encodeFor('apns'), generatePushKey())).error).toEqual({
      name: 'SignalWirePushError',
      code: 'decrypt_failed',
      field: 'invite',
      isClass: true,
    });
  });

  it('refuses a tampered tag with decrypt_failed', async () => {
    const push = encodeFor('apns') as { aps: { alert: Record<string, string> } };
    const tag = Buffer.from(push.aps.alert.tag!, 'base64');
    tag[0]! ^= 1;
    push.aps.alert.tag = tag.toString('base64');
    expect((await decode(push, KEY)).error?.code).toBe('decrypt_failed');
  });

  it('refuses truncated base64 with malformed, naming the field', async () => {
    const push = encodeFor('apns') as { aps: { alert: Record<string, string> } };
    push.aps.alert.invite = push.aps.alert.invite!.slice(0, -2);
    expect((await decode(push, KEY)).error).toEqual({
      name: 'SignalWirePushError',
      code: 'malformed',
      field: 'invite',
      isClass: true,
    });
  });

  it('stops inflating past the limit with too_large', async () => {
    const bomb = Buffer.from(JSON.stringify({ params: { params: { sdp: ' '.repeat(2_000_000) } } }));
    const push = sealedPush(bomb);
    expect(Buffer.byteLength(JSON.stringify(push))).toBeLessThan(8_000);
    expect((await decode(push, KEY)).error?.code).toBe('too_large');
    expect((await decode(push, KEY, 4_000_000)).ok).toBeDefined();
  });

  it('refuses plaintext that is not zlib with inflate_failed', async () => {
    expect((await decode(sealedPush(Buffer.from('{"params":{"params":{}}}'), false), KEY)).error?.code).toBe(
      'inflate_failed',
    );
  });

  it('refuses a bad key and a non-SignalWire push with typed errors', async () => {
    expect((await decode(encodeFor('apns'), 'c2hvcnQ=')).error?.code).toBe('bad_key');
    expect((await decode({ aps: { alert: 'Hello' } }, KEY)).error?.code).toBe('malformed');
    expect((await decode(encodeFor('apns'), undefined)).error?.code).toBe('bad_key');
  });
});
