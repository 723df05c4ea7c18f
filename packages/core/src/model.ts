/**
 * The canonical model every codec translates to and from, and every transport delivers.
 * Times are ISO 8601 strings in the model (it travels as JSON) and epoch milliseconds inside
 * the relay's arithmetic.
 */

export const NOTIFICATION_TYPES = [
  'incoming_call',
  'call_cancelled',
  'missed_calls',
  'voicemail',
  'message',
  'custom',
  'register_refresh',
] as const;
/**
 * `register_refresh` asks the app on one device to REGISTER again with its SIP server (a SIP push
 * edge keeps a sleeping phone's registration alive with it, RFC 8599 §5.4). It reports no call, so
 * it is never sent as a VoIP push.
 */
export type NotificationType = (typeof NOTIFICATION_TYPES)[number];

/** The types that ring or stop ringing a phone: pushed at high priority, in the call lane, first admitted. */
export function isCallType(type: string | undefined): boolean {
  return type === 'incoming_call' || type === 'call_cancelled';
}

/** `webpush`: a browser's Web Push subscription (RFC 8030), the token being its JSON (see `webPushToken`). */
export const PROVIDERS = ['apns', 'fcm', 'hms', 'webpush'] as const;
export type Provider = (typeof PROVIDERS)[number];

export const ENVIRONMENTS = ['production', 'sandbox'] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

/** What the device registered for: a PushKit VoIP token, a user-visible alert token, or data-only. */
export const PUSH_KINDS = ['voip', 'alert', 'data'] as const;
export type PushKind = (typeof PUSH_KINDS)[number];

export const PRIORITIES = ['high', 'normal'] as const;
export type Priority = (typeof PRIORITIES)[number];

export const BINDING_ORIGINS = ['api', 'sip-x-mpush', 'sip-rfc8599'] as const;
export type BindingOrigin = (typeof BINDING_ORIGINS)[number];

export interface CallParty {
  /** E.164 or dialled digits, as the platform gave them. */
  number?: string;
  uri?: string;
  displayName?: string;
}

export interface CallInfo {
  /** The platform's call reference (SIP Call-ID, Asterisk uniqueid, room id...). */
  id: string;
  from: CallParty;
  to?: CallParty;
  video: boolean;
  startedAt: string;
}

export interface MissedCall {
  callId: string;
  from: CallParty;
  at: string;
}

export interface MessageContent {
  title?: string;
  body?: string;
}

export interface CallNotification {
  /** Idempotency key: a second notification with the same id in the same tenant is not sent again. */
  id: string;
  type: NotificationType;
  tenant: string;
  /** The user id whose devices are woken. */
  recipient: string;
  /** Only these bindings of the recipient are pushed (one SIP device, say); all of them when absent. */
  bindingIds?: string[];
  call?: CallInfo;
  missed?: MissedCall[];
  message?: MessageContent;
  /** For `custom`: the vendor's own notification type name. */
  customType?: string;
  createdAt: string;
  /** After this instant the push is useless (the ring has ended) and is never sent. */
  deadline: string;
  priority: Priority;
  collapseKey?: string;
  /** Opaque vendor data a codec carries through (SignalWire verto invite, Kaleyra webhook...). */
  vendor?: Record<string, unknown>;
}

export interface DeviceBinding {
  id: string;
  tenant: string;
  userId: string;
  provider: Provider;
  token: string;
  /** APNs bundle id, FCM project id, HMS app id, or the VAPID key set a web subscription was made with. */
  app: string;
  environment: Environment;
  pushKind: PushKind;
  /** Id of the codec that produces what the app on this device expects. */
  format: string;
  /** Per-device secrets a codec needs, e.g. the SignalWire payload key. Never logged. */
  secrets?: Record<string, string>;
  /** Per-device codec parameters (RFC 8599 pn-param, APNs topic overrides...). */
  params?: Record<string, string>;
  origin: BindingOrigin;
  /** `+sip.instance` of the registering device, when it came from SIP. */
  sipInstance?: string;
  createdAt: string;
  updatedAt: string;
}

/** The fields a caller supplies to register a device; the store assigns id and times. */
export type DeviceBindingInput = Omit<DeviceBinding, 'id' | 'createdAt' | 'updatedAt'> & {
  id?: string;
};

/**
 * How the device shows a push: `voip` wakes the app for a call (APNs PushKit, HMS VoIP category),
 * `alert` is shown to the user, `background` is data the app handles silently.
 */
export const PUSH_TYPES = ['voip', 'alert', 'background'] as const;
export type PushType = (typeof PUSH_TYPES)[number];
/**
 * @deprecated Renamed `PushType`: the same kinds drive APNs push types, HMS VoIP categories and FCM
 * priorities. This alias is removed in the next minor release.
 */
export type ApnsPushType = PushType;

/** What a transport sends: built by a codec, validated against size limits by the transport. */
export interface PushRequest {
  provider: Provider;
  token: string;
  app: string;
  environment: Environment;
  pushType: PushType;
  priority: Priority;
  /**
   * When the provider should stop trying (epoch ms), or null for "now or never".
   * APNs `apns-expiration`, FCM `android.ttl`, HMS `android.ttl` unless the payload sets them.
   */
  expiresAt: number | null;
  collapseId?: string;
  /** Extra provider headers (APNs `apns-topic` overrides and the like). */
  headers?: Record<string, string>;
  /**
   * The provider body without the target: the APNs JSON body, or the FCM/HMS `message`
   * object without `token`.
   */
  payload: Record<string, unknown>;
}

export type DeliveryOutcome =
  | { kind: 'delivered'; providerId?: string }
  | { kind: 'invalid-token'; reason: string; since?: string }
  | {
      kind: 'retry';
      reason: string;
      retryAfterMs?: number;
      /**
       * What the provider throttled: one device (APNs TooManyRequests) or the whole credential
       * (FCM QUOTA_EXCEEDED, HMS flow control). Only a credential throttle holds back other sends.
       */
      scope?: 'device' | 'credential';
    }
  | { kind: 'rejected'; reason: string }
  | { kind: 'auth-failed'; reason: string };

export type DeliveryOutcomeKind = DeliveryOutcome['kind'];

export const DEVICE_STATUSES = [
  'pending',
  'retrying',
  'delivered',
  'invalid-token',
  'rejected',
  'auth-failed',
  'expired',
  'skipped',
] as const;
export type DeviceDeliveryStatus = (typeof DEVICE_STATUSES)[number];

export interface DeliveryAttempt {
  attempt: number;
  at: string;
  outcome: DeliveryOutcome;
  latencyMs: number;
}

export interface DeviceDelivery {
  bindingId: string;
  provider: Provider;
  app: string;
  format: string;
  status: DeviceDeliveryStatus;
  attempts: DeliveryAttempt[];
  /** Why the device ended where it did (provider reason, "no codec", "deadline passed"...). */
  detail?: string;
  updatedAt: string;
}

export type ReportStatus = 'in-progress' | 'completed' | 'suppressed';

export interface DeliveryReport {
  notificationId: string;
  tenant: string;
  recipient: string;
  type: NotificationType;
  acceptedAt: string;
  deadline: string;
  status: ReportStatus;
  /** Set when nothing was pushed because the user is online now. */
  suppressedReason?: 'online' | 'no-devices';
  devices: DeviceDelivery[];
  completedAt?: string;
}

export const FINAL_DEVICE_STATUSES: ReadonlySet<DeviceDeliveryStatus> = new Set([
  'delivered',
  'invalid-token',
  'rejected',
  'auth-failed',
  'expired',
  'skipped',
]);
