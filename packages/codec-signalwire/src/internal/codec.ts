import {
  CodecError,
  payloadLimit,
  payloadSize,
  type CallNotification,
  type Codec,
  type DeviceBinding,
  type EncodeContext,
  type PushRequest,
} from '@pushrelay/core';
import { decodeBase64 } from '../client/internal/base64.js';
import type { SignalWirePushPayload } from '../client/internal/types.js';
import { CODEC_NAME } from './constants.js';
import { compressInvite, defaultRandomBytes, isUuid, sealInvite, uuidFor, type RandomBytes } from './crypto.js';
import { decodeCall, readVertoInvite, type SignalWireCallInput } from './decode.js';

export interface SignalWireCodecOptions {
  /** Codec id, the `format` bindings name. Default `signalwire`. */
  id?: string;
  /** `title` of the push. Default `Incoming Call`, as SignalWire sends it. */
  title?: string;
  /** Source of IVs. Default node:crypto randomBytes; inject a fixed one only in tests. */
  randomBytes?: RandomBytes;
  /** IV length in bytes. Default 12, the GCM standard. */
  ivLength?: number;
  /** Name of the binding secret holding the device key (base64). Default `pushKey`. */
  secretName?: string;
  /** Refuse to push to a device without a key instead of sending `encryption_type: none`. Default false. */
  requireEncryption?: boolean;
  /** The push's `notification_uuid`. Default the notification id when it is a UUID, else a UUID derived from tenant and id. */
  notificationUuid?: (notification: CallNotification) => string;
  /**
   * Shape of the FCM message. `body` (default): `{notification: {body}, data: {}}`, as
   * SignalWire documents it for Android and web. `title-and-body`: `{notification: {title, body}}`,
   * which shows a title on Android when the app is in the background. Clients read only `body`.
   */
  fcmNotification?: 'body' | 'title-and-body';
}

export function createSignalWireCodec(options: SignalWireCodecOptions = {}): Codec<unknown> {
  const id = options.id ?? CODEC_NAME;
  const title = options.title ?? 'Incoming Call';
  const randomBytes = options.randomBytes ?? defaultRandomBytes;
  const ivLength = options.ivLength ?? 12;
  const secretName = options.secretName ?? 'pushKey';

  function deviceKey(binding: DeviceBinding): Buffer | undefined {
    const text = binding.secrets?.[secretName];
    if (text === undefined || text === '') {
      if (options.requireEncryption) {
        throw new CodecError(CODEC_NAME, 'the device has no push key and encryption is required', {
          path: `binding.secrets.${secretName}`,
        });
      }
      return undefined;
    }
    const bytes = decodeBase64(text);
    if (!bytes || bytes.length !== 32) {
      throw new CodecError(CODEC_NAME, 'must be base64 of a 32-byte AES-256 key', {
        path: `binding.secrets.${secretName}`,
      });
    }
    return Buffer.from(bytes);
  }

  function corePayload(notification: CallNotification, binding: DeviceBinding): SignalWirePushPayload {
    const call = notification.call;
    if (!call) throw new CodecError(CODEC_NAME, 'is required for an incoming call', { path: 'call' });
    const invite = readVertoInvite(notification.vendor?.invite, 'vendor.invite');
    const key = deviceKey(binding);
    const compressed = compressInvite(invite);
    let sealed: { iv: string; tag: string; invite: string };
    if (key) {
      const iv = randomBytes(ivLength);
      if (iv.length !== ivLength)
        throw new CodecError(CODEC_NAME, `randomBytes returned ${iv.length} bytes, not ${ivLength}`);
      sealed = sealInvite(compressed, key, iv);
    } else {
      sealed = { iv: '', tag: '', invite: compressed.toString('base64') };
    }
    const uuid = options.notificationUuid
      ? options.notificationUuid(notification)
      : isUuid(notification.id)
        ? notification.id
        : uuidFor(notification.tenant, notification.id);
    // Field order follows SignalWire's own pushes: it shows in the JSON string FCM carries.
    return {
      version: '1',
      type: 'call_invite',
      title,
      notification_uuid: uuid,
      incoming_caller_id: call.from.number ?? call.from.uri ?? '',
      incoming_caller_name: call.from.displayName ?? call.from.number ?? call.from.uri ?? '',
      with_video: call.video ? 'true' : 'false',
      encryption_type: key ? 'aes_256_gcm' : 'none',
      iv: sealed.iv,
      tag: sealed.tag,
      invite: sealed.invite,
    };
  }

  return {
    id,
    capabilities: { decode: true, providers: ['apns', 'fcm', 'hms', 'webpush'] },

    decode(input: unknown, context) {
      return decodeCall(input, context);
    },

    encode(notification: CallNotification, binding: DeviceBinding, _context: EncodeContext): PushRequest | null {
      // SignalWire pushes only call invites; a cancelled call is ended over the WebSocket.
      if (notification.type !== 'incoming_call') return null;
      // On iOS SignalWire sends only PushKit VoIP pushes.
      if (binding.provider === 'apns' && binding.pushKind !== 'voip') return null;
      const core = corePayload(notification, binding);
      let payload: Record<string, unknown>;
      if (binding.provider === 'apns') {
        payload = { aps: { alert: core } };
      } else if (binding.provider === 'fcm') {
        payload =
          options.fcmNotification === 'title-and-body'
            ? { notification: { title: core.title, body: JSON.stringify(core) } }
            : { notification: { body: JSON.stringify(core) }, data: {} };
      } else if (binding.provider === 'webpush') {
        // SignalWire's web wrapping, as the service worker receives it: event.data.json().
        payload = { notification: { body: JSON.stringify(core) }, data: {} };
      } else {
        payload = { notification: { title: core.title, body: JSON.stringify(core) } };
      }
      const voip = binding.provider === 'apns';
      const pushType = voip ? 'voip' : 'alert';
      const size = payloadSize({ payload });
      const limit = payloadLimit({ provider: binding.provider, pushType });
      if (size > limit) {
        throw new CodecError(
          CODEC_NAME,
          `the push is ${size} bytes, over the ${binding.provider} limit of ${limit} (the invite SDP is too large)`,
          {
            path: 'vendor.invite',
          },
        );
      }
      return {
        provider: binding.provider,
        token: binding.token,
        app: binding.app,
        environment: binding.environment,
        pushType,
        priority: 'high',
        expiresAt: Date.parse(notification.deadline),
        payload,
      };
    },
  };
}

export type { SignalWireCallInput };
