import type { NotificationType, Provider, PushRequest, PushType } from './model.js';
import { utf8Length } from './validate.js';

/**
 * Facts of the providers that codecs and transports must agree on. They live here, beside the
 * PushRequest they constrain, because a codec may not import a transport: the codec checks them
 * to fail with a CodecError naming its field before anything is queued, and the transport (and
 * its simulator) enforces the very same numbers.
 */

/**
 * The largest push each provider takes, in bytes of its JSON: the APNs body, or the FCM / HMS
 * message without its target. APNs VoIP pushes may be larger: see `VOIP_PAYLOAD_LIMIT`.
 */
export const PAYLOAD_LIMITS: Readonly<Record<Provider, number>> = { apns: 4096, fcm: 4096, hms: 4096 };

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
 * Whether a notification of this type may go out as this push type. A VoIP push must report a
 * call to CallKit (iOS ends an app that does not), so a registration refresh never is one.
 */
export function mayPushAs(type: NotificationType, pushType: PushType): boolean {
  return !(type === 'register_refresh' && pushType === 'voip');
}
