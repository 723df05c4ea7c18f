import { Inflate } from 'pako';
import { decodeBase64 } from './base64.js';
import { SignalWirePushError } from './errors.js';
import { DEFAULT_MAX_INVITE_BYTES, PAYLOAD_FIELDS, type SignalWirePushPayload, type VertoInvite } from './types.js';

/** The two WebCrypto calls the decoder makes, so any SubtleCrypto (or polyfill) fits. */
export interface SubtleCryptoLike {
  importKey(
    format: 'raw',
    keyData: Uint8Array<ArrayBuffer>,
    algorithm: { name: 'AES-GCM' },
    extractable: boolean,
    keyUsages: ['decrypt'],
  ): Promise<unknown>;
  decrypt(
    algorithm: { name: 'AES-GCM'; iv: Uint8Array<ArrayBuffer>; tagLength: number },
    key: never,
    data: Uint8Array<ArrayBuffer>,
  ): Promise<ArrayBuffer>;
}

export interface DecodeSignalWirePushOptions {
  /** Largest inflated invite accepted, in bytes. Default 256 KiB. */
  maxInviteBytes?: number;
  /** WebCrypto to use; default `globalThis.crypto.subtle` (browsers, React Native with a WebCrypto polyfill). */
  subtle?: SubtleCryptoLike;
}

export interface DecodedSignalWirePush {
  /** The core payload as received (all strings). */
  payload: SignalWirePushPayload;
  /** The verto invite to hand to the SDK (`node_id` and `params.params`). */
  invite: VertoInvite;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseJsonText(text: string, field: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new SignalWirePushError('malformed', 'is not JSON text', { field, cause: error });
  }
}

/**
 * Finds the core payload in what the device received: an APNs/PushKit payload (`aps.alert`),
 * an FCM message or web `onMessage` payload (`notification.body`, a JSON string), a React
 * Native Android payload (`gcm.notification.body`), an FCM v1 request (`message`), the core
 * object itself, or any of those as JSON text.
 */
export function extractSignalWirePayload(push: unknown): SignalWirePushPayload {
  let value = push;
  if (typeof value === 'string') value = parseJsonText(value, '');
  for (let depth = 0; depth < 4 && isRecord(value); depth++) {
    if ('invite' in value && 'encryption_type' in value) return readPayload(value);
    if (isRecord(value.aps) && isRecord(value.aps.alert)) {
      value = value.aps.alert;
    } else if (isRecord(value.notification) && typeof value.notification.body === 'string') {
      value = parseJsonText(value.notification.body, 'notification.body');
    } else if (typeof value['gcm.notification.body'] === 'string') {
      value = parseJsonText(value['gcm.notification.body'], 'gcm.notification.body');
    } else if (isRecord(value.message)) {
      value = value.message;
    } else if (isRecord(value.payload)) {
      value = value.payload;
    } else {
      break;
    }
  }
  throw new SignalWirePushError(
    'malformed',
    'no SignalWire call_invite payload found (aps.alert, notification.body or the payload itself)',
  );
}

function readPayload(value: Record<string, unknown>): SignalWirePushPayload {
  const out: Record<string, string> = {};
  for (const field of PAYLOAD_FIELDS) {
    const v = value[field];
    if (v === undefined && (field === 'iv' || field === 'tag') && value.encryption_type === 'none') {
      out[field] = '';
      continue;
    }
    if (typeof v !== 'string') {
      throw new SignalWirePushError('malformed', v === undefined ? 'is missing' : 'must be a string', { field });
    }
    out[field] = v;
  }
  if (out.encryption_type !== 'aes_256_gcm' && out.encryption_type !== 'none') {
    throw new SignalWirePushError('unsupported', `unknown encryption "${out.encryption_type}"`, {
      field: 'encryption_type',
    });
  }
  return out as unknown as SignalWirePushPayload;
}

function base64Field(text: string, field: string): Uint8Array<ArrayBuffer> {
  const bytes = decodeBase64(text);
  if (!bytes) throw new SignalWirePushError('malformed', 'is not valid base64', { field });
  return bytes as Uint8Array<ArrayBuffer>;
}

/** Decodes a device key as `registerDevice` returned it (`push_notification_key`, base64). */
export function readPushKey(key: string | Uint8Array): Uint8Array<ArrayBuffer> {
  const bytes = typeof key === 'string' ? decodeBase64(key) : key;
  if (!bytes || ![16, 24, 32].includes(bytes.length)) {
    throw new SignalWirePushError('bad_key', 'the push key must be base64 of a 16, 24 or 32-byte AES key');
  }
  return new Uint8Array(bytes) as Uint8Array<ArrayBuffer>;
}

async function decrypt(
  payload: SignalWirePushPayload,
  key: string | Uint8Array,
  subtle: SubtleCryptoLike | undefined,
): Promise<Uint8Array> {
  if (!subtle) throw new SignalWirePushError('unsupported', 'this runtime has no WebCrypto (crypto.subtle)');
  const rawKey = readPushKey(key);
  const iv = base64Field(payload.iv, 'iv');
  const tag = base64Field(payload.tag, 'tag');
  const ciphertext = base64Field(payload.invite, 'invite');
  if (iv.length === 0) throw new SignalWirePushError('malformed', 'is empty', { field: 'iv' });
  if (![4, 8, 12, 13, 14, 15, 16].includes(tag.length)) {
    throw new SignalWirePushError('malformed', `is ${tag.length} bytes, not a GCM tag`, { field: 'tag' });
  }
  // WebCrypto takes the tag appended to the ciphertext.
  const sealed = new Uint8Array(ciphertext.length + tag.length);
  sealed.set(ciphertext, 0);
  sealed.set(tag, ciphertext.length);
  let cryptoKey: never;
  try {
    cryptoKey = (await subtle.importKey('raw', rawKey, { name: 'AES-GCM' }, false, ['decrypt'])) as never;
  } catch (error) {
    throw new SignalWirePushError('bad_key', 'WebCrypto refused the push key', { cause: error });
  }
  try {
    const plain = await subtle.decrypt({ name: 'AES-GCM', iv, tagLength: tag.length * 8 }, cryptoKey, sealed);
    return new Uint8Array(plain);
  } catch (error) {
    throw new SignalWirePushError('decrypt_failed', 'authentication failed (wrong key or altered payload)', {
      field: 'invite',
      cause: error,
    });
  }
}

/** zlib inflate that stops as soon as the output passes `limit` bytes. */
export function inflateLimited(data: Uint8Array, limit: number): Uint8Array {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const inflator = new Inflate({ chunkSize: 16 * 1024 });
  inflator.onData = (chunk: Uint8Array<ArrayBuffer>) => {
    total += chunk.length;
    if (total > limit) {
      throw new SignalWirePushError('too_large', `inflates to more than ${limit} bytes`, { field: 'invite' });
    }
    chunks.push(chunk);
  };
  inflator.onEnd = () => {};
  try {
    inflator.push(data, true);
  } catch (error) {
    if (error instanceof SignalWirePushError) throw error;
    throw new SignalWirePushError('inflate_failed', 'is not a zlib stream', { field: 'invite', cause: error });
  }
  if (inflator.err || !inflator.ended) {
    throw new SignalWirePushError('inflate_failed', `is not a complete zlib stream (${inflator.msg || 'truncated'})`, {
      field: 'invite',
    });
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

function readInvite(bytes: Uint8Array): VertoInvite {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (error) {
    throw new SignalWirePushError('inflate_failed', 'is not UTF-8 text', { field: 'invite', cause: error });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new SignalWirePushError('inflate_failed', 'is not JSON', { field: 'invite', cause: error });
  }
  if (!isRecord(value) || !isRecord(value.params) || !isRecord(value.params.params)) {
    throw new SignalWirePushError('inflate_failed', 'is no verto invite (params.params missing)', { field: 'invite' });
  }
  return value as VertoInvite;
}

/** Decrypts and inflates the invite of a received SignalWire push. Rejects only with SignalWirePushError. */
export async function decodeSignalWirePush(
  push: unknown,
  key: string | Uint8Array | undefined,
  options: DecodeSignalWirePushOptions = {},
): Promise<DecodedSignalWirePush> {
  const payload = extractSignalWirePayload(push);
  const limit = options.maxInviteBytes ?? DEFAULT_MAX_INVITE_BYTES;
  let compressed: Uint8Array;
  if (payload.encryption_type === 'none') {
    compressed = base64Field(payload.invite, 'invite');
  } else {
    if (key === undefined) throw new SignalWirePushError('bad_key', 'the push is encrypted and no key was given');
    compressed = await decrypt(
      payload,
      key,
      options.subtle ?? (globalThis as { crypto?: { subtle?: SubtleCryptoLike } }).crypto?.subtle,
    );
  }
  return { payload, invite: readInvite(inflateLimited(compressed, limit)) };
}
