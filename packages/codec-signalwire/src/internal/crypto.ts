import { createCipheriv, createDecipheriv, createHash, randomBytes as nodeRandomBytes } from 'node:crypto';
import { deflateSync, inflateSync } from 'node:zlib';

export type RandomBytes = (size: number) => Uint8Array;

export const defaultRandomBytes: RandomBytes = (size) => nodeRandomBytes(size);

/** 32 random bytes, base64: what SignalWire returns as `push_notification_key` at device registration. */
export function generatePushKey(randomBytes: RandomBytes = defaultRandomBytes): string {
  const key = randomBytes(32);
  if (key.length !== 32) throw new RangeError('randomBytes(32) must return 32 bytes');
  return Buffer.from(key).toString('base64');
}

export interface SealedInvite {
  iv: string;
  tag: string;
  invite: string;
}

export function compressInvite(invite: unknown): Buffer {
  return deflateSync(Buffer.from(JSON.stringify(invite), 'utf8'));
}

/** zlib, then AES-256-GCM without AAD and a 128-bit tag; the order SignalWire's clients undo. */
export function sealInvite(compressed: Buffer, key: Buffer, iv: Uint8Array): SealedInvite {
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const ciphertext = Buffer.concat([cipher.update(compressed), cipher.final()]);
  return {
    iv: Buffer.from(iv).toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
    invite: ciphertext.toString('base64'),
  };
}

export function openInvite(ciphertext: Buffer, key: Buffer, iv: Buffer, tag: Buffer): Buffer {
  const algorithm = key.length === 16 ? 'aes-128-gcm' : key.length === 24 ? 'aes-192-gcm' : 'aes-256-gcm';
  const decipher = createDecipheriv(algorithm, key, iv, { authTagLength: tag.length });
  decipher.setAuthTag(tag);
  return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
}

export function inflateInvite(compressed: Buffer, maxOutputLength: number): Buffer {
  return inflateSync(compressed, { maxOutputLength });
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return UUID.test(value);
}

/**
 * A name-based (version 5 style) UUID of the notification, so every retry of one notification
 * carries the same notification_uuid and the app can drop duplicates.
 */
export function uuidFor(tenant: string, id: string): string {
  const hash = createHash('sha1').update(`pushrelay:signalwire\n${tenant}\n${id}`).digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
