import { createHash } from 'node:crypto';
import {
  PAYLOAD_LIMITS,
  TransportError,
  ValidationError,
  parseWebPushToken,
  payloadSize,
  type PushRequest,
  type WebPushSubscription,
} from '@pushrelay/core';
import webPush from 'web-push';

/** Push services keep a message at most this long; longer TTLs are cut to it (RFC 8030 5.2 lets them). */
export const MAX_TTL_S = 28 * 24 * 3600;
const TOPIC = /^[A-Za-z0-9_-]{1,32}$/;
const URGENCIES = new Set(['very-low', 'low', 'normal', 'high']);

function fail(field: string, message: string): never {
  throw new TransportError('webpush', message, { field });
}

/** The subscription a request's token holds, or a TransportError naming what is wrong with it. */
export function subscriptionOf(request: PushRequest): WebPushSubscription {
  if (typeof request.token !== 'string' || request.token === '') fail('token', 'must be a non-empty string');
  try {
    return parseWebPushToken(request.token);
  } catch (error) {
    if (error instanceof ValidationError) {
      const issue = error.issues[0]!;
      fail(issue.path ? `token.${issue.path}` : 'token', issue.message);
    }
    throw error;
  }
}

/**
 * RFC 8030 Topic: at most 32 base64url characters. A collapse id that is not one already is
 * hashed, so that the same id always replaces the same pending message.
 */
export function topicOf(collapseId: string): string {
  return TOPIC.test(collapseId) ? collapseId : createHash('sha256').update(collapseId).digest('base64url').slice(0, 32);
}

/** The headers of one push besides Authorization: TTL, Urgency, Topic and the encoding. */
export function pushHeaders(request: PushRequest, now: number): Record<string, string> {
  // A push that may not wait (expiresAt null) is "now or never": TTL 0.
  const ttl = request.expiresAt === null ? 0 : Math.max(0, Math.ceil((request.expiresAt - now) / 1000));
  const extra: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers ?? {})) extra[name.toLowerCase()] = value;
  const urgency = extra['urgency'] ?? (request.priority === 'high' || request.pushType === 'voip' ? 'high' : 'normal');
  if (!URGENCIES.has(urgency)) fail('headers.urgency', 'must be very-low, low, normal or high');
  if (extra['topic'] !== undefined && !TOPIC.test(extra['topic'])) {
    fail('headers.topic', 'must be 1 to 32 base64url characters');
  }
  for (const name of ['authorization', 'content-encoding', 'content-type', 'content-length', 'ttl']) {
    if (extra[name] !== undefined) fail(`headers.${name}`, 'is set by the transport');
  }
  const headers: Record<string, string> = {
    ...extra,
    ttl: String(Math.min(ttl, MAX_TTL_S)),
    urgency,
    'content-encoding': 'aes128gcm',
    'content-type': 'application/octet-stream',
  };
  if (headers['topic'] === undefined && request.collapseId !== undefined)
    headers['topic'] = topicOf(request.collapseId);
  return headers;
}

/** The plaintext of a push: the payload's JSON, what the service worker reads with `event.data.json()`. */
export function plaintextOf(request: PushRequest): string {
  const payload = request.payload as unknown;
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    fail('payload', 'must be an object (what the service worker receives as JSON)');
  }
  const size = payloadSize(request);
  if (size > PAYLOAD_LIMITS.webpush) {
    fail('payload', `is ${size} bytes, over the ${PAYLOAD_LIMITS.webpush}-byte Web Push limit`);
  }
  return JSON.stringify(payload);
}

/** RFC 8291 aes128gcm body for one subscription: web-push's encryption (http_ece), one record. */
export function encryptFor(subscription: WebPushSubscription, plaintext: string): Buffer {
  return webPush.encrypt(subscription.keys.p256dh, subscription.keys.auth, plaintext, 'aes128gcm').cipherText;
}
