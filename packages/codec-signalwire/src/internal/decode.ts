import { CodecError, type CallNotification, type CallParty, type DecodeContext } from '@pushrelay/core';
import type { VertoInvite } from '../client/internal/types.js';
import { CODEC_NAME } from './constants.js';

/**
 * A call SignalWire (or a service standing in for it) asks to deliver: who is called and the
 * verto invite the callee's SDK answers.
 */
export interface SignalWireCallInput {
  /** Id of the push (idempotency key); default the invite's `callID`. */
  notification_uuid?: string;
  /** The subscriber whose devices ring. */
  callee_user_id: string;
  /** Overrides the invite's caller_id_number / caller_id_name. */
  caller?: { id?: string; name?: string };
  /** Default: whether the invite's SDP offers video. */
  with_video?: boolean;
  /** Seconds the call rings; the push is useless after it. Default the context's ring timeout. */
  ring_timeout?: number;
  invite: VertoInvite;
}

const ID_PATTERN = /^[A-Za-z0-9._:@+-]{1,200}$/;
const TOP_KEYS = new Set(['notification_uuid', 'callee_user_id', 'caller', 'with_video', 'ring_timeout', 'invite']);

function fail(path: string, message: string): never {
  throw new CodecError(CODEC_NAME, message, { path });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optionalString(value: unknown, path: string, max = 256): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') fail(path, 'must be a string');
  if (value.length > max) fail(path, `must be at most ${max} characters`);
  return value;
}

export function readVertoInvite(value: unknown, path: string): VertoInvite {
  if (!isRecord(value)) fail(path, 'must be a verto invite object');
  if (value.node_id !== undefined && typeof value.node_id !== 'string') fail(`${path}.node_id`, 'must be a string');
  const rpc = value.params;
  if (!isRecord(rpc)) fail(`${path}.params`, 'must be the verto JSON-RPC object');
  if (rpc.method !== 'verto.invite') fail(`${path}.params.method`, 'must be "verto.invite"');
  const call = rpc.params;
  if (!isRecord(call)) fail(`${path}.params.params`, 'must be an object');
  if (typeof call.callID !== 'string' || call.callID.length === 0) {
    fail(`${path}.params.params.callID`, 'must be a non-empty string');
  }
  if (typeof call.sdp !== 'string' || call.sdp.length === 0)
    fail(`${path}.params.params.sdp`, 'must be a non-empty string');
  for (const key of ['caller_id_name', 'caller_id_number', 'callee_id_name', 'callee_id_number', 'display_direction']) {
    optionalString(call[key], `${path}.params.params.${key}`);
  }
  return value as VertoInvite;
}

export function decodeCall(input: unknown, context: DecodeContext): CallNotification[] {
  if (!isRecord(input)) fail('', 'a SignalWire call must be a JSON object');
  for (const key of Object.keys(input)) if (!TOP_KEYS.has(key)) fail(key, 'is not a field of a SignalWire call');
  const invite = readVertoInvite(input.invite, 'invite');
  const verto = invite.params.params;

  const recipient = optionalString(input.callee_user_id, 'callee_user_id', 200);
  if (!recipient) fail('callee_user_id', 'is required');
  const id = optionalString(input.notification_uuid, 'notification_uuid', 200) ?? verto.callID;
  if (!ID_PATTERN.test(id))
    fail(
      input.notification_uuid === undefined ? 'invite.params.params.callID' : 'notification_uuid',
      'may only hold letters, digits and . _ : @ + -',
    );

  let callerId = verto.caller_id_number;
  let callerName = verto.caller_id_name;
  if (input.caller !== undefined) {
    if (!isRecord(input.caller)) fail('caller', 'must be an object');
    callerId = optionalString(input.caller.id, 'caller.id', 64) ?? callerId;
    callerName = optionalString(input.caller.name, 'caller.name') ?? callerName;
  }
  const from: CallParty = {};
  if (callerId) from.number = callerId;
  if (callerName) from.displayName = callerName;
  if (!from.number && !from.displayName) fail('caller', 'no caller id or name in the call or its invite');

  let video = /^m=video /m.test(verto.sdp);
  if (input.with_video !== undefined) {
    if (typeof input.with_video !== 'boolean') fail('with_video', 'must be a boolean');
    video = input.with_video;
  }
  let ringMs = context.defaultRingTimeoutMs ?? 30_000;
  if (input.ring_timeout !== undefined) {
    const t = input.ring_timeout;
    if (typeof t !== 'number' || !Number.isInteger(t) || t < 1 || t > 600) {
      fail('ring_timeout', 'must be whole seconds between 1 and 600');
    }
    ringMs = t * 1000;
  }

  const now = new Date(context.now).toISOString();
  const notification: CallNotification = {
    id,
    type: 'incoming_call',
    tenant: context.tenant,
    recipient,
    call: { id: verto.callID, from, video, startedAt: now },
    createdAt: now,
    deadline: new Date(context.now + ringMs).toISOString(),
    priority: 'high',
    vendor: { invite: structuredClone(invite) },
  };
  const to: CallParty = {};
  if (verto.callee_id_number) to.number = verto.callee_id_number;
  if (verto.callee_id_name) to.displayName = verto.callee_id_name;
  if (to.number || to.displayName) notification.call!.to = to;
  return [notification];
}
