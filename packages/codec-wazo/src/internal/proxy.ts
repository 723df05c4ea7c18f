import {
  CodecError,
  DEFAULT_RING_TIMEOUT_MS,
  MAX_DEADLINE_MS,
  bundleIdOfTopic,
  isVoipTopic,
  payloadLimit,
  payloadSize,
  type CallNotification,
  type NotificationType,
  type PushRequest,
} from '@pushrelay/core';
import { ANDROID_CHANNEL_ID, CODEC_NAME, WAZO_TYPES } from './constants.js';
import { PythonJsonError, pythonJsonDumps } from './python-json.js';

/**
 * What wazo-webhookd in push-proxy mode (pyfcm) posts to `/fcm/send`: the legacy FCM HTTP body.
 * Only the keys webhookd sets are read; others are ignored, as legacy FCM did.
 */
export interface LegacyFcmSend {
  to: string;
  priority?: string;
  /** Seconds the push stays worth delivering; absent, a call rings for its `ring_timeout`. */
  time_to_live?: number;
  data?: { notification_type?: string; items?: unknown; [key: string]: unknown };
  notification?: { title?: string; body?: string; android_channel_id?: string; badge?: number };
}

/** The APNs request webhookd posts in push-proxy mode: its headers (lower-case names) and JSON body. */
export interface ApnsProxySend {
  token: string;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

/** Who and when: the translation itself reads no clock and makes no id. */
export interface ProxyContext {
  tenant: string;
  /** The notification id of the report the push is tracked under. */
  id: string;
  now: number;
  /** How long a push that is not a call stays worth sending. Default 60 s. */
  deliveryWindowMs?: number;
}

/** The FCM project the push goes to: the JWT's `fcm_project` claim or the gateway's default. */
export interface LegacyFcmContext extends ProxyContext {
  project: string;
}

/**
 * A proxied push in the relay's terms: the notification that governs its deadline and report,
 * and the provider request, built exactly as webhookd's own client would have built it.
 */
export interface ProxiedPush {
  notification: CallNotification;
  request: PushRequest;
}

/** Whom a proxied push's report names: the device's user is known to the Wazo stack only. */
export const PROXY_RECIPIENT = 'wazo-push-proxy';

const TYPE_OF: Readonly<Record<string, NotificationType>> = {
  [WAZO_TYPES.incomingCall]: 'incoming_call',
  [WAZO_TYPES.cancelIncomingCall]: 'call_cancelled',
  [WAZO_TYPES.missedCall]: 'missed_calls',
  [WAZO_TYPES.voicemailReceived]: 'voicemail',
  [WAZO_TYPES.messageReceived]: 'message',
};

/** Legacy FCM caps `time_to_live` at four weeks; the relay caps deadlines lower still. */
const MAX_TTL_S = 2_419_200;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function fail(message: string, path: string): never {
  throw new CodecError(CODEC_NAME, message, { path });
}

function optionalString(record: Record<string, unknown>, key: string, path: string): string | undefined {
  const value = record[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') fail('must be a string', `${path}.${key}`);
  return value;
}

function checkLegacyFcm(body: unknown): LegacyFcmSend {
  if (!isRecord(body)) fail('must be a JSON object', 'body');
  if (typeof body.to !== 'string' || body.to.length === 0 || body.to.length > 4096) {
    fail('must be a device token of 1-4096 characters', 'to');
  }
  optionalString(body, 'priority', 'body');
  const ttl = body.time_to_live;
  if (ttl !== undefined && (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 0 || ttl > MAX_TTL_S)) {
    fail(`must be a whole number of seconds from 0 to ${MAX_TTL_S}`, 'time_to_live');
  }
  if (body.data !== undefined) {
    if (!isRecord(body.data)) fail('must be an object', 'data');
    const type = body.data.notification_type;
    if (type !== undefined && type !== null && typeof type !== 'string')
      fail('must be a string', 'data.notification_type');
  }
  if (body.notification !== undefined) {
    const n = body.notification;
    if (!isRecord(n)) fail('must be an object', 'notification');
    for (const key of ['title', 'body', 'android_channel_id']) optionalString(n, key, 'notification');
    if (n.badge !== undefined && (typeof n.badge !== 'number' || !Number.isInteger(n.badge) || n.badge < 0)) {
      fail('must be a whole number >= 0', 'notification.badge');
    }
  }
  return body as unknown as LegacyFcmSend;
}

/** `ring_timeout` as webhookd's items carry it (a string of seconds), when it is one. */
function ringTimeoutMs(items: unknown): number | undefined {
  if (!isRecord(items)) return undefined;
  const raw = items.ring_timeout;
  const seconds = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : NaN;
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : undefined;
}

/**
 * How long the relay may keep trying. A time to live of 0 means "now or never" to FCM; the relay
 * still gets one second for its first attempt, since a deadline already passed would send nothing.
 */
function deadlineMs(type: NotificationType, items: unknown, ttlSeconds: number | undefined, context: ProxyContext) {
  const window =
    ttlSeconds !== undefined
      ? Math.max(1000, ttlSeconds * 1000)
      : type === 'incoming_call' || type === 'call_cancelled'
        ? (ringTimeoutMs(items) ?? DEFAULT_RING_TIMEOUT_MS)
        : (context.deliveryWindowMs ?? 60_000);
  return context.now + Math.min(window, MAX_DEADLINE_MS);
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : undefined;
}

/** The canonical notification a proxied push stands for; only its type, times and call matter to the relay. */
function proxiedNotification(
  wazoType: string,
  items: unknown,
  extra: Record<string, unknown>,
  deadline: number,
  context: ProxyContext,
): CallNotification {
  const type = TYPE_OF[wazoType] ?? 'custom';
  const createdAt = new Date(context.now).toISOString();
  const notification: CallNotification = {
    id: context.id,
    type,
    tenant: context.tenant,
    recipient: PROXY_RECIPIENT,
    createdAt,
    deadline: new Date(deadline).toISOString(),
    priority: 'high',
    vendor: { wazo: { items, extra } },
  };
  if (type === 'custom' && wazoType !== '') notification.customType = wazoType;
  if ((type === 'incoming_call' || type === 'call_cancelled') && isRecord(items)) {
    const number = text(items.peer_caller_id_number);
    const name = text(items.peer_caller_id_name);
    notification.call = {
      id: text(items.call_id) ?? context.id,
      from: { ...(number !== undefined ? { number } : {}), ...(name !== undefined ? { displayName: name } : {}) },
      video: items.video === true,
      startedAt: createdAt,
    };
  }
  return notification;
}

function itemsJson(items: unknown): string {
  try {
    return pythonJsonDumps(items, 'data.items');
  } catch (error) {
    if (error instanceof PythonJsonError) fail(error.message, error.path);
    throw error;
  }
}

function checkSize(request: PushRequest, path: string): void {
  const size = payloadSize(request);
  const limit = payloadLimit(request);
  if (size > limit) fail(`the push is ${size} bytes, over the ${request.provider} limit of ${limit}`, path);
}

/**
 * Translates webhookd's legacy FCM send into the FCM HTTP v1 message webhookd's own v1 client
 * sends: data values as strings, `items` as Python's sorted, compact, ASCII JSON, a high-priority
 * message that is delivered now or never. Throws CodecError naming the field for a body no
 * legacy FCM server would have taken.
 */
export function translateLegacyFcm(body: unknown, context: LegacyFcmContext): ProxiedPush {
  const send = checkLegacyFcm(body);
  const { items, notification_type, ...rest } = send.data ?? {};
  const data: Record<string, string> = {};
  for (const [key, value] of Object.entries(rest))
    data[key] = typeof value === 'string' ? value : JSON.stringify(value);
  const wazoType = typeof notification_type === 'string' ? notification_type : '';
  data.notification_type = wazoType;
  data.items =
    items === undefined || items === null || (isRecord(items) && Object.keys(items).length === 0)
      ? ''
      : itemsJson(items);
  const android: Record<string, unknown> = { priority: 'high', ttl: '0s' };
  if (send.notification?.title) {
    android.notification = {
      title: send.notification.title,
      ...(send.notification.body !== undefined ? { body: send.notification.body } : {}),
      channel_id: send.notification.android_channel_id ?? ANDROID_CHANNEL_ID,
      notification_count: send.notification.badge ?? 1,
    };
  }
  const request: PushRequest = {
    provider: 'fcm',
    token: send.to,
    app: context.project,
    environment: 'production',
    pushType: 'background',
    priority: 'high',
    expiresAt: null,
    payload: { android, data },
  };
  checkSize(request, 'data');
  const deadline = deadlineMs(TYPE_OF[wazoType] ?? 'custom', items, send.time_to_live, context);
  return { notification: proxiedNotification(wazoType, items, rest, deadline, context), request };
}

function header(headers: ApnsProxySend['headers'], name: string): string | undefined {
  const value = headers[name];
  return typeof value === 'string' ? value : undefined;
}

/**
 * Translates webhookd's APNs request into the same APNs request with the relay's credentials:
 * the topic names the app (a `.voip` topic is a VoIP push whatever the push type header says),
 * `x-use-sandbox` picks the sandbox, `apns-expiration` (epoch seconds, 0 = now or never) is kept.
 * Throws CodecError with path `apns-topic` when there is no topic.
 */
export function translateApnsProxy(send: ApnsProxySend, context: ProxyContext): ProxiedPush {
  const h = send.headers;
  const topic = header(h, 'apns-topic');
  if (!topic) fail('is required', 'apns-topic');
  const pushTypeHeader = header(h, 'apns-push-type');
  const pushType =
    pushTypeHeader === 'voip' || isVoipTopic(topic) ? 'voip' : pushTypeHeader === 'background' ? 'background' : 'alert';
  const expiration = Number(header(h, 'apns-expiration') ?? 0);
  const sandbox = header(h, 'x-use-sandbox');
  const payload = isRecord(send.body) ? send.body : {};
  const request: PushRequest = {
    provider: 'apns',
    token: send.token,
    app: bundleIdOfTopic(topic),
    environment: sandbox === '1' || sandbox === 'true' ? 'sandbox' : 'production',
    pushType,
    priority: header(h, 'apns-priority') === '5' ? 'normal' : 'high',
    expiresAt: Number.isFinite(expiration) && expiration > 0 ? expiration * 1000 : null,
    headers: { 'apns-topic': topic },
    payload,
  };
  checkSize(request, 'body');
  const alert = isRecord(payload.aps) && isRecord(payload.aps.alert) ? payload.aps.alert : {};
  const named = typeof alert.notification_type === 'string' ? alert.notification_type : '';
  // A VoIP push reports a call to CallKit, so one that names no type is a call.
  const wazoType = named || (pushType === 'voip' ? WAZO_TYPES.incomingCall : '');
  const items = alert.items;
  const ttlSeconds =
    request.expiresAt !== null ? Math.max(0, Math.ceil((request.expiresAt - context.now) / 1000)) : undefined;
  const deadline = deadlineMs(TYPE_OF[wazoType] ?? 'custom', items, ttlSeconds, context);
  return { notification: proxiedNotification(wazoType, items, {}, deadline, context), request };
}
