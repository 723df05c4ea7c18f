import type {
  CallNotification,
  Codec,
  DecodeContext,
  DeviceBinding,
  EncodeContext,
  PushRequest,
} from '@pushrelay/core';
import { CODEC_NAME, DEFAULT_CALL_TOPIC, DEFAULT_TOPIC } from './constants.js';
import { decodeWazo } from './decode.js';
import { encodeWazo } from './encode.js';
import { pythonIsoformat } from './python-json.js';

export interface WazoCodecOptions {
  /** Codec id, the `format` bindings name. Default `wazo`. */
  id?: string;
  /** APNs topic of incomingCall pushes. Default `org.wazo-platform.voip`; a binding's `params.apns_call_topic` wins. */
  callTopic?: string;
  /** APNs topic of every other push. Default `org.wazo-platform`; a binding's `params.apns_default_topic` wins. */
  defaultTopic?: string;
  /**
   * `items.notification_timestamp` for a send at `nowMs`. Default Python's
   * `datetime.now(timezone.utc).isoformat()` of that instant.
   */
  notificationTimestamp?: (nowMs: number) => string;
  /** How long a decoded non-call notification stays worth sending. Default 60 s. */
  deliveryWindowMs?: number;
}

export function createWazoCodec(options: WazoCodecOptions = {}): Codec<unknown> {
  const encodeSettings = {
    callTopic: options.callTopic ?? DEFAULT_CALL_TOPIC,
    defaultTopic: options.defaultTopic ?? DEFAULT_TOPIC,
    notificationTimestamp: options.notificationTimestamp ?? pythonIsoformat,
  };
  const decodeSettings = { deliveryWindowMs: options.deliveryWindowMs ?? 60_000 };
  return {
    id: options.id ?? CODEC_NAME,
    capabilities: { decode: true, providers: ['apns', 'fcm', 'webpush'] },
    decode(input: unknown, context: DecodeContext): CallNotification[] {
      return decodeWazo(input, context, decodeSettings);
    },
    encode(notification: CallNotification, binding: DeviceBinding, context: EncodeContext): PushRequest | null {
      return encodeWazo(notification, binding, context.now, encodeSettings);
    },
  };
}
