import { FINAL_DEVICE_STATUSES, type DeliveryReport } from '../model.js';
import type { DeviceUpdate, ReportStore } from '../ports.js';
import { MAX_DEADLINE_MS } from '../validate.js';
import { copyReport } from './copy.js';

/** Reports are indexed by the hour they were accepted in, so a purge only visits old hours. */
const BUCKET_MS = 3600 * 1000;

/** Delivery reports in a Map. Copies in and out so callers never share state with the store. */
export class InMemoryReportStore implements ReportStore {
  private readonly reports = new Map<string, DeliveryReport>();
  private readonly byHour = new Map<number, Set<string>>();

  async create(report: DeliveryReport): Promise<boolean> {
    const k = key(report.tenant, report.notificationId);
    if (this.reports.has(k)) return false;
    this.reports.set(k, copyReport(report));
    const hour = bucketOf(report.acceptedAt);
    let keys = this.byHour.get(hour);
    if (!keys) this.byHour.set(hour, (keys = new Set()));
    keys.add(k);
    return true;
  }

  async get(tenant: string, notificationId: string): Promise<DeliveryReport | undefined> {
    const r = this.reports.get(key(tenant, notificationId));
    return r && copyReport(r);
  }

  async recordAttempt(
    tenant: string,
    notificationId: string,
    bindingId: string,
    update: DeviceUpdate,
  ): Promise<{ report: DeliveryReport; completedNow: boolean } | undefined> {
    const report = this.reports.get(key(tenant, notificationId));
    const device = report?.devices.find((d) => d.bindingId === bindingId);
    if (!report || !device) return undefined;
    const completedNow = applyDeviceUpdate(report, device, update);
    return { report: copyReport(report), completedNow };
  }

  async purgeAcceptedBefore(acceptedBefore: number, limit: number): Promise<number> {
    const inProgressBefore = acceptedBefore - MAX_DEADLINE_MS;
    const hours = [...this.byHour.keys()].filter((h) => h < acceptedBefore).sort((a, b) => a - b);
    let deleted = 0;
    for (const hour of hours) {
      const keys = this.byHour.get(hour)!;
      for (const k of keys) {
        if (deleted >= limit) return deleted;
        const report = this.reports.get(k)!;
        const accepted = Date.parse(report.acceptedAt);
        if (!(accepted < acceptedBefore)) continue;
        if (report.status === 'in-progress' && accepted >= inProgressBefore) continue;
        this.reports.delete(k);
        keys.delete(k);
        deleted++;
      }
      if (keys.size === 0) this.byHour.delete(hour);
    }
    return deleted;
  }

  /** Reports held. */
  get size(): number {
    return this.reports.size;
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
  if (update.attempt) device.attempts.push(update.attempt);
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

function key(tenant: string, id: string): string {
  return `${tenant}\u0000${id}`;
}
