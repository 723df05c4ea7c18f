import type {
  CallNotification,
  Codec,
  DeviceBinding,
  EncodeContext,
  PushRequest,
  CodecMetadata,
} from '@pushrelay/core';
import { encodeNotification, MIZU_DATA_KEYS, type MizuDataKey, type MizuTexts } from './internal/encode.js';
import { CODEC_ID } from './internal/header.js';

export { parseMizuPushHeader, MizuPushHeaderError } from './internal/header.js';
export type { MizuPushBinding, MizuPushHeaderProblem, ParseMizuPushHeaderOptions } from './internal/header.js';
export { MIZU_DATA_KEYS } from './internal/encode.js';
export type { MizuDataKey, MizuTexts } from './internal/encode.js';

export interface MizutechCodecOptions {
  /** Alert title / `nmsg` and alert body, from the caller's number. Default Mizutech's English texts. */
  texts?: Partial<MizuTexts>;
  /** `aps.sound`. Default `default`. */
  sound?: string;
  /** `aps.badge`. Default 1. */
  badge?: number;
  /** Which `n*` keys the FCM data message carries. Default all six. */
  fcmDataKeys?: readonly MizuDataKey[];
  /**
   * FCM expiry: the notification deadline (default) or now-or-never (`android.ttl` 0s) like
   * the APNs push. APNs always uses expiration 0, as Mizutech's example does.
   */
  fcmExpiry?: 'deadline' | 'now-or-never';
}

const DEFAULT_TEXTS: MizuTexts = {
  title: (caller) => `Incoming call from ${caller}`,
  body: (caller) => `Incoming VoIP call from ${caller}`,
};

/**
 * The pushes Mizutech softphones expect: an APNs VoIP push for `i` bindings and an FCM data
 * message for `a` bindings. Bindings come from the SIP `X-MPUSH` header (`parseMizuPushHeader`);
 * there is no vendor input to decode.
 */
export function createMizutechCodec(options: MizutechCodecOptions = {}): Codec {
  const settings = {
    texts: { ...DEFAULT_TEXTS, ...options.texts },
    sound: options.sound ?? 'default',
    badge: options.badge ?? 1,
    fcmDataKeys: options.fcmDataKeys ?? MIZU_DATA_KEYS,
    fcmExpiry: options.fcmExpiry ?? 'deadline',
  };
  return {
    id: CODEC_ID,
    capabilities: { decode: false, providers: ['apns', 'fcm'] },
    encode(notification: CallNotification, binding: DeviceBinding, _context: EncodeContext): PushRequest | null {
      return encodeNotification(notification, binding, settings);
    },
  };
}

/** The codec with default options. */
export const mizutechCodec: Codec = createMizutechCodec();

/** What this package offers an app: the \`mizutech\` format, its providers, and whether devices need a push key. */
export const codecMetadata: CodecMetadata = {
  id: 'mizutech',
  providers: mizutechCodec.capabilities.providers,
  devicePushKey: false,
  create: () => createMizutechCodec(),
};
