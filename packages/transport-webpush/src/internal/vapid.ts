import { createECDH } from 'node:crypto';
import { TransportError } from '@pushrelay/core';
import webPush from 'web-push';

/** One VAPID application identity (RFC 8292): the key pair browsers subscribed with. */
export interface VapidKeySet {
  /** The name bindings carry in `app` to pick this key set. */
  app: string;
  /** Who runs the application server: a `mailto:` or `https:` URL (the JWT's `sub`). */
  subject: string;
  /** The application server key, base64url of the 65-byte uncompressed P-256 point. */
  publicKey: string;
  /** base64url of the 32-byte P-256 private key. */
  privateKey: string;
}

export interface VapidKeyPair {
  publicKey: string;
  privateKey: string;
}

/** A fresh VAPID key pair (web-push's generator: P-256, base64url). */
export function generateVapidKeys(): VapidKeyPair {
  const { publicKey, privateKey } = webPush.generateVAPIDKeys();
  return { publicKey, privateKey };
}

/** Checks one key set with web-push's own validators, naming the field. */
export function checkVapidKeySet(input: unknown, index: number): VapidKeySet {
  const prefix = `vapid[${index}]`;
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new TransportError('webpush', 'must be an object with app, subject, publicKey and privateKey', {
      field: prefix,
    });
  }
  const v = input as Record<string, unknown>;
  for (const field of ['app', 'subject', 'publicKey', 'privateKey']) {
    if (typeof v[field] !== 'string' || v[field] === '') {
      throw new TransportError('webpush', 'must be a non-empty string', { field: `${prefix}.${field}` });
    }
  }
  const set = v as unknown as VapidKeySet;
  try {
    // web-push checks the subject and both keys when it signs; a trial signature runs its checks.
    webPush.getVapidHeaders('https://push.example', set.subject, set.publicKey, set.privateKey, 'aes128gcm');
  } catch (error) {
    const message = (error as Error).message;
    const field = /public key/i.test(message) ? 'publicKey' : /private key/i.test(message) ? 'privateKey' : 'subject';
    throw new TransportError('webpush', message, { field: `${prefix}.${field}`, cause: error });
  }
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(Buffer.from(set.privateKey, 'base64url'));
  if (ecdh.getPublicKey('base64url') !== set.publicKey) {
    throw new TransportError('webpush', 'is not the public key of privateKey', { field: `${prefix}.publicKey` });
  }
  return { app: set.app, subject: set.subject, publicKey: set.publicKey, privateKey: set.privateKey };
}

/**
 * The `Authorization: vapid t=<JWT>, k=<key>` header of one key set for one push service
 * origin, signed once and reused until shortly before the JWT expires: a JWT per push would
 * spend an ECDSA signature on every send for nothing.
 */
export class VapidHeaders {
  private readonly cache = new Map<string, { header: string; renewAt: number }>();

  constructor(
    private readonly keys: VapidKeySet,
    private readonly options: { now: () => number; lifetimeS: number },
  ) {}

  for(audience: string): string {
    const now = this.options.now();
    const cached = this.cache.get(audience);
    if (cached && cached.renewAt > now) return cached.header;
    const exp = Math.floor(now / 1000) + this.options.lifetimeS;
    const { Authorization } = webPush.getVapidHeaders(
      audience,
      this.keys.subject,
      this.keys.publicKey,
      this.keys.privateKey,
      'aes128gcm',
      exp,
    ) as { Authorization: string };
    // Renewed at half its life, so a push service's clock skew never sees an expired token.
    this.cache.set(audience, { header: Authorization, renewAt: now + (this.options.lifetimeS * 1000) / 2 });
    return Authorization;
  }
}
