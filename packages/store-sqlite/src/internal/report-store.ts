import {
  applyDeviceUpdate,
  MAX_DEADLINE_MS,
  type DeliveryReport,
  type DeviceUpdate,
  type ReportStore,
} from '@pushrelay/core';
import type Database from 'better-sqlite3';
import type { SqliteDatabase } from './database.js';

type Result = { report: DeliveryReport; completedNow: boolean } | undefined;

/** Delivery reports as one JSON document per (tenant, notification id); updates are transactions. */
export class SqliteReportStore implements ReportStore {
  private readonly insert;
  private readonly select;
  private readonly update;
  private readonly purge;
  private readonly recordTx: Database.Transaction<
    (tenant: string, id: string, bindingId: string, update: DeviceUpdate) => Result
  >;

  constructor(database: SqliteDatabase) {
    const db = database.db;
    this.insert = db.prepare<[string, string, string, string, string]>(
      'INSERT OR IGNORE INTO reports (tenant, notification_id, status, accepted_at, body) VALUES (?, ?, ?, ?, ?)',
    );
    this.select = db.prepare<[string, string], { body: string }>(
      'SELECT body FROM reports WHERE tenant = ? AND notification_id = ?',
    );
    this.update = db.prepare<[string, string, string, string]>(
      'UPDATE reports SET status = ?, body = ? WHERE tenant = ? AND notification_id = ?',
    );
    // accepted_at is always toISOString() (UTC, fixed width), so text order is time order and
    // the range runs on the reports_by_accepted index.
    this.purge = db.prepare<[string, string, number]>(
      `DELETE FROM reports WHERE (tenant, notification_id) IN (
         SELECT tenant, notification_id FROM reports
         WHERE accepted_at < ? AND (status <> 'in-progress' OR accepted_at < ?)
         ORDER BY accepted_at LIMIT ?)`,
    );
    this.recordTx = db.transaction((tenant: string, id: string, bindingId: string, update: DeviceUpdate): Result => {
      const row = this.select.get(tenant, id);
      if (!row) return undefined;
      const report = JSON.parse(row.body) as DeliveryReport;
      const device = report.devices.find((d) => d.bindingId === bindingId);
      if (!device) return undefined;
      const completedNow = applyDeviceUpdate(report, device, update);
      this.update.run(report.status, JSON.stringify(report), tenant, id);
      return { report, completedNow };
    });
  }

  async create(report: DeliveryReport): Promise<boolean> {
    const result = this.insert.run(
      report.tenant,
      report.notificationId,
      report.status,
      report.acceptedAt,
      JSON.stringify(report),
    );
    return result.changes === 1;
  }

  async get(tenant: string, notificationId: string): Promise<DeliveryReport | undefined> {
    const row = this.select.get(tenant, notificationId);
    return row && (JSON.parse(row.body) as DeliveryReport);
  }

  async recordAttempt(
    tenant: string,
    notificationId: string,
    bindingId: string,
    update: DeviceUpdate,
  ): Promise<{ report: DeliveryReport; completedNow: boolean } | undefined> {
    return this.recordTx.immediate(tenant, notificationId, bindingId, update);
  }

  async purgeAcceptedBefore(acceptedBefore: number, limit: number): Promise<number> {
    const iso = (ms: number) => new Date(Math.max(0, ms)).toISOString();
    return this.purge.run(iso(acceptedBefore), iso(acceptedBefore - MAX_DEADLINE_MS), limit).changes;
  }
}
