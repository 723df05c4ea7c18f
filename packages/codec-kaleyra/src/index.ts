import type {
  CallNotification,
  Codec,
  DecodeContext,
  DeviceBinding,
  EncodeContext,
  PushRequest,
  CodecMetadata,
} from '@pushrelay/core';
import { decodeWebhook } from './internal/decode.js';
import { encodeNotification } from './internal/encode.js';
import { CODEC_ID } from './internal/read.js';

export interface KaleyraCodecOptions {
  /**
   * FCM `data` key holding the webhook JSON string. Default `message` (the Android SDK's
   * convention); the hybrid bridge reads the key its manifest declares, Pushy uses `payload`.
   */
  fcmDataKey?: string;
  /** Ring time of a decoded incoming call when the decode context gives none. Default 30 s. */
  ringTimeoutMs?: number;
  /** How long a decoded missed-call notification stays worth sending. Default 24 h. */
  missedCallsTtlMs?: number;
}

const DEFAULT_MISSED_CALLS_TTL_MS = 24 * 3600 * 1000;

/**
 * Kaleyra Video webhooks in (`on_call_incoming`, `on_call_ended`, `on_missed_call`), and the
 * webhook forwarded to the callee's devices the way the Kaleyra Video SDK intercepts it.
 */
export function createKaleyraCodec(options: KaleyraCodecOptions = {}): Codec<unknown> {
  const decodeSettings = {
    ringTimeoutMs: options.ringTimeoutMs,
    missedCallsTtlMs: options.missedCallsTtlMs ?? DEFAULT_MISSED_CALLS_TTL_MS,
  };
  const encodeSettings = { fcmDataKey: options.fcmDataKey ?? 'message' };
  return {
    id: CODEC_ID,
    capabilities: { decode: true, providers: ['fcm', 'hms', 'apns', 'webpush'] },
    decode(input: unknown, context: DecodeContext): CallNotification[] {
      return decodeWebhook(input, context, decodeSettings);
    },
    encode(notification: CallNotification, binding: DeviceBinding, _context: EncodeContext): PushRequest | null {
      return encodeNotification(notification, binding, encodeSettings);
    },
  };
}

/** The codec with default options. */
export const kaleyraCodec: Codec<unknown> = createKaleyraCodec();

/** What this package offers an app: the \`kaleyra\` format, its providers, and whether devices need a push key. */
export const codecMetadata: CodecMetadata = {
  id: 'kaleyra',
  providers: kaleyraCodec.capabilities.providers,
  devicePushKey: false,
  create: () => createKaleyraCodec(),
};
