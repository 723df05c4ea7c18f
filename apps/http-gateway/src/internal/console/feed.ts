import type { Clock, DeliveryReport, Provider, Relay } from '@pushrelay/core';

/** What a console stream is sent: the tenant's own relay events, reduced to what the console shows. */
export interface ConsoleEvent {
  kind: 'accepted' | 'attempt' | 'device' | 'completed' | 'suppressed';
  notificationId: string;
  recipient: string;
  callId?: string;
  bindingId?: string;
  provider?: Provider;
  status?: string;
  outcome?: string;
  reason?: string;
  providerId?: string;
  latencyMs?: number;
  attempt?: number;
  at: string;
}

/** The last outcome the console saw for a device. */
export interface DeviceSeen {
  status: string;
  at: string;
  detail?: string;
  /** The last time the provider accepted a push to this token: it was valid then. */
  lastDeliveredAt?: string;
}

export interface ProviderMinute {
  /** Start of the minute, epoch ms. */
  minute: number;
  provider: string;
  outcomes: Record<string, number>;
}

export interface ConsoleStats {
  windowMinutes: number;
  outcomes: ProviderMinute[];
  /** Percentiles in ms over the latest samples (end to end: creation to provider acceptance). */
  latency: { samples: number; endToEnd: Percentiles; provider: Percentiles };
}

export interface Percentiles {
  p50: number | null;
  p90: number | null;
  p99: number | null;
}

interface Sample {
  provider: string;
  providerMs: number;
  endToEndMs?: number;
}

export interface RecentNotification {
  id: string;
  callId?: string;
}

interface TenantState {
  /** Notifications, oldest first (a report has no call id: it is kept here for the filter). */
  recent: RecentNotification[];
  devices: Map<string, DeviceSeen>;
  minutes: Map<string, ProviderMinute>;
  samples: Sample[];
  listeners: Set<(event: ConsoleEvent) => void>;
}

export const RECENT_LIMIT = 200;
const DEVICE_LIMIT = 5_000;
const SAMPLE_LIMIT = 1_000;
export const WINDOW_MINUTES = 15;
const MINUTE_MS = 60_000;

/**
 * What the console shows beyond the stores: the tenant's recent notifications, each device's last
 * outcome, and outcome and latency figures, kept in bounded memory per tenant. It subscribes to
 * the relay only once the console is first used, so a gateway whose console is never opened does
 * no work for it; what happened before that (or in another process) is not in it.
 */
export class ConsoleFeed {
  private readonly tenants = new Map<string, TenantState>();

  constructor(
    relay: Relay,
    private readonly clock: Clock,
  ) {
    const iso = () => new Date(this.clock.now()).toISOString();
    relay.events.on('accepted', ({ notification }) => {
      const t = this.state(notification.tenant);
      t.recent = t.recent.filter((r) => r.id !== notification.id);
      t.recent.push({ id: notification.id, ...(notification.call?.id ? { callId: notification.call.id } : {}) });
      if (t.recent.length > RECENT_LIMIT) t.recent.splice(0, t.recent.length - RECENT_LIMIT);
      this.emit(notification.tenant, {
        kind: 'accepted',
        notificationId: notification.id,
        recipient: notification.recipient,
        ...(notification.call?.id ? { callId: notification.call.id } : {}),
        at: iso(),
      });
    });
    relay.events.on('suppressed', ({ notification, reason }) =>
      this.emit(notification.tenant, {
        kind: 'suppressed',
        notificationId: notification.id,
        recipient: notification.recipient,
        reason,
        at: iso(),
      }),
    );
    relay.events.on('attempt', ({ notification, binding, attempt, request, outcome, latencyMs }) => {
      const t = this.state(notification.tenant);
      const at = iso();
      const seen = this.device(t, binding.id);
      seen.status = outcome.kind;
      seen.at = at;
      if (outcome.kind === 'delivered') {
        seen.lastDeliveredAt = at;
        delete seen.detail;
      } else seen.detail = outcome.reason;
      this.count(t, request.provider, outcome.kind);
      // The same figures as the gateway's histograms (GatewayMetrics.observe), per tenant.
      const sample: Sample = { provider: request.provider, providerMs: latencyMs };
      if (outcome.kind === 'delivered') {
        const e2e = this.clock.now() - Date.parse(notification.createdAt);
        if (e2e >= 0) sample.endToEndMs = e2e;
      }
      t.samples.push(sample);
      if (t.samples.length > SAMPLE_LIMIT) t.samples.splice(0, t.samples.length - SAMPLE_LIMIT);
      this.emit(notification.tenant, {
        kind: 'attempt',
        notificationId: notification.id,
        recipient: notification.recipient,
        bindingId: binding.id,
        provider: request.provider,
        outcome: outcome.kind,
        ...(outcome.kind === 'delivered'
          ? outcome.providerId
            ? { providerId: outcome.providerId }
            : {}
          : { reason: outcome.reason }),
        latencyMs,
        attempt,
        at,
      });
    });
    const deviceStatus = (
      tenant: string,
      notificationId: string,
      recipient: string,
      bindingId: string,
      status: string,
      reason: string,
    ) => {
      const t = this.state(tenant);
      const seen = this.device(t, bindingId);
      seen.status = status;
      seen.at = iso();
      seen.detail = reason;
      this.emit(tenant, { kind: 'device', notificationId, recipient, bindingId, status, reason, at: seen.at });
    };
    relay.events.on('binding-removed', ({ notification, binding, reason }) =>
      deviceStatus(notification.tenant, notification.id, notification.recipient, binding.id, 'invalid-token', reason),
    );
    relay.events.on('retry-scheduled', ({ notification, binding, reason }) =>
      deviceStatus(notification.tenant, notification.id, notification.recipient, binding.id, 'retrying', reason),
    );
    relay.events.on('expired', ({ notification, bindingId, detail }) => {
      this.count(this.state(notification.tenant), 'none', 'expired');
      deviceStatus(notification.tenant, notification.id, notification.recipient, bindingId, 'expired', detail);
    });
    relay.events.on('skipped', ({ notification, bindingId, detail }) =>
      deviceStatus(notification.tenant, notification.id, notification.recipient, bindingId, 'skipped', detail),
    );
    relay.events.on('completed', ({ report }) =>
      this.emit(report.tenant, {
        kind: 'completed',
        notificationId: report.notificationId,
        recipient: report.recipient,
        status: report.status,
        at: iso(),
      }),
    );
  }

  /** The tenant's recent notifications, newest first. */
  recent(tenant: string): RecentNotification[] {
    return [...(this.tenants.get(tenant)?.recent ?? [])].reverse();
  }

  deviceSeen(tenant: string, bindingId: string): DeviceSeen | undefined {
    return this.tenants.get(tenant)?.devices.get(bindingId);
  }

  /** Listens to the tenant's events; the returned function stops listening. */
  subscribe(tenant: string, listener: (event: ConsoleEvent) => void): () => void {
    const listeners = this.state(tenant).listeners;
    listeners.add(listener);
    return () => listeners.delete(listener);
  }

  stats(tenant: string): ConsoleStats {
    const t = this.tenants.get(tenant);
    const since = this.minuteOf(this.clock.now()) - (WINDOW_MINUTES - 1) * MINUTE_MS;
    const outcomes = [...(t?.minutes.values() ?? [])]
      .filter((m) => m.minute >= since)
      .sort((a, b) => a.minute - b.minute || a.provider.localeCompare(b.provider));
    const samples = t?.samples ?? [];
    return {
      windowMinutes: WINDOW_MINUTES,
      outcomes,
      latency: {
        samples: samples.length,
        endToEnd: percentiles(samples.flatMap((s) => (s.endToEndMs === undefined ? [] : [s.endToEndMs]))),
        provider: percentiles(samples.map((s) => s.providerMs)),
      },
    };
  }

  /** Whether a report matches the console's filters. */
  static matches(
    report: DeliveryReport,
    callId: string | undefined,
    filter: { userId?: string; callId?: string; outcome?: string },
  ): boolean {
    if (filter.userId && report.recipient !== filter.userId) return false;
    if (filter.callId && callId !== filter.callId) return false;
    if (filter.outcome) {
      if (filter.outcome === report.status) return true;
      return report.devices.some((d) => d.status === filter.outcome);
    }
    return true;
  }

  private emit(tenant: string, event: ConsoleEvent): void {
    for (const listener of this.tenants.get(tenant)?.listeners ?? []) listener(event);
  }

  private state(tenant: string): TenantState {
    let t = this.tenants.get(tenant);
    if (!t) {
      t = { recent: [], devices: new Map(), minutes: new Map(), samples: [], listeners: new Set() };
      this.tenants.set(tenant, t);
    }
    return t;
  }

  private device(t: TenantState, bindingId: string): DeviceSeen {
    let seen = t.devices.get(bindingId);
    if (seen) {
      // Re-inserted so the map stays in last-seen order and the oldest is dropped first.
      t.devices.delete(bindingId);
    } else seen = { status: 'pending', at: new Date(this.clock.now()).toISOString() };
    t.devices.set(bindingId, seen);
    if (t.devices.size > DEVICE_LIMIT) t.devices.delete(t.devices.keys().next().value!);
    return seen;
  }

  private minuteOf(ms: number): number {
    return ms - (ms % MINUTE_MS);
  }

  private count(t: TenantState, provider: string, outcome: string): void {
    const minute = this.minuteOf(this.clock.now());
    const key = `${minute}:${provider}`;
    let m = t.minutes.get(key);
    if (!m) {
      m = { minute, provider, outcomes: {} };
      t.minutes.set(key, m);
      const oldest = minute - WINDOW_MINUTES * MINUTE_MS;
      for (const [k, v] of t.minutes) if (v.minute < oldest) t.minutes.delete(k);
    }
    m.outcomes[outcome] = (m.outcomes[outcome] ?? 0) + 1;
  }
}

function percentiles(values: number[]): Percentiles {
  if (values.length === 0) return { p50: null, p90: null, p99: null };
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99) };
}
