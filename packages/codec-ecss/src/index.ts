import type {
  CallNotification,
  Codec,
  DeviceBinding,
  EncodeContext,
  PushRequest,
  CodecMetadata,
} from '@pushrelay/core';
import { encodeNotification, type DisplayNameKey } from './internal/encode.js';
import { CODEC_ID } from './internal/rfc8599.js';

export { parseRfc8599Params, Rfc8599ParamsError } from './internal/rfc8599.js';
export type {
  ContactParams,
  ParseRfc8599Options,
  Rfc8599Binding,
  Rfc8599Problem,
  Rfc8599Provider,
} from './internal/rfc8599.js';
export type { DisplayNameKey } from './internal/encode.js';

export interface EcssCodecOptions {
  /** Badge count when the notification's `vendor.badge` gives none. Default 1. */
  badge?: number;
  /** Send the badge as ECSS-10 does, a string (`"10"`). Default true; false sends a number. */
  badgeAsString?: boolean;
  /**
   * Keys of the caller's name in the APNs `acme` object. Default `['dispaly_name']`, the
   * spelling ECSS-10 sends; add `display_name` for apps that read the corrected key.
   */
  displayNameKeys?: readonly DisplayNameKey[];
  /** What an absent caller name becomes: `[]` as ECSS-10 sends it (default) or `""`. */
  emptyDisplayName?: 'empty-list' | 'empty-string';
  /** Lifetime of the invite push (FCM `ttl`, APNs expiration). Default 28 s, as ECSS-10. */
  inviteTtlSeconds?: number;
  /** APNs `time_to_live` and expiration of the missed-calls push. Default 120 s, as ECSS-10. */
  missedCallsTtlSeconds?: number;
  /** Send the missed-calls summary to PushKit (VoIP) tokens too. Default false. */
  missedCallsOverVoip?: boolean;
}

/**
 * The pushes Eltex ECSS-10 apps expect: the invite push that wakes the app to re-REGISTER,
 * and the missed-calls summary sent when it comes back. Bindings come from RFC 8599 Contact
 * parameters (`parseRfc8599Params`); ECSS-10 has no HTTP ingress, so there is nothing to decode.
 */
export function createEcssCodec(options: EcssCodecOptions = {}): Codec {
  const settings = {
    badge: options.badge ?? 1,
    badgeAsString: options.badgeAsString ?? true,
    displayNameKeys: options.displayNameKeys ?? (['dispaly_name'] as const),
    emptyDisplayName: options.emptyDisplayName ?? 'empty-list',
    inviteTtlSeconds: options.inviteTtlSeconds ?? 28,
    missedCallsTtlSeconds: options.missedCallsTtlSeconds ?? 120,
    missedCallsOverVoip: options.missedCallsOverVoip ?? false,
  };
  return {
    id: CODEC_ID,
    capabilities: { decode: false, providers: ['fcm', 'apns', 'hms'] },
    encode(notification: CallNotification, binding: DeviceBinding, context: EncodeContext): PushRequest | null {
      return encodeNotification(notification, binding, context.now, settings);
    },
  };
}

/** The codec with default options. */
export const ecssCodec: Codec = createEcssCodec();

/** What this package offers an app: the \`ecss\` format, its providers, and whether devices need a push key. */
export const codecMetadata: CodecMetadata = {
  id: 'ecss',
  providers: ecssCodec.capabilities.providers,
  devicePushKey: false,
  create: () => createEcssCodec(),
};
