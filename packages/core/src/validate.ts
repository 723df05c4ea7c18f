import { ValidationError } from './errors.js';
import { Checker, join } from './internal/check.js';
import { CALL_NOTIFICATION_SCHEMA, COLLAPSE_KEY_MAX_BYTES } from './notification-schema.js';
import {
  isCallType,
  type CallInfo,
  type CallNotification,
  type CallParty,
  type MessageContent,
  type MissedCall,
  type NotificationType,
} from './model.js';

export interface ParseNotificationOptions {
  /** Current time in epoch ms, for defaults (createdAt, deadline). */
  now: number;
  /** Deadline when the input has none: createdAt plus this. Default 30 s. */
  defaultRingTimeoutMs?: number;
  /** The authenticated tenant: fills `tenant` and rejects a different one. */
  tenant?: string;
  /** Makes an id when the input has none; without it `id` is required. */
  generateId?: () => string;
}

/** The longest a deadline may lie ahead: FCM's maximum TTL. */
export const MAX_DEADLINE_MS = 28 * 24 * 3600 * 1000;
export const DEFAULT_RING_TIMEOUT_MS = 30_000;

const S = CALL_NOTIFICATION_SCHEMA.properties;
const TOP_LEVEL_KEYS = Object.keys(S);
const PARTY = S.call.properties.from.properties;
const CALL = S.call.properties;
const MISSED = S.missed.items.properties;
const ID_PATTERN = new RegExp(S.id.pattern);
const CUSTOM_TYPE_PATTERN = new RegExp(S.customType.pattern);

/**
 * Reads a CallNotification from untrusted JSON. Every problem is reported at once with its path;
 * the returned value is a fresh object with defaults filled in and nothing else carried over.
 */
export function parseCallNotification(input: unknown, options: ParseNotificationOptions): CallNotification {
  const c = new Checker();
  const obj = c.object(input, '');
  if (!obj) throw new ValidationError(c.issues, 'notification');
  c.onlyKeys(obj, '', TOP_LEVEL_KEYS);

  let id = c.string(obj.id, 'id', {
    max: S.id.maxLength,
    pattern: ID_PATTERN,
    patternText: 'may only hold letters, digits and . _ : @ + -',
  });
  if (obj.id === undefined) {
    if (options.generateId) id = options.generateId();
    else c.fail('id', 'is required');
  }
  const type = c.oneOf(obj.type, 'type', S.type.enum, true);
  let tenant = c.string(obj.tenant, 'tenant', { max: S.tenant.maxLength });
  if (options.tenant !== undefined) {
    if (tenant !== undefined && tenant !== options.tenant) {
      c.fail('tenant', 'does not match the authenticated tenant');
    }
    tenant = options.tenant;
  } else if (obj.tenant === undefined) {
    c.fail('tenant', 'is required');
  }
  const recipient = c.string(obj.recipient, 'recipient', { required: true, max: S.recipient.maxLength });

  let bindingIds: string[] | undefined;
  if (obj.bindingIds !== undefined) {
    if (
      !Array.isArray(obj.bindingIds) ||
      obj.bindingIds.length < S.bindingIds.minItems ||
      obj.bindingIds.length > S.bindingIds.maxItems
    ) {
      c.fail('bindingIds', `must be a list of ${S.bindingIds.minItems} to ${S.bindingIds.maxItems} binding ids`);
    } else {
      const ids = obj.bindingIds.map((v: unknown, i: number) =>
        c.string(v, `bindingIds[${i}]`, { max: S.bindingIds.items.maxLength }),
      );
      if (ids.every((v): v is string => v !== undefined)) bindingIds = ids;
    }
  }

  const createdAtMs = c.dateTime(obj.createdAt, 'createdAt') ?? options.now;
  const deadlineMs =
    c.dateTime(obj.deadline, 'deadline') ?? createdAtMs + (options.defaultRingTimeoutMs ?? DEFAULT_RING_TIMEOUT_MS);
  if (obj.deadline !== undefined && typeof obj.deadline === 'string') {
    if (deadlineMs <= createdAtMs) c.fail('deadline', 'must be later than createdAt');
    else if (deadlineMs - createdAtMs > MAX_DEADLINE_MS) {
      c.fail('deadline', 'must be at most 28 days after createdAt');
    }
  }

  const call = obj.call === undefined ? undefined : readCall(c, obj.call, 'call', options.now);
  if (call === undefined && obj.call === undefined && (type === 'incoming_call' || type === 'call_cancelled')) {
    c.fail('call', `is required for ${type}`);
  }

  let missed: MissedCall[] | undefined;
  if (obj.missed !== undefined) {
    missed = readMissed(c, obj.missed);
  } else if (type === 'missed_calls') {
    c.fail('missed', 'is required for missed_calls');
  }

  let message: MessageContent | undefined;
  if (obj.message !== undefined) {
    const m = c.object(obj.message, 'message');
    if (m) {
      c.onlyKeys(m, 'message', Object.keys(S.message.properties));
      message = {};
      const title = c.string(m.title, 'message.title', { max: S.message.properties.title.maxLength });
      const body = c.string(m.body, 'message.body', { max: S.message.properties.body.maxLength });
      if (title !== undefined) message.title = title;
      if (body !== undefined) message.body = body;
    }
  } else if (type === 'message') {
    c.fail('message', 'is required for message');
  }

  const customType = c.string(obj.customType, 'customType', {
    max: S.customType.maxLength,
    pattern: CUSTOM_TYPE_PATTERN,
    patternText: 'may only hold letters, digits and _',
  });
  if (obj.customType === undefined && type === 'custom') c.fail('customType', 'is required for custom');

  const priority = c.oneOf(obj.priority, 'priority', S.priority.enum) ?? (isCallType(type) ? 'high' : 'normal');

  const collapseKey = c.string(obj.collapseKey, 'collapseKey');
  if (collapseKey !== undefined && utf8Length(collapseKey) > COLLAPSE_KEY_MAX_BYTES) {
    c.fail('collapseKey', `must be at most ${COLLAPSE_KEY_MAX_BYTES} bytes`);
  }

  let vendor: Record<string, unknown> | undefined;
  if (obj.vendor !== undefined) vendor = c.object(obj.vendor, 'vendor');

  if (c.issues.length > 0) throw new ValidationError(c.issues, 'notification');

  const n: CallNotification = {
    id: id as string,
    type: type as NotificationType,
    tenant: tenant as string,
    recipient: recipient as string,
    createdAt: new Date(createdAtMs).toISOString(),
    deadline: new Date(deadlineMs).toISOString(),
    priority,
  };
  if (bindingIds) n.bindingIds = bindingIds;
  if (call) n.call = call;
  if (missed) n.missed = missed;
  if (message) n.message = message;
  if (customType !== undefined) n.customType = customType;
  if (collapseKey !== undefined) n.collapseKey = collapseKey;
  if (vendor) n.vendor = structuredClone(vendor);
  return n;
}

function readParty(c: Checker, value: unknown, path: string, required: boolean): CallParty | undefined {
  if (value === undefined || value === null) {
    return required ? c.fail(path, 'is required') : undefined;
  }
  const p = c.object(value, path);
  if (!p) return undefined;
  c.onlyKeys(p, path, Object.keys(PARTY));
  const party: CallParty = {};
  const number = c.string(p.number, join(path, 'number'), { max: PARTY.number.maxLength });
  const uri = c.string(p.uri, join(path, 'uri'), { max: PARTY.uri.maxLength });
  const displayName = c.string(p.displayName, join(path, 'displayName'), { max: PARTY.displayName.maxLength });
  if (number !== undefined) party.number = number;
  if (uri !== undefined) party.uri = uri;
  if (displayName !== undefined) party.displayName = displayName;
  if (p.number === undefined && p.uri === undefined && p.displayName === undefined) {
    c.fail(path, 'must have a number, uri or displayName');
  }
  return party;
}

function readCall(c: Checker, value: unknown, path: string, now: number): CallInfo | undefined {
  const o = c.object(value, path);
  if (!o) return undefined;
  c.onlyKeys(o, path, Object.keys(CALL));
  const id = c.string(o.id, join(path, 'id'), { required: true, max: CALL.id.maxLength });
  const from = readParty(c, o.from, join(path, 'from'), true);
  const to = readParty(c, o.to, join(path, 'to'), false);
  const video = c.boolean(o.video, join(path, 'video')) ?? false;
  const startedAt = c.dateTime(o.startedAt, join(path, 'startedAt')) ?? now;
  if (id === undefined || from === undefined) return undefined;
  const call: CallInfo = { id, from, video, startedAt: new Date(startedAt).toISOString() };
  if (to) call.to = to;
  return call;
}

function readMissed(c: Checker, value: unknown): MissedCall[] | undefined {
  if (!Array.isArray(value)) return c.fail('missed', 'must be an array');
  if (value.length < S.missed.minItems) return c.fail('missed', 'must not be empty');
  if (value.length > S.missed.maxItems) return c.fail('missed', `must have at most ${S.missed.maxItems} entries`);
  const out: MissedCall[] = [];
  value.forEach((entry, i) => {
    const path = join('missed', i);
    const o = c.object(entry, path);
    if (!o) return;
    c.onlyKeys(o, path, Object.keys(MISSED));
    const callId = c.string(o.callId, join(path, 'callId'), { required: true, max: MISSED.callId.maxLength });
    const from = readParty(c, o.from, join(path, 'from'), true);
    const at = c.dateTime(o.at, join(path, 'at'), true);
    if (callId !== undefined && from !== undefined && at !== undefined) {
      out.push({ callId, from, at: new Date(at).toISOString() });
    }
  });
  return out;
}

const encoder = new TextEncoder();
export function utf8Length(s: string): number {
  return encoder.encode(s).length;
}
