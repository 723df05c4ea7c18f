import { PAYLOAD_LIMITS, TransportError, payloadSize, type PushRequest } from '@pushrelay/core';
import { isRecord } from '@pushrelay/provider-http';

/** FCM's largest android.ttl. */
export const MAX_TTL_S = 2_419_200;
const TARGET_FIELDS = ['token', 'topic', 'condition'] as const;
const RESERVED_DATA_KEY = /^(from|message_type|gcm\..*|google\..*)$/;

function fail(field: string, message: string): never {
  throw new TransportError('fcm', message, { field });
}

/**
 * The FCM `message` for one request: the codec's payload plus the target token, with
 * android.ttl from the request's expiry and android.priority HIGH for high-priority requests
 * unless the payload sets them. Throws for a message FCM would refuse whatever the retry.
 */
export function buildMessage(request: PushRequest, now: number): Record<string, unknown> {
  const payload = request.payload;
  if (!isRecord(payload)) fail('payload', 'must be an object (the FCM message without token)');
  for (const field of TARGET_FIELDS) {
    if (payload[field] !== undefined) fail(`payload.${field}`, 'the transport sets the target; leave it out');
  }
  if (typeof request.token !== 'string' || request.token === '') fail('token', 'must be a non-empty string');
  const data = payload['data'];
  if (data !== undefined) {
    if (!isRecord(data)) fail('payload.data', 'must be an object of strings');
    for (const [key, value] of Object.entries(data)) {
      if (typeof value !== 'string') fail(`payload.data.${key}`, `must be a string, got ${typeof value}`);
      if (RESERVED_DATA_KEY.test(key)) fail(`payload.data.${key}`, 'is a key FCM reserves');
    }
  }
  const message: Record<string, unknown> = { ...payload };
  const given = payload['android'];
  if (given !== undefined && !isRecord(given)) fail('payload.android', 'must be an object');
  const android: Record<string, unknown> = { ...given };
  if (android['ttl'] === undefined) {
    // null expiry means "now or never": FCM delivers only to a connected device with ttl 0.
    const seconds = request.expiresAt === null ? 0 : Math.ceil((request.expiresAt - now) / 1000);
    android['ttl'] = `${Math.min(MAX_TTL_S, Math.max(0, seconds))}s`;
  }
  if (android['priority'] === undefined && request.priority === 'high') android['priority'] = 'HIGH';
  if (android['collapse_key'] === undefined && request.collapseId) android['collapse_key'] = request.collapseId;
  message['android'] = android;
  // FCM's limit is on the message without its target.
  const size = payloadSize({ payload: message });
  if (size > PAYLOAD_LIMITS.fcm) {
    fail('payload', `is ${size} bytes, over FCM's ${PAYLOAD_LIMITS.fcm}-byte limit`);
  }
  message['token'] = request.token;
  return message;
}
