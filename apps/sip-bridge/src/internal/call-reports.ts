import {
  applyDeviceUpdate,
  type Clock,
  type DeliveryReport,
  type DeviceUpdate,
  type ReportStore,
} from '@pushrelay/core';

interface Entry {
  /** Held while the push is in progress; dropped once it completes. */
  report: DeliveryReport | undefined;
  /** Epoch ms after which the id is forgotten (a notification with it would be sent again). */
  until: number;
}

/** An in-progress report whose sends never finished is dropped this long after its deadline. */
const STUCK_GRACE_MS = 60_000;

/**
 * The bridge's in-memory delivery reports. Nobody reads a bridge's reports after the push is
 * done (the bridge serves no report API), so a report lives only while its sends run; then only
 * its id stays, to keep a repeated notification from being pushed twice, until the call could
 * still ring (or, for a register refresh, until its deadline). A day of calls thus holds what a
 * ring timeout of calls holds, not a delivery report per call.
 */
export class CallReportStore implements ReportStore {
  private readonly entries = new Map<string, Entry>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly clock: Clock,
    /** How long the id of a completed call push is remembered. */
    private readonly dedupeWindowMs: number,
    sweepEveryMs = 5000,
  ) {
    if (sweepEveryMs > 0) {
      this.timer = setInterval(() => this.sweep(), sweepEveryMs);
      this.timer.unref();
    }
  }

  /** Reports in progress plus ids remembered; what a leak check watches. */
  get size(): number {
    return this.entries.size;
  }

  async create(report: DeliveryReport): Promise<boolean> {
    const key = keyOf(report.tenant, report.notificationId);
    const now = this.clock.now();
    const existing = this.entries.get(key);
    if (existing && existing.until > now) return false;
    if (existing) this.entries.delete(key);
    const deadline = Date.parse(report.deadline);
    if (report.status === 'in-progress') {
      this.entries.set(key, { report: structuredClone(report), until: deadline + STUCK_GRACE_MS });
    } else {
      this.entries.set(key, { report: undefined, until: this.forgetAt(report, deadline, now) });
    }
    return true;
  }

  async get(tenant: string, notificationId: string): Promise<DeliveryReport | undefined> {
    const report = this.entries.get(keyOf(tenant, notificationId))?.report;
    return report && structuredClone(report);
  }

  async recordAttempt(
    tenant: string,
    notificationId: string,
    bindingId: string,
    update: DeviceUpdate,
  ): Promise<{ report: DeliveryReport; completedNow: boolean } | undefined> {
    const entry = this.entries.get(keyOf(tenant, notificationId));
    const report = entry?.report;
    if (!entry || !report) return undefined;
    const device = report.devices.find((d) => d.bindingId === bindingId);
    if (!device) return undefined;
    const completedNow = applyDeviceUpdate(report, device, update);
    if (report.status !== 'in-progress') {
      entry.report = undefined;
      entry.until = this.forgetAt(report, Date.parse(report.deadline), this.clock.now());
    }
    // The report leaves the store when it completes: the caller gets it as it stands now.
    return { report, completedNow };
  }

  async purgeAcceptedBefore(acceptedBefore: number, limit: number): Promise<number> {
    let deleted = 0;
    for (const [key, entry] of this.entries) {
      if (deleted >= limit) break;
      if (entry.report && Date.parse(entry.report.acceptedAt) < acceptedBefore) {
        this.entries.delete(key);
        deleted++;
      }
    }
    return deleted;
  }

  /** Forgets what is past its time; runs on its own timer, callable directly. */
  sweep(now = this.clock.now()): number {
    let dropped = 0;
    for (const [key, entry] of this.entries) {
      if (entry.until <= now) {
        this.entries.delete(key);
        dropped++;
      }
    }
    return dropped;
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private forgetAt(report: DeliveryReport, deadline: number, now: number): number {
    const safeDeadline = Number.isNaN(deadline) ? now : deadline;
    // A register refresh is pushed again only under a new deadline or reason (a new id).
    if (report.type === 'register_refresh') return safeDeadline;
    return Math.min(safeDeadline, now + this.dedupeWindowMs);
  }
}

function keyOf(tenant: string, notificationId: string): string {
  return `${tenant}\u0000${notificationId}`;
}
