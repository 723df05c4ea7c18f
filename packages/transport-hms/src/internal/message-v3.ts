import { PAYLOAD_LIMITS, TransportError, payloadSize, type PushRequest } from '@pushrelay/core';
import { isRecord } from '@pushrelay/provider-http';
import { MAX_TOKENS, MAX_TTL_S } from './message.js';

/** Push Kit v3's `push-type` header values (scenario-specific messages). */
export const V3_PUSH_TYPES = {
  alert: 0,
  formUpdate: 1,
  extension: 2,
  background: 6,
  liveView: 7,
  voipCall: 10,
} as const;
const KNOWN_PUSH_TYPES = new Set<number>(Object.values(V3_PUSH_TYPES));
/** Tokens per test message (80300030 beyond). */
export const MAX_TEST_TOKENS = 10;
/** Notification categories Push Kit v3 takes (AlertPayload.notification.category). */
export const V3_CATEGORIES = new Set([
  'IM',
  'VOIP',
  'MISS_CALL',
  'SUBSCRIPTION',
  'TRAVEL',
  'HEALTH',
  'WORK',
  'ACCOUNT',
  'EXPRESS',
  'FINANCE',
  'DEVICE_REMINDER',
  'MAIL',
  'PLAY_VOICE',
  'MARKETING',
]);

function fail(field: string, message: string): never {
  throw new TransportError('hms', message, { field });
}

export interface V3Message {
  /** The `push-type` header. */
  pushType: number;
  /** The JSON body: `{payload, target: {token}, pushOptions}`. */
  body: Record<string, unknown>;
}

function pushTypeOf(request: PushRequest): number {
  const given = request.headers?.['push-type'];
  if (given !== undefined) {
    const value = /^\d{1,2}$/.test(given) ? Number(given) : NaN;
    if (!KNOWN_PUSH_TYPES.has(value))
      fail('headers.push-type', `is not a Push Kit v3 push-type: ${JSON.stringify(given)}`);
    return value;
  }
  if (request.pushType === 'voip') return V3_PUSH_TYPES.voipCall;
  if (request.pushType === 'background') return V3_PUSH_TYPES.background;
  return V3_PUSH_TYPES.alert;
}

function ttlSeconds(request: PushRequest, now: number): number {
  // Push Kit has no "now or never"; one second is the closest.
  const seconds = request.expiresAt === null ? 1 : Math.ceil((request.expiresAt - now) / 1000);
  return Math.min(MAX_TTL_S, Math.max(1, seconds));
}

/** The v3 payload from the HMS v1/v2 `message` a codec built. */
function translate(message: Record<string, unknown>, pushType: number): Record<string, unknown> {
  const data = message['data'];
  if (data !== undefined && typeof data !== 'string' && !isRecord(data)) {
    fail('payload.data', 'must be a string or an object');
  }
  const text = isRecord(data) ? JSON.stringify(data) : data;
  const android = isRecord(message['android']) ? message['android'] : {};
  if (pushType === V3_PUSH_TYPES.voipCall || pushType === V3_PUSH_TYPES.background) {
    if (text === undefined) fail('payload.data', 'is required for a v3 call or background push (it becomes extraData)');
    return { extraData: text };
  }
  if (pushType !== V3_PUSH_TYPES.alert) {
    fail('payload', `push-type ${pushType} needs a v3 payload ({ payload: {...} })`);
  }
  const given = isRecord(message['notification'])
    ? message['notification']
    : isRecord(android['notification'])
      ? android['notification']
      : undefined;
  if (!given || typeof given['title'] !== 'string' || typeof given['body'] !== 'string') {
    fail('payload.notification', 'an alert needs a title and a body');
  }
  const category =
    typeof android['category'] === 'string' && V3_CATEGORIES.has(android['category']) ? android['category'] : 'IM';
  return { notification: { category, title: given['title'], body: given['body'], clickAction: { actionType: 0 } } };
}

/**
 * The Push Kit v3 request for one PushRequest and its tokens. The payload is either a v3 body
 * without target (`{ payload, pushOptions? }`) or the HMS v1/v2 `message` the codecs build,
 * translated: `data` becomes `extraData` of a call (push-type 10) or background (6) push, an
 * alert's notification title and body an AlertPayload (0). Throws for what Huawei refuses.
 */
export function buildV3Message(
  request: PushRequest,
  tokens: readonly string[],
  now: number,
  testMessage: boolean,
): V3Message {
  const input = request.payload;
  if (!isRecord(input)) fail('payload', 'must be an object');
  for (const field of ['token', 'topic', 'condition', 'target']) {
    if (input[field] !== undefined) fail(`payload.${field}`, 'the transport sets the target; leave it out');
  }
  const limit = testMessage ? MAX_TEST_TOKENS : MAX_TOKENS;
  if (tokens.length === 0 || tokens.length > limit) {
    fail('token', `1 to ${limit} tokens per ${testMessage ? 'test message' : 'request'}`);
  }
  tokens.forEach((t, i) => {
    if (typeof t !== 'string' || t === '')
      fail(tokens.length === 1 ? 'token' : `tokens[${i}]`, 'must be a non-empty string');
  });
  const pushType = pushTypeOf(request);
  let payload: Record<string, unknown>;
  let options: Record<string, unknown> = {};
  if (input['payload'] !== undefined) {
    if (!isRecord(input['payload'])) fail('payload.payload', 'must be an object');
    payload = input['payload'];
    if (input['pushOptions'] !== undefined) {
      if (!isRecord(input['pushOptions'])) fail('payload.pushOptions', 'must be an object');
      options = { ...input['pushOptions'] };
    }
  } else {
    payload = translate(input, pushType);
    const ttl = isRecord(input['android']) ? input['android']['ttl'] : undefined;
    if (ttl !== undefined) {
      const match = typeof ttl === 'string' ? /^(\d+)(\.\d{1,9})?s$/.exec(ttl) : null;
      if (!match) fail('payload.android.ttl', 'must be a duration such as "30s"');
      options['ttl'] = Math.min(MAX_TTL_S, Math.max(1, Number(match[1])));
    }
  }
  if (options['ttl'] === undefined) options['ttl'] = ttlSeconds(request, now);
  else if (
    !Number.isInteger(options['ttl']) ||
    (options['ttl'] as number) < 1 ||
    (options['ttl'] as number) > MAX_TTL_S
  ) {
    fail('payload.pushOptions.ttl', `must be whole seconds from 1 to ${MAX_TTL_S}`);
  }
  if (testMessage) options['testMessage'] = true;
  const body: Record<string, unknown> = { payload, pushOptions: options };
  // Huawei's limit is on the body without the tokens.
  const size = payloadSize({ payload: body });
  if (size > PAYLOAD_LIMITS.hms) fail('payload', `is ${size} bytes, over Huawei's ${PAYLOAD_LIMITS.hms}-byte limit`);
  body['target'] = { token: [...tokens] };
  return { pushType, body };
}
