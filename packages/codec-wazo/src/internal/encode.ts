import {
  CodecError,
  payloadLimit,
  payloadSize,
  webCallPayload,
  webPushRequest,
  type CallNotification,
  type DeviceBinding,
  type MessageContent,
  type PushRequest,
} from '@pushrelay/core';
import { ANDROID_CHANNEL_ID, CODEC_NAME, DATA_ONLY_TYPES, RESERVED_TYPES, WAZO_TYPES } from './constants.js';
import { PythonJsonError, pythonJsonDumps, pythonTruthy } from './python-json.js';
import { messageTexts, missedCallTexts, voicemailTexts } from './texts.js';
import type { WazoVendorData } from './types.js';

export interface EncodeSettings {
  callTopic: string;
  defaultTopic: string;
  notificationTimestamp: (nowMs: number) => string;
}

/** What webhookd's `send_notification` gets: type, optional title/body, the items and extra keys. */
interface WazoPush {
  type: string;
  title: string | undefined;
  body: string | undefined;
  items: unknown;
  extra: Record<string, unknown>;
  dataOnly: boolean;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function vendorData(n: CallNotification): WazoVendorData {
  const wazo = n.vendor?.wazo;
  if (wazo === undefined) return {};
  if (!isRecord(wazo)) throw new CodecError(CODEC_NAME, 'must be an object', { path: 'vendor.wazo' });
  if (wazo.extra !== undefined && !isRecord(wazo.extra)) {
    throw new CodecError(CODEC_NAME, 'must be an object', { path: 'vendor.wazo.extra' });
  }
  return wazo as WazoVendorData;
}

function vendorItems(wazo: WazoVendorData, path = 'vendor.wazo.items'): Record<string, unknown> {
  if (wazo.items === undefined) return {};
  if (!isRecord(wazo.items)) throw new CodecError(CODEC_NAME, 'must be an object for this type', { path });
  return wazo.items;
}

function callItems(n: CallNotification, wazo: WazoVendorData): Record<string, unknown> {
  const call = n.call;
  if (!call) throw new CodecError(CODEC_NAME, `is required for ${n.type}`, { path: 'call' });
  const ringSeconds = Math.max(1, Math.round((Date.parse(n.deadline) - Date.parse(n.createdAt)) / 1000));
  return {
    peer_caller_id_number: call.from.number ?? call.from.uri ?? '',
    peer_caller_id_name: call.from.displayName ?? '',
    call_id: call.id,
    video: call.video,
    // A string, as AMI gives it to wazo-calld; apps parse it.
    ring_timeout: String(ringSeconds),
    ...vendorItems(wazo),
  };
}

function wazoPush(n: CallNotification): WazoPush | null {
  const wazo = vendorData(n);
  const push = (type: string, items: unknown, texts?: MessageContent): WazoPush => ({
    type,
    title: texts?.title,
    body: texts?.body,
    items,
    extra: {},
    dataOnly: DATA_ONLY_TYPES.has(type),
  });
  switch (n.type) {
    case 'incoming_call': {
      const items = callItems(n, wazo);
      return push(WAZO_TYPES.incomingCall, items, {
        title: 'Incoming Call',
        body: `From: ${String(items.peer_caller_id_number)}`,
      });
    }
    case 'call_cancelled':
      return push(WAZO_TYPES.cancelIncomingCall, callItems(n, wazo));
    case 'missed_calls': {
      const latest = n.missed?.at(-1);
      if (!latest) throw new CodecError(CODEC_NAME, 'must list the missed call', { path: 'missed' });
      const original = vendorItems(wazo);
      // webhookd rebuilds the items from these two keys only; a missing one is null.
      const name = 'caller_id_name' in original ? original.caller_id_name : (latest.from.displayName ?? null);
      const number = 'caller_id_number' in original ? original.caller_id_number : (latest.from.number ?? null);
      return push(
        WAZO_TYPES.missedCall,
        { caller_id_name: name, caller_id_number: number },
        missedCallTexts(name, number),
      );
    }
    case 'voicemail': {
      const items: Record<string, unknown> = { ...vendorItems(wazo) };
      if (!('message' in items) && n.call) {
        items.message = {
          caller_id_name: n.call.from.displayName ?? 'Unknown',
          caller_id_num: n.call.from.number ?? '',
        };
      }
      return push(WAZO_TYPES.voicemailReceived, items, voicemailTexts(items));
    }
    case 'message': {
      if (wazo.items !== undefined) {
        const items = vendorItems(wazo);
        return push(WAZO_TYPES.messageReceived, { ...items }, messageTexts(items));
      }
      const texts = { title: n.message?.title ?? 'New Message', body: n.message?.body ?? '' };
      return push(WAZO_TYPES.messageReceived, { content: texts.body }, texts);
    }
    case 'custom': {
      const type = n.customType;
      if (!type || !/^[a-z0-9_]{1,100}$/i.test(type)) {
        throw new CodecError(CODEC_NAME, 'must be 1-100 letters, digits or _', { path: 'customType' });
      }
      if (RESERVED_TYPES.has(type))
        throw new CodecError(CODEC_NAME, `"${type}" is a type only Wazo sends`, { path: 'customType' });
      return {
        type,
        title: n.message?.title,
        body: n.message?.body,
        items: wazo.items === undefined ? {} : structuredClone(wazo.items),
        extra: structuredClone(wazo.extra ?? {}),
        dataOnly: false,
      };
    }
    // Wazo apps keep their own SIP registration; nothing of Wazo's asks them to refresh it.
    case 'register_refresh':
      return null;
  }
}

/**
 * `{notification_type, items} | extra`. Wazo's own types stamp `notification_timestamp` into the
 * items (and `data_only` for data-only types); custom pushes go out as given.
 */
function envelope(push: WazoPush, timestamp: string): Record<string, unknown> {
  let items = push.items;
  if (RESERVED_TYPES.has(push.type) && isRecord(items)) {
    items = { ...items, notification_timestamp: timestamp };
    if (push.dataOnly) (items as Record<string, unknown>).data_only = true;
  }
  return { notification_type: push.type, items, ...push.extra };
}

const FCM_RESERVED_KEY = /^(from|message_type)$|^(google|gcm)/;

function fcmPayload(push: WazoPush, data: Record<string, unknown>): Record<string, unknown> {
  const fcmData: Record<string, string> = {};
  for (const [key, value] of Object.entries(data)) {
    if (key === 'items') {
      try {
        fcmData.items = pythonTruthy(value) ? pythonJsonDumps(value, 'items') : '';
      } catch (error) {
        const path = error instanceof PythonJsonError ? `vendor.wazo.${error.path}` : 'vendor.wazo.items';
        throw new CodecError(CODEC_NAME, (error as Error).message, { path, cause: error });
      }
      continue;
    }
    if (FCM_RESERVED_KEY.test(key))
      throw new CodecError(CODEC_NAME, `FCM refuses the data key "${key}"`, { path: `vendor.wazo.extra.${key}` });
    if (typeof value !== 'string') {
      throw new CodecError(CODEC_NAME, 'FCM v1 data values must be strings (Wazo would get a 400)', {
        path: `vendor.wazo.extra.${key}`,
      });
    }
    fcmData[key] = value;
  }
  const android: Record<string, unknown> = { priority: 'high', ttl: '0s' };
  // Only pushes that are neither a call nor data-only show a notification, on Wazo's channel.
  if (!push.dataOnly && push.type !== WAZO_TYPES.incomingCall) {
    const notification: Record<string, unknown> = {};
    if (push.body) notification.body = push.body;
    if (push.title) notification.title = push.title;
    notification.channel_id = ANDROID_CHANNEL_ID;
    notification.notification_count = 1;
    android.notification = notification;
  }
  return { android, data: fcmData };
}

function apnsPayload(push: WazoPush, data: Record<string, unknown>): Record<string, unknown> {
  if (push.type === WAZO_TYPES.incomingCall) return { aps: { alert: data, badge: 1 }, ...data };
  if (push.type === WAZO_TYPES.cancelIncomingCall) {
    return { aps: { badge: 1, sound: 'default', 'content-available': 1 }, ...data };
  }
  const aps: Record<string, unknown> = { badge: 1, sound: 'default' };
  if (push.dataOnly) aps['content-available'] = 1;
  if (push.title || push.body) {
    const alert: Record<string, string> = {};
    if (push.title) alert.title = push.title;
    if (push.body) alert.body = push.body;
    aps.alert = alert;
  }
  return { aps, data };
}

export function encodeWazo(
  n: CallNotification,
  binding: DeviceBinding,
  now: number,
  settings: EncodeSettings,
): PushRequest | null {
  if (binding.provider === 'hms') {
    throw new CodecError(CODEC_NAME, 'Wazo apps take pushes from APNs, FCM and Web Push only', {
      path: 'binding.provider',
    });
  }
  const push = wazoPush(n);
  if (!push) return null;
  const isCall = push.type === WAZO_TYPES.incomingCall;
  // Wazo sends the call to the PushKit token and everything else to the notification token.
  if (binding.provider === 'apns' && isCall !== (binding.pushKind === 'voip')) return null;

  const data = envelope(push, settings.notificationTimestamp(now));
  const base = { token: binding.token, app: binding.app, environment: binding.environment, expiresAt: null };
  let request: PushRequest;
  if (binding.provider === 'webpush') {
    // Browsers show what a push says: the generic call payload, with Wazo's own envelope (items
    // as an object, not webhookd's FCM string) for a Wazo web app's service worker.
    request = webPushRequest(n, binding, { ...webCallPayload(n, { vendor: { wazo: data } }) });
  } else if (binding.provider === 'apns') {
    const topic = isCall
      ? binding.params?.apns_call_topic || settings.callTopic
      : binding.params?.apns_default_topic || settings.defaultTopic;
    request = {
      provider: 'apns',
      ...base,
      pushType: isCall ? 'voip' : 'alert',
      priority: isCall ? 'high' : 'normal',
      headers: { 'apns-topic': topic },
      payload: apnsPayload(push, data),
    };
  } else {
    request = { provider: 'fcm', ...base, pushType: 'alert', priority: 'high', payload: fcmPayload(push, data) };
  }
  const size = payloadSize(request);
  const limit = payloadLimit(request);
  if (size > limit) {
    throw new CodecError(CODEC_NAME, `the push is ${size} bytes, over the ${request.provider} limit of ${limit}`, {
      path: n.type === 'custom' ? 'vendor.wazo' : 'message',
    });
  }
  return request;
}
