import { FINAL_DEVICE_STATUSES, type DeliveryReport } from '../model.js';
import type { DeviceUpdate, ReportStore } from '../ports.js';
import { copyReport } from './copy.js';

/** Delivery reports in a Map. Copies in and out so callers never share state with the store. */
export class InMemoryReportStore implements ReportStore {
  private readonly reports = new Map<string, DeliveryReport>();

  async create(report: DeliveryReport): Promise<boolean> {
    const k = key(report.tenant, report.notificationId);
    if (this.reports.has(k)) return false;
    this.reports.set(k, copyReport(report));
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

function key(tenant: string, id: string): string {
  return `${tenant}\u0000${id}`;
}
