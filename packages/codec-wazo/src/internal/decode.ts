import { createHash } from 'node:crypto';
import { CodecError, type CallNotification, type CallParty, type DecodeContext } from '@pushrelay/core';
import { BUS_EVENTS, CODEC_NAME, RESERVED_TYPES, WAZO_TYPES } from './constants.js';
import { pythonJsonDumps, pythonLength } from './python-json.js';
import { messageTexts, voicemailTexts } from './texts.js';

export interface DecodeSettings {
  /** How long a non-call push stays worth sending. */
  deliveryWindowMs: number;
}

interface Issue {
  path: string;
  message: string;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function fail(path: string, message: string): never {
  throw new CodecError(CODEC_NAME, message, { path });
}

const API_KEYS = new Set(['notification_type', 'user_uuid', 'title', 'body', 'extra']);
const ID_PATTERN = /^[A-Za-z0-9._:@+-]{1,200}$/;

/** The same input in the same millisecond gives the same id, so a replayed request is a duplicate. */
function contentId(prefix: string, tenant: string, now: number, input: unknown): string {
  const digest = createHash('sha256')
    .update(`${tenant}\n${now}\n${pythonJsonDumps(input)}`)
    .digest('hex');
  return `${prefix}:${digest.slice(0, 24)}`;
}

/** `POST /1.0/mobile/notifications`, with webhookd's marshmallow rules. */
function decodeApiRequest(
  input: Record<string, unknown>,
  context: DecodeContext,
  settings: DecodeSettings,
): CallNotification[] {
  const issues: Issue[] = [];
  for (const key of Object.keys(input)) if (!API_KEYS.has(key)) issues.push({ path: key, message: 'Unknown field.' });
  const text = (key: string, max: number, exact = false): string | undefined => {
    const v = input[key];
    if (v === undefined) return void issues.push({ path: key, message: 'Missing data for required field.' });
    if (typeof v !== 'string') return void issues.push({ path: key, message: 'Not a valid string.' });
    const n = pythonLength(v);
    if (exact ? n !== max : n > max) {
      return void issues.push({
        path: key,
        message: exact ? `Length must be ${max}.` : `Longer than maximum length ${max}.`,
      });
    }
    return v;
  };
  const type = input.notification_type;
  if (type === undefined) issues.push({ path: 'notification_type', message: 'Missing data for required field.' });
  else if (typeof type !== 'string') issues.push({ path: 'notification_type', message: 'Not a valid string.' });
  else if (pythonLength(type) < 1 || pythonLength(type) > 100) {
    issues.push({ path: 'notification_type', message: 'Length must be between 1 and 100.' });
  } else if (RESERVED_TYPES.has(type)) {
    issues.push({ path: 'notification_type', message: `The type "${type}" is a reserved type.` });
  } else if (!/^[a-z0-9_]+$/i.test(type)) {
    issues.push({ path: 'notification_type', message: 'String does not match expected pattern.' });
  }
  const userUuid = text('user_uuid', 36, true);
  const title = text('title', 128);
  const body = text('body', 250);
  let extra: Record<string, unknown> = {};
  if (input.extra !== undefined) {
    if (isRecord(input.extra)) extra = input.extra;
    else issues.push({ path: 'extra', message: 'Not a valid mapping type.' });
  }
  if (issues.length > 0) {
    throw new CodecError(CODEC_NAME, issues.map((i) => `${i.path}: ${i.message}`).join('; '), {
      path: issues[0]!.path,
    });
  }
  const { items, ...rest } = extra;
  const wazo: Record<string, unknown> = {};
  if (items !== undefined) wazo.items = structuredClone(items);
  if (Object.keys(rest).length > 0) wazo.extra = structuredClone(rest);
  const now = new Date(context.now).toISOString();
  const notification: CallNotification = {
    id: contentId('wazo-api', context.tenant, context.now, input),
    type: 'custom',
    tenant: context.tenant,
    recipient: userUuid!,
    message: { title: title!, body: body! },
    customType: type as string,
    createdAt: now,
    deadline: new Date(context.now + settings.deliveryWindowMs).toISOString(),
    priority: 'normal',
  };
  if (Object.keys(wazo).length > 0) notification.vendor = { wazo };
  return [notification];
}

function optionalText(data: Record<string, unknown>, key: string): string | undefined {
  const v = data[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') fail(`data.${key}`, 'must be a string');
  return v;
}

/** The user a bus message is for: a `user_uuid` field, or the bus's `user_uuid:<uuid>: true` header key. */
function busRecipient(input: Record<string, unknown>, data: Record<string, unknown>): string {
  if (typeof input.user_uuid === 'string' && input.user_uuid) return input.user_uuid;
  const keys = Object.keys(input).filter((k) => k.startsWith('user_uuid:') && input[k] === true);
  if (keys.length === 1) return keys[0]!.slice('user_uuid:'.length);
  if (keys.length > 1) fail('', 'the event names more than one user (user_uuid:<uuid> keys)');
  if (typeof data.user_uuid === 'string' && data.user_uuid) return data.user_uuid;
  fail('user_uuid', 'the event does not say which user it is for (user_uuid or a user_uuid:<uuid> key)');
}

function idPart(value: string, path: string): string {
  if (!ID_PATTERN.test(value)) fail(path, 'may only hold letters, digits and . _ : @ + -');
  return value;
}

function decodeCallEvent(
  kind: 'incoming_call' | 'call_cancelled',
  wazoType: string,
  data: Record<string, unknown>,
  recipient: string,
  context: DecodeContext,
): CallNotification[] {
  const callId = optionalText(data, 'call_id') ?? optionalText(data, 'sip_call_id');
  if (!callId) fail('data.call_id', 'is required (or sip_call_id)');
  const from: CallParty = {};
  const number = optionalText(data, 'peer_caller_id_number');
  const name = optionalText(data, 'peer_caller_id_name');
  if (number) from.number = number;
  if (name) from.displayName = name;
  if (!number && !name) fail('data.peer_caller_id_number', 'the caller has no number and no name');
  if (data.video !== undefined && typeof data.video !== 'boolean') fail('data.video', 'must be a boolean');
  let ringMs = context.defaultRingTimeoutMs ?? 30_000;
  if (data.ring_timeout !== undefined && data.ring_timeout !== null) {
    // AMI hands calld the ring timeout as text ("42"); accept a number too.
    const raw = data.ring_timeout;
    const seconds =
      typeof raw === 'string' && /^\d{1,4}$/.test(raw) ? Number(raw) : typeof raw === 'number' ? raw : NaN;
    if (!Number.isInteger(seconds) || seconds < 1 || seconds > 3600) {
      fail('data.ring_timeout', 'must be whole seconds between 1 and 3600 ("42")');
    }
    ringMs = seconds * 1000;
  }
  const now = new Date(context.now).toISOString();
  return [
    {
      id: `${wazoType}:${idPart(callId, 'data.call_id')}`,
      type: kind,
      tenant: context.tenant,
      recipient,
      call: { id: callId, from, video: data.video === true, startedAt: now },
      createdAt: now,
      deadline: new Date(context.now + ringMs).toISOString(),
      priority: 'high',
      vendor: { wazo: { items: structuredClone(data) } },
    },
  ];
}

function decodeBusEvent(
  input: Record<string, unknown>,
  context: DecodeContext,
  settings: DecodeSettings,
): CallNotification[] {
  const name = input.name;
  if (typeof name !== 'string') fail('name', 'must be the bus event name');
  const wazoType = BUS_EVENTS[name];
  if (!wazoType) fail('name', `"${name}" is not an event Wazo pushes to phones`);
  const data = input.data;
  if (!isRecord(data)) fail('data', 'must be an object');
  const recipient = busRecipient(input, data);
  const now = new Date(context.now).toISOString();
  const deadline = new Date(context.now + settings.deliveryWindowMs).toISOString();
  const base = { tenant: context.tenant, recipient, createdAt: now, deadline, priority: 'normal' as const };

  switch (wazoType) {
    case WAZO_TYPES.incomingCall:
      return decodeCallEvent('incoming_call', wazoType, data, recipient, context);
    case WAZO_TYPES.cancelIncomingCall:
      return decodeCallEvent('call_cancelled', wazoType, data, recipient, context);
    case WAZO_TYPES.missedCall: {
      const from: CallParty = {};
      const number = optionalText(data, 'caller_id_number');
      const name = optionalText(data, 'caller_id_name');
      if (number) from.number = number;
      if (name) from.displayName = name;
      if (!number && !name) from.displayName = '<name unknown>';
      const ref = optionalText(data, 'conversation_id') ?? optionalText(data, 'call_id');
      const id = ref
        ? `${wazoType}:${idPart(ref, 'data.conversation_id')}`
        : contentId(wazoType, context.tenant, context.now, data);
      // Kept so an unknown caller goes out as null again, not as the placeholder name.
      const items = { caller_id_name: data.caller_id_name ?? null, caller_id_number: data.caller_id_number ?? null };
      return [
        {
          ...base,
          id,
          type: 'missed_calls',
          missed: [{ callId: ref ?? id, from, at: now }],
          vendor: { wazo: { items } },
        },
      ];
    }
    case WAZO_TYPES.voicemailReceived: {
      if (data.message !== undefined && !isRecord(data.message)) fail('data.message', 'must be an object');
      const ref = optionalText(data, 'message_id');
      const id = ref
        ? `${wazoType}:${idPart(ref, 'data.message_id')}`
        : contentId(wazoType, context.tenant, context.now, data);
      return [
        {
          ...base,
          id,
          type: 'voicemail',
          message: voicemailTexts(data),
          vendor: { wazo: { items: structuredClone(data) } },
        },
      ];
    }
    default: {
      // chatd: a user is not told about the message they sent themselves.
      if (data.user_uuid === recipient) return [];
      const ref = optionalText(data, 'uuid');
      const id = ref
        ? `${wazoType}:${idPart(ref, 'data.uuid')}`
        : contentId(wazoType, context.tenant, context.now, data);
      return [
        {
          ...base,
          id,
          type: 'message',
          message: messageTexts(data),
          vendor: { wazo: { items: structuredClone(data) } },
        },
      ];
    }
  }
}

/** A webhookd API request or a Wazo bus event (told apart by `name` + `data`). */
export function decodeWazo(input: unknown, context: DecodeContext, settings: DecodeSettings): CallNotification[] {
  if (!isRecord(input)) fail('', 'Wazo input must be a JSON object (a mobile notification request or a bus event)');
  if ('name' in input && 'data' in input) return decodeBusEvent(input, context, settings);
  if (!('notification_type' in input) && !('user_uuid' in input)) {
    fail(
      '',
      'neither a mobile notification request (notification_type, user_uuid, title, body) nor a bus event (name, data)',
    );
  }
  return decodeApiRequest(input, context, settings);
}
