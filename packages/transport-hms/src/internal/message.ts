import { PAYLOAD_LIMITS, TransportError, payloadSize, type PushRequest } from '@pushrelay/core';
import { isRecord } from '@pushrelay/provider-http';

/** Huawei's largest android.ttl (15 days). */
export const MAX_TTL_S = 1_296_000;
/** Tokens per send request. */
export const MAX_TOKENS = 1000;
const URGENCIES = new Set(['HIGH', 'NORMAL']);

function fail(field: string, message: string): never {
  throw new TransportError('hms', message, { field });
}

/**
 * The HMS `message` for one request and its tokens: the codec's payload with `token` set, VOIP
 * category and HIGH urgency for VoIP and high-priority requests, and android.ttl from the
 * request's expiry, unless the payload sets them. Throws for what Huawei refuses whatever the retry.
 */
export function buildMessage(request: PushRequest, tokens: readonly string[], now: number): Record<string, unknown> {
  const payload = request.payload;
  if (!isRecord(payload)) fail('payload', 'must be an object (the HMS message without token)');
  for (const field of ['token', 'topic', 'condition']) {
    if (payload[field] !== undefined) fail(`payload.${field}`, 'the transport sets the target; leave it out');
  }
  if (tokens.length === 0 || tokens.length > MAX_TOKENS) fail('token', `1 to ${MAX_TOKENS} tokens per request`);
  tokens.forEach((t, i) => {
    if (typeof t !== 'string' || t === '')
      fail(tokens.length === 1 ? 'token' : `tokens[${i}]`, 'must be a non-empty string');
  });
  const message: Record<string, unknown> = { ...payload };
  const data = payload['data'];
  // Huawei takes data as one string; an object from a codec is sent as its JSON text.
  if (isRecord(data)) message['data'] = JSON.stringify(data);
  else if (data !== undefined && typeof data !== 'string') fail('payload.data', 'must be a string or an object');
  const given = payload['android'];
  if (given !== undefined && !isRecord(given)) fail('payload.android', 'must be an object');
  const android: Record<string, unknown> = { ...given };
  if (android['urgency'] !== undefined && !URGENCIES.has(android['urgency'] as string)) {
    fail('payload.android.urgency', 'must be HIGH or NORMAL');
  }
  if (android['category'] === undefined && request.pushType === 'voip') android['category'] = 'VOIP';
  if (android['urgency'] === undefined && (request.priority === 'high' || request.pushType === 'voip')) {
    android['urgency'] = 'HIGH';
  }
  if (android['ttl'] === undefined) {
    // Huawei has no "now or never" ttl; one second is the closest it accepts.
    const seconds = request.expiresAt === null ? 1 : Math.ceil((request.expiresAt - now) / 1000);
    android['ttl'] = `${Math.min(MAX_TTL_S, Math.max(1, seconds))}s`;
  } else if (typeof android['ttl'] !== 'string' || !/^\d+(\.\d{1,9})?s$/.test(android['ttl'])) {
    fail('payload.android.ttl', 'must be a duration such as "30s"');
  }
  message['android'] = android;
  // Huawei's limit is on the message body, tokens excluded.
  const size = payloadSize({ payload: message });
  if (size > PAYLOAD_LIMITS.hms) fail('payload', `is ${size} bytes, over Huawei's ${PAYLOAD_LIMITS.hms}-byte limit`);
  message['token'] = [...tokens];
  return message;
}
