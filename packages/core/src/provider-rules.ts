import { ValidationError, type Issue } from './errors.js';
import type { NotificationType, Provider, PushRequest, PushType } from './model.js';
import { utf8Length } from './validate.js';

/**
 * Facts of the providers that codecs and transports must agree on. They live here, beside the
 * PushRequest they constrain, because a codec may not import a transport: the codec checks them
 * to fail with a CodecError naming its field before anything is queued, and the transport (and
 * its simulator) enforces the very same numbers.
 */

/**
 * Push services must take 4096 bytes of encrypted body (RFC 8030 7.2). An aes128gcm body adds
 * 86 bytes of header (salt, record size, 65-byte key), a 16-byte tag and one padding delimiter
 * byte (RFC 8188, RFC 8291), which leaves this much plaintext.
 */
export const WEB_PUSH_PLAINTEXT_LIMIT = 4096 - 86 - 16 - 1;

/**
 * The largest push each provider takes, in bytes of its JSON: the APNs body, the FCM / HMS
 * message without its target, or the Web Push plaintext (see `WEB_PUSH_PLAINTEXT_LIMIT`).
 * APNs VoIP pushes may be larger: see `VOIP_PAYLOAD_LIMIT`.
 */
export const PAYLOAD_LIMITS: Readonly<Record<Provider, number>> = {
  apns: 4096,
  fcm: 4096,
  hms: 4096,
  webpush: WEB_PUSH_PLAINTEXT_LIMIT,
};

/** APNs takes VoIP (PushKit) pushes up to 5 KiB. */
export const VOIP_PAYLOAD_LIMIT = 5120;

/** The size limit of a push of this provider and push type. */
export function payloadLimit(request: Pick<PushRequest, 'provider' | 'pushType'>): number {
  return request.provider === 'apns' && request.pushType === 'voip'
    ? VOIP_PAYLOAD_LIMIT
    : PAYLOAD_LIMITS[request.provider];
}

/** Bytes of a push's payload as JSON, what `payloadLimit` is compared with. */
export function payloadSize(request: Pick<PushRequest, 'payload'>): number {
  return utf8Length(JSON.stringify(request.payload));
}

const VOIP_SUFFIX = '.voip';

/** The APNs topic of VoIP pushes to an app: its bundle id with `.voip` (once). */
export function voipTopic(bundleId: string): string {
  return isVoipTopic(bundleId) ? bundleId : `${bundleId}${VOIP_SUFFIX}`;
}

/** Whether an APNs topic is a VoIP (PushKit) one. */
export function isVoipTopic(topic: string): boolean {
  return topic.endsWith(VOIP_SUFFIX);
}

/** The bundle id an APNs topic belongs to (`com.example.phone.voip` -> `com.example.phone`). */
export function bundleIdOfTopic(topic: string): string {
  return isVoipTopic(topic) ? topic.slice(0, -VOIP_SUFFIX.length) : topic;
}

/**
 * A browser's push subscription as `PushSubscription.toJSON()` gives it: the push resource URL
 * and the two keys of RFC 8291, base64url without padding.
 */
export interface WebPushSubscription {
  endpoint: string;
  keys: { p256dh: string; auth: string };
}

const BASE64URL = /^[A-Za-z0-9_-]+$/;
/** An uncompressed P-256 point is 65 bytes (87 base64url characters), starting with 0x04 ('B'). */
const P256DH_LENGTH = 87;
/** The auth secret is 16 bytes. */
const AUTH_LENGTH = 22;
const MAX_ENDPOINT_LENGTH = 2048;

function unpadded(value: string): string {
  return value.replace(/=+$/, '');
}

/**
 * Checks a subscription from untrusted JSON and returns it in its canonical form (exactly
 * `endpoint` and `keys.p256dh`, `keys.auth`, unpadded). Every problem is reported at once. The
 * endpoint only has to be an absolute http(s) URL here; where it may point (HTTPS only, no
 * private address) is the business of whoever registers it.
 */
export function parseWebPushSubscription(input: unknown, what = 'web push subscription'): WebPushSubscription {
  const issues: Issue[] = [];
  const fail = (path: string, message: string) => void issues.push({ path, message });
  const isObject = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObject(input)) throw new ValidationError([{ path: '', message: 'must be an object' }], what);
  for (const key of Object.keys(input)) {
    // Browsers add expirationTime (always null in practice); it is accepted and dropped.
    if (key !== 'endpoint' && key !== 'keys' && key !== 'expirationTime') fail(key, 'is not a known field');
  }
  const endpoint = input.endpoint;
  if (typeof endpoint !== 'string' || endpoint === '') fail('endpoint', 'is required (the push resource URL)');
  else if (endpoint.length > MAX_ENDPOINT_LENGTH) fail('endpoint', `must be at most ${MAX_ENDPOINT_LENGTH} characters`);
  else {
    let url: URL | undefined;
    try {
      url = new URL(endpoint);
    } catch {
      fail('endpoint', 'must be an absolute URL');
    }
    if (url && url.protocol !== 'https:' && url.protocol !== 'http:') fail('endpoint', 'must be an http(s) URL');
    if (url && (url.username || url.password)) fail('endpoint', 'must not carry credentials');
  }
  let p256dh: string | undefined;
  let auth: string | undefined;
  const keys = input.keys;
  if (!isObject(keys)) fail('keys', 'is required: an object with p256dh and auth');
  else {
    for (const key of Object.keys(keys))
      if (key !== 'p256dh' && key !== 'auth') fail(`keys.${key}`, 'is not a known field');
    const read = (name: 'p256dh' | 'auth', length: number, meaning: string): string | undefined => {
      const value = keys[name];
      if (typeof value !== 'string' || value === '') return void fail(`keys.${name}`, `is required (${meaning})`);
      const bare = unpadded(value);
      if (!BASE64URL.test(bare) || bare.length !== length)
        return void fail(`keys.${name}`, `must be base64url of ${meaning}`);
      return bare;
    };
    p256dh = read('p256dh', P256DH_LENGTH, 'a 65-byte uncompressed P-256 public key');
    if (p256dh !== undefined && !p256dh.startsWith('B')) {
      fail('keys.p256dh', 'must be an uncompressed P-256 point (first byte 0x04)');
      p256dh = undefined;
    }
    auth = read('auth', AUTH_LENGTH, 'the 16-byte auth secret');
  }
  if (issues.length > 0) throw new ValidationError(issues, what);
  return { endpoint: endpoint as string, keys: { p256dh: p256dh!, auth: auth! } };
}

/**
 * The binding token of a subscription: its canonical JSON, so that the same subscription is
 * the same token however the browser ordered or padded it.
 */
export function webPushToken(subscription: WebPushSubscription): string {
  const s = parseWebPushSubscription(subscription);
  return JSON.stringify({ endpoint: s.endpoint, keys: { p256dh: s.keys.p256dh, auth: s.keys.auth } });
}

/** The subscription a `webpush` binding token holds; a ValidationError when it holds none. */
export function parseWebPushToken(token: string): WebPushSubscription {
  let json: unknown;
  try {
    json = JSON.parse(token);
  } catch {
    throw new ValidationError([{ path: '', message: 'must be the JSON of a push subscription' }], 'web push token');
  }
  return parseWebPushSubscription(json, 'web push token');
}

/**
 * Whether a notification of this type may go out as this push type. A VoIP push must report a
 * call to CallKit (iOS ends an app that does not), so a registration refresh never is one.
 */
export function mayPushAs(type: NotificationType, pushType: PushType): boolean {
  return !(type === 'register_refresh' && pushType === 'voip');
}
