import type {
  CallInfo,
  CallNotification,
  CallParty,
  DeviceBinding,
  MissedCall,
  NotificationType,
  PushRequest,
} from './model.js';

/**
 * The provider-neutral call payload a browser's service worker gets over Web Push when the app's
 * format has no web shape of its own: one JSON object that says what to show (`title`, `body`)
 * and what happened (`type`, `call`, `missed`), with the vendor's own data beside it. Versioned by
 * `pushrelay`, so a worker can tell it from other pushes.
 */
export interface WebCallPayload {
  pushrelay: 1;
  type: NotificationType;
  /** The notification id (idempotency key): the same push delivered twice has the same id. */
  id: string;
  /** What a notification shows. */
  title: string;
  body: string;
  /** The call's tag: a cancel replaces the incoming call's notification. */
  tag: string;
  call?: CallInfo;
  missed?: MissedCall[];
  customType?: string;
  /** After this the push is stale (the ring has ended): a worker shows a missed call instead. */
  deadline: string;
  /** The vendor format's own data for its web app, under the codec's name. */
  vendor?: Record<string, unknown>;
}

function partyName(party: CallParty | undefined): string {
  if (!party) return 'Unknown caller';
  const name = party.displayName;
  const address = party.number ?? party.uri;
  if (name && address && name !== address) return `${name} (${address})`;
  return name ?? address ?? 'Unknown caller';
}

const TITLES: Record<NotificationType, string> = {
  incoming_call: 'Incoming call',
  call_cancelled: 'Call ended',
  missed_calls: 'Missed call',
  voicemail: 'New voicemail',
  message: 'New message',
  custom: 'Notification',
  register_refresh: 'Registration refresh',
};

/** The generic web payload of a notification; `vendor` adds a format's own data. */
export function webCallPayload(
  n: CallNotification,
  options: { vendor?: Record<string, unknown>; title?: string; body?: string } = {},
): WebCallPayload {
  const callId = n.call?.id ?? n.missed?.at(-1)?.callId;
  let body: string;
  switch (n.type) {
    case 'incoming_call':
    case 'call_cancelled':
      body = partyName(n.call?.from);
      break;
    case 'missed_calls':
      body =
        n.missed && n.missed.length > 1
          ? `${n.missed.length} missed calls, the last from ${partyName(n.missed.at(-1)?.from)}`
          : partyName(n.missed?.[0]?.from);
      break;
    default:
      body = n.message?.body ?? '';
  }
  const payload: WebCallPayload = {
    pushrelay: 1,
    type: n.type,
    id: n.id,
    title:
      options.title ??
      n.message?.title ??
      (n.call?.video && n.type === 'incoming_call' ? 'Incoming video call' : TITLES[n.type]),
    body: options.body ?? body,
    tag: n.collapseKey ?? (callId !== undefined ? `call:${callId}` : `notification:${n.id}`),
    deadline: n.deadline,
  };
  if (n.call) payload.call = structuredClone(n.call);
  if (n.missed) payload.missed = structuredClone(n.missed);
  if (n.customType !== undefined) payload.customType = n.customType;
  if (options.vendor) payload.vendor = options.vendor;
  return payload;
}

/**
 * The Web Push request for a web device: user-visible (browsers require it), Urgency high for
 * calls, TTL up to the deadline, and the call's tag as Topic so a cancel replaces an undelivered
 * ring.
 */
export function webPushRequest(
  n: CallNotification,
  binding: Pick<DeviceBinding, 'token' | 'app' | 'environment'>,
  payload: Record<string, unknown>,
  collapseKey?: string,
): PushRequest {
  const call = n.type === 'incoming_call' || n.type === 'call_cancelled';
  const request: PushRequest = {
    provider: 'webpush',
    token: binding.token,
    app: binding.app,
    environment: binding.environment,
    pushType: 'alert',
    priority: call || n.priority === 'high' ? 'high' : 'normal',
    expiresAt: Date.parse(n.deadline),
    payload,
  };
  const collapse = collapseKey ?? n.collapseKey ?? (n.call ? `call:${n.call.id}` : undefined);
  if (collapse !== undefined) request.collapseId = collapse;
  return request;
}
