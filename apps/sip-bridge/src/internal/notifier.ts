import { hash, randomBytes } from 'node:crypto';
import {
  parseCallNotification,
  type CallParty,
  type Clock,
  type MissedCallEntry,
  type MissedCallStore,
  type NotificationType,
  type Relay,
} from '@pushrelay/core';
import { getFrom, getTo, formatUri, type SipRequest } from '@pushrelay/sip';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';

/** The call facts a push carries, read from an INVITE. */
export interface CallFacts {
  callId: string;
  user: string;
  from: CallParty;
  to: CallParty;
  video: boolean;
  startedAt: number;
  /** Push only these bindings of the user (edge mode: the device the upstream routed to). */
  bindingIds?: string[];
}

export function callFactsOf(invite: SipRequest, user: string, callId: string, now: number): CallFacts {
  const from = getFrom(invite);
  const to = getTo(invite);
  const caller: CallParty = { uri: formatUri({ ...from.uri, params: {}, headers: {} }) };
  if (from.uri.user) caller.number = safeDecode(from.uri.user);
  if (from.displayName) caller.displayName = from.displayName;
  const callee: CallParty = { uri: formatUri({ ...to.uri, params: {}, headers: {} }) };
  if (to.uri.user) callee.number = safeDecode(to.uri.user);
  return {
    callId,
    user,
    from: caller,
    to: callee,
    video: /^m=video /m.test(invite.body.toString('utf8')),
    startedAt: now,
  };
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Notification ids allow a small alphabet; Call-IDs do not, so they are hashed. */
function idFor(type: string, ...parts: string[]): string {
  return `sip-${type}-${hash('sha256', parts.join('\n')).slice(0, 32)}`;
}

/** Turns call events into CallNotifications for the relay, and keeps the missed-calls memory. */
export class Notifier {
  constructor(
    private readonly relay: Relay,
    private readonly missed: MissedCallStore,
    private readonly clock: Clock,
    private readonly tenant: string,
    private readonly ringTimeoutMs: number,
    private readonly missedCallTtlMs: number,
    private readonly log: Logger,
    private readonly metrics: Metrics,
  ) {}

  incomingCall(call: CallFacts): Promise<void> {
    return this.send('incoming_call', call, idFor('invite', call.user, call.callId));
  }

  callCancelled(call: CallFacts): Promise<void> {
    return this.send('call_cancelled', call, idFor('cancel', call.user, call.callId));
  }

  async callMissed(call: CallFacts): Promise<void> {
    const entry: MissedCallEntry = {
      ref: call.callId,
      callId: call.callId,
      from: call.from,
      at: new Date(call.startedAt).toISOString(),
    };
    await this.missed.add(this.tenant, call.user, entry, this.missedCallTtlMs);
  }

  async callAnswered(call: CallFacts): Promise<void> {
    await this.missed.remove(this.tenant, call.user, call.callId);
  }

  /** A device of the user came back: push the summary of what it missed, once. */
  async deviceReturned(user: string): Promise<void> {
    const entries = await this.missed.take(this.tenant, user);
    if (entries.length === 0) return;
    const now = this.clock.now();
    const notification = parseCallNotification(
      {
        id: idFor('missed', user, String(now), randomBytes(8).toString('hex')),
        type: 'missed_calls',
        tenant: this.tenant,
        recipient: user,
        missed: entries.map(({ callId, from, at }) => ({ callId, from, at })),
        createdAt: new Date(now).toISOString(),
        deadline: new Date(now + this.missedCallTtlMs).toISOString(),
        priority: 'high',
      },
      { now },
    );
    const { report } = await this.relay.notify(notification);
    this.metrics.inc('sip_bridge_pushes_total', { type: 'missed_calls' });
    this.log.info(
      { notificationId: notification.id, devices: report.devices.length, calls: entries.length },
      'missed calls pushed',
    );
  }

  /**
   * Edge mode: asks one device to REGISTER again before `deadline` (its upstream binding
   * expires then), with a silent push; `reason` keeps two wakes of one deadline apart.
   */
  async registerRefresh(user: string, bindingId: string, deadline: number, reason: string): Promise<void> {
    const now = this.clock.now();
    if (deadline <= now) return;
    const id = idFor('refresh', user, bindingId, String(deadline), reason);
    const notification = parseCallNotification(
      {
        id,
        type: 'register_refresh',
        tenant: this.tenant,
        recipient: user,
        bindingIds: [bindingId],
        createdAt: new Date(now).toISOString(),
        deadline: new Date(deadline).toISOString(),
        priority: 'normal',
      },
      { now },
    );
    const { duplicate } = await this.relay.notify(notification);
    this.metrics.inc('sip_bridge_pushes_total', { type: 'register_refresh' });
    this.log.info({ notificationId: id, bindingId, reason, duplicate }, 'register refresh pushed');
  }

  private async send(type: NotificationType, call: CallFacts, id: string): Promise<void> {
    const now = this.clock.now();
    const notification = parseCallNotification(
      {
        id,
        type,
        tenant: this.tenant,
        recipient: call.user,
        call: {
          id: call.callId,
          from: call.from,
          to: call.to,
          video: call.video,
          startedAt: new Date(call.startedAt).toISOString(),
        },
        createdAt: new Date(now).toISOString(),
        deadline: new Date(call.startedAt + this.ringTimeoutMs).toISOString(),
        priority: 'high',
        collapseKey: id,
        ...(call.bindingIds ? { bindingIds: call.bindingIds } : {}),
      },
      { now },
    );
    const { report, duplicate } = await this.relay.notify(notification);
    this.metrics.inc('sip_bridge_pushes_total', { type });
    this.log.info(
      { notificationId: id, callId: call.callId, type, devices: report.devices.length, duplicate },
      'push handed to relay',
    );
  }
}
