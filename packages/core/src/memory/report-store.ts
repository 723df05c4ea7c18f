import { FINAL_DEVICE_STATUSES, type DeliveryReport } from '../model.js';
import type { DeviceUpdate, ReportStore } from '../ports.js';
import { MAX_DEADLINE_MS } from '../validate.js';
import { copyReport } from './copy.js';

/** Reports are indexed by the hour they were accepted in, so a purge only visits old hours. */
const BUCKET_MS = 3600 * 1000;

/** Delivery reports in a Map. Copies in and out so callers never share state with the store. */
export class InMemoryReportStore implements ReportStore {
  /** tenant -> notification id -> report: no key string is built per report or per lookup. */
  private readonly tenants = new Map<string, Map<string, DeliveryReport>>();
  private readonly byHour = new Map<number, Set<DeliveryReport>>();
  private count = 0;

  async create(report: DeliveryReport): Promise<boolean> {
    let reports = this.tenants.get(report.tenant);
    if (!reports) this.tenants.set(report.tenant, (reports = new Map()));
    if (reports.has(report.notificationId)) return false;
    const stored = copyReport(report);
    reports.set(report.notificationId, stored);
    this.count++;
    const hour = this.bucketOf(report.acceptedAt);
    let held = this.byHour.get(hour);
    if (!held) this.byHour.set(hour, (held = new Set()));
    held.add(stored);
    return true;
  }

  async get(tenant: string, notificationId: string): Promise<DeliveryReport | undefined> {
    const r = this.tenants.get(tenant)?.get(notificationId);
    return r && copyReport(r);
  }

  async recordAttempt(
    tenant: string,
    notificationId: string,
    bindingId: string,
    update: DeviceUpdate,
  ): Promise<{ report: DeliveryReport; completedNow: boolean } | undefined> {
    const report = this.tenants.get(tenant)?.get(notificationId);
    if (!report) return undefined;
    let device: DeliveryReport['devices'][number] | undefined;
    for (const d of report.devices) {
      if (d.bindingId === bindingId) {
        device = d;
        break;
      }
    }
    if (!device) return undefined;
    const completedNow = applyDeviceUpdate(report, device, update);
    // Copied when the caller first reads it, as the report stands then: the relay reads it only
    // to announce a completion that someone listens to.
    let copy: DeliveryReport | undefined;
    return {
      get report() {
        return (copy ??= copyReport(report));
      },
      completedNow,
    };
  }

  async purgeAcceptedBefore(acceptedBefore: number, limit: number): Promise<number> {
    const inProgressBefore = acceptedBefore - MAX_DEADLINE_MS;
    const hours = [...this.byHour.keys()].filter((h) => h < acceptedBefore).sort((a, b) => a - b);
    let deleted = 0;
    for (const hour of hours) {
      const held = this.byHour.get(hour)!;
      for (const report of held) {
        if (deleted >= limit) return deleted;
        const accepted = Date.parse(report.acceptedAt);
        if (!(accepted < acceptedBefore)) continue;
        if (report.status === 'in-progress' && accepted >= inProgressBefore) continue;
        const reports = this.tenants.get(report.tenant)!;
        reports.delete(report.notificationId);
        if (reports.size === 0) this.tenants.delete(report.tenant);
        this.count--;
        held.delete(report);
        deleted++;
      }
      if (held.size === 0) this.byHour.delete(hour);
    }
    return deleted;
  }

  private lastAccepted = '';
  private lastBucket = 0;

  /** The hour bucket of an accepted-at time; notifications accepted together share one. */
  private bucketOf(iso: string): number {
    if (iso !== this.lastAccepted) {
      this.lastBucket = bucketOf(iso);
      this.lastAccepted = iso;
    }
    return this.lastBucket;
  }

  /** Reports held. */
  get size(): number {
    return this.count;
  }
}

/**
 * Applies a device update to a report in place; returns true when this update completed it.
 * Shared by stores that keep the report as one document.
 */
export function applyDeviceUpdate(
  report: DeliveryReport,
  device: DeliveryReport['devices'][number],
  update: DeviceUpdate,
): boolean {
  device.status = update.status;
  device.updatedAt = update.at;
  // A new array of the exact length: `push` would grow a kept report's array to 17 slots.
  if (update.attempt) device.attempts = [...device.attempts, update.attempt];
  if (update.detail !== undefined) device.detail = update.detail;
  else delete device.detail;
  if (report.status === 'in-progress' && report.devices.every((d) => FINAL_DEVICE_STATUSES.has(d.status))) {
    report.status = 'completed';
    report.completedAt = update.at;
    return true;
  }
  return false;
}

function bucketOf(iso: string): number {
  const ms = Date.parse(iso);
  // An unreadable time is kept in the oldest bucket, so it goes at the first purge.
  return Number.isNaN(ms) ? -Infinity : Math.floor(ms / BUCKET_MS) * BUCKET_MS;
}
