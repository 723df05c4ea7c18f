import {
  CodecError,
  payloadLimit,
  payloadSize,
  voipTopic,
  webCallPayload,
  webPushRequest,
  type CallNotification,
  type CallParty,
  type DeviceBinding,
  type PushRequest,
} from '@pushrelay/core';
import { CODEC_ID, isRecord } from './read.js';

export interface EncodeSettings {
  /** FCM `data` key that carries the webhook JSON string. */
  fcmDataKey: string;
}

/** The webhook event each notification type forwards; the SDK wakes on these names. */
const EVENT_OF_TYPE: Partial<Record<CallNotification['type'], string>> = {
  incoming_call: 'on_call_incoming',
  missed_calls: 'on_missed_call',
  message: 'on_message_sent',
};

function fail(path: string, message: string): never {
  throw new CodecError(CODEC_ID, message, { path });
}

function partyId(party: CallParty): string | undefined {
  return party.uri ?? party.number ?? party.displayName;
}

/**
 * The webhook to forward: the one the notification was decoded from, or, for a notification
 * made elsewhere (HTTP API), a minimal one in Kaleyra's shape. The SDK only looks for the event
 * name and then fetches the call over its own socket, so the minimal form wakes it just as well.
 */
export function webhookOf(n: CallNotification): Record<string, unknown> | null {
  const expected = EVENT_OF_TYPE[n.type];
  if (expected === undefined) return null;
  const carried = n.vendor?.webhook;
  if (carried !== undefined) {
    if (!isRecord(carried)) fail('vendor.webhook', 'must be an object');
    if (carried.event !== expected) {
      fail('vendor.webhook.event', `must be "${expected}" for a ${n.type} notification`);
    }
    return carried;
  }
  if (n.type === 'incoming_call') {
    if (!n.call) fail('call', 'is required for incoming_call');
    const initiator = partyId(n.call.from);
    if (initiator === undefined) fail('call.from', 'must have a uri, number or displayName');
    return {
      event: 'on_call_incoming',
      room_id: n.call.id,
      data: {
        initiator,
        users: [
          { user: { userAlias: initiator }, status: 'invited' },
          { user: { userAlias: n.recipient }, status: 'invited' },
        ],
        roomAlias: n.call.id,
        options: {
          callType: n.call.video ? 'audio_video' : 'audio_only',
          creationDate: n.call.startedAt,
        },
      },
    };
  }
  if (n.type === 'missed_calls') {
    const last = n.missed?.[n.missed.length - 1];
    if (!last) fail('missed', 'is required for missed_calls');
    const caller = partyId(last.from);
    if (caller === undefined) fail(`missed[${n.missed!.length - 1}].from`, 'must have a uri, number or displayName');
    return {
      event: 'on_missed_call',
      room_id: last.callId,
      data: { caller_id: caller, called_users: [{ user_id: n.recipient, status: 'not_answered' }] },
    };
  }
  // on_message_sent has no documented schema to build one from.
  return null;
}

export function encodeNotification(
  n: CallNotification,
  binding: DeviceBinding,
  settings: EncodeSettings,
): PushRequest | null {
  const webhook = webhookOf(n);
  if (!webhook) return null;
  const deadline = Date.parse(n.deadline);
  if (Number.isNaN(deadline)) fail('deadline', 'must be an ISO 8601 date-time');
  const high = n.type === 'incoming_call' || n.priority === 'high';
  const base = {
    token: binding.token,
    app: binding.app,
    environment: binding.environment,
    priority: high ? ('high' as const) : ('normal' as const),
    expiresAt: deadline,
  };

  let request: PushRequest;
  switch (binding.provider) {
    case 'fcm':
      request = {
        ...base,
        provider: 'fcm',
        pushType: 'background',
        payload: {
          android: { priority: high ? 'high' : 'normal' },
          data: { [settings.fcmDataKey]: JSON.stringify(webhook) },
        },
      };
      break;
    case 'hms': {
      const android: Record<string, string> = { urgency: high ? 'HIGH' : 'NORMAL' };
      if (n.type === 'incoming_call') android.category = 'VOIP';
      request = {
        ...base,
        provider: 'hms',
        pushType: 'background',
        payload: { data: JSON.stringify(webhook), android },
      };
      // A HarmonyOS NEXT device's binding may name the Push Kit API (transport-hms reads the header).
      const api = binding.params?.['hms-api'];
      if (api !== undefined) {
        if (api !== 'v1' && api !== 'v2' && api !== 'v3') fail('binding.params.hms-api', 'must be v1, v2 or v3');
        request.headers = { 'hms-api': api };
      }
      break;
    }
    case 'apns':
      // PushKit pushes must each report a call to CallKit, so only an incoming call goes out
      // as VoIP; the SDK's non-VoIP payload is undocumented, so nothing else goes to iOS.
      if (binding.pushKind !== 'voip' || n.type !== 'incoming_call') return null;
      request = {
        ...base,
        provider: 'apns',
        pushType: 'voip',
        priority: 'high',
        headers: { 'apns-topic': voipTopic(binding.app) },
        payload: { aps: {}, data: webhook },
      };
      break;
    case 'webpush':
      // The generic call payload for the browser to show, the webhook beside it for Kaleyra's web SDK.
      request = webPushRequest(n, binding, { ...webCallPayload(n, { vendor: { kaleyra: webhook } }) });
      break;
    default:
      return fail('binding.provider', `unsupported provider "${String(binding.provider)}"`);
  }
  const size = payloadSize(request);
  const limit = payloadLimit(request);
  if (size > limit) {
    fail('vendor.webhook', `the ${binding.provider} payload would be ${size} bytes, over the ${limit}-byte limit`);
  }
  return request;
}
