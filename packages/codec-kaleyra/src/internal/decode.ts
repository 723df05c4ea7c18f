import { DEFAULT_RING_TIMEOUT_MS, type CallNotification, type DecodeContext } from '@pushrelay/core';
import { fail, isoOrUndefined, readArray, readObject, readOptionalString, readString } from './read.js';

export interface DecodeSettings {
  ringTimeoutMs: number | undefined;
  missedCallsTtlMs: number;
}

/** Kaleyra's `callType` values; only `audio_video` starts with the camera on. */
const VIDEO_CALL_TYPES = new Set(['audio_video']);

/** One notification per user the webhook concerns; the whole webhook rides along for encode. */
export function decodeWebhook(input: unknown, context: DecodeContext, settings: DecodeSettings): CallNotification[] {
  const webhook = readObject(input, '');
  const event = readString(webhook.event, 'event');
  switch (event) {
    case 'on_call_incoming':
      return decodeRoomEvent(webhook, event, 'incoming_call', context, settings);
    case 'on_call_ended':
      return decodeRoomEvent(webhook, event, 'call_cancelled', context, settings);
    case 'on_missed_call':
      return decodeMissedCall(webhook, context, settings);
    case 'on_message_sent':
      return fail(
        'event',
        'on_message_sent is not decoded: Kaleyra does not document its data, so it has no recipient to read',
      );
    default:
      return fail('event', `unknown Kaleyra event "${event}"`);
  }
}

interface RoomUser {
  alias: string;
  status: string | undefined;
}

function readUsers(data: Record<string, unknown>): RoomUser[] {
  return readArray(data.users, 'data.users').map((entry, i) => {
    const path = `data.users[${i}]`;
    const o = readObject(entry, path);
    const user = readObject(o.user, `${path}.user`);
    const alias = readString(user.userAlias, `${path}.user.userAlias`);
    const status = readOptionalString(o.status, `${path}.status`);
    return { alias, status };
  });
}

function decodeRoomEvent(
  webhook: Record<string, unknown>,
  event: string,
  type: 'incoming_call' | 'call_cancelled',
  context: DecodeContext,
  settings: DecodeSettings,
): CallNotification[] {
  const roomId = readString(webhook.room_id, 'room_id');
  const data = readObject(webhook.data, 'data');
  const initiator = readString(data.initiator, 'data.initiator');
  const users = readUsers(data);
  let video = false;
  let startedAt: string | undefined;
  if (data.options !== undefined && data.options !== null) {
    const options = readObject(data.options, 'data.options');
    const callType = readOptionalString(options.callType, 'data.options.callType');
    video = callType !== undefined && VIDEO_CALL_TYPES.has(callType);
    startedAt = isoOrUndefined(options.creationDate);
  }

  const createdAt = new Date(context.now).toISOString();
  const ringMs = context.defaultRingTimeoutMs ?? settings.ringTimeoutMs ?? DEFAULT_RING_TIMEOUT_MS;
  const deadline = new Date(context.now + ringMs).toISOString();
  const seen = new Set<string>([initiator]);
  const out: CallNotification[] = [];
  for (const user of users) {
    if (seen.has(user.alias)) continue;
    // An incoming call rings only the users Kaleyra invited; an ended call stops every callee.
    if (type === 'incoming_call' && user.status !== 'invited') continue;
    seen.add(user.alias);
    out.push({
      id: `${event}:${roomId}:${user.alias}`,
      type,
      tenant: context.tenant,
      recipient: user.alias,
      call: {
        id: roomId,
        from: { uri: initiator },
        to: { uri: user.alias },
        video,
        startedAt: startedAt ?? createdAt,
      },
      createdAt,
      deadline,
      priority: 'high',
      vendor: { webhook: structuredClone(webhook) },
    });
  }
  return out;
}

/** The shape the Kaleyra Android demo app parses (`MissedNotificationPayloadWorker`). */
function decodeMissedCall(
  webhook: Record<string, unknown>,
  context: DecodeContext,
  settings: DecodeSettings,
): CallNotification[] {
  const data = readObject(webhook.data, 'data');
  const caller = readString(data.caller_id, 'data.caller_id');
  const called = readArray(data.called_users, 'data.called_users').map((entry, i) => {
    const path = `data.called_users[${i}]`;
    const o = readObject(entry, path);
    return {
      userId: readString(o.user_id, `${path}.user_id`),
      status: readOptionalString(o.status, `${path}.status`),
    };
  });
  const createdAt = new Date(context.now).toISOString();
  const roomId = readOptionalString(webhook.room_id, 'room_id') ?? readOptionalString(data.room_id, 'data.room_id');
  const callId = roomId ?? `${caller}@${createdAt}`;
  const deadline = new Date(context.now + settings.missedCallsTtlMs).toISOString();
  const seen = new Set<string>([caller]);
  const out: CallNotification[] = [];
  for (const user of called) {
    if (seen.has(user.userId)) continue;
    if (user.status !== undefined && user.status !== 'not_answered') continue;
    seen.add(user.userId);
    out.push({
      id: `on_missed_call:${callId}:${user.userId}`,
      type: 'missed_calls',
      tenant: context.tenant,
      recipient: user.userId,
      missed: [{ callId, from: { uri: caller }, at: createdAt }],
      createdAt,
      deadline,
      priority: 'normal',
      vendor: { webhook: structuredClone(webhook) },
    });
  }
  return out;
}
