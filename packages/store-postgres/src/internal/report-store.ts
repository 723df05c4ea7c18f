import {
  applyDeviceUpdate,
  MAX_DEADLINE_MS,
  type DeliveryReport,
  type DeviceUpdate,
  type ReportStore,
} from '@pushrelay/core';
import type { PostgresDatabase } from './database.js';

/**
 * One row per report holding the report as JSON. Updates lock the row (SELECT ... FOR UPDATE),
 * so concurrent device updates apply one after the other and exactly one completes the report.
 */
export class PostgresReportStore implements ReportStore {
  constructor(private readonly db: PostgresDatabase) {}

  async create(report: DeliveryReport): Promise<boolean> {
    const r = await this.db.pool.query(
      `INSERT INTO ${this.db.table('reports')} (tenant, notification_id, status, report, accepted_at)
       VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
      [report.tenant, report.notificationId, report.status, JSON.stringify(report), report.acceptedAt],
    );
    return (r.rowCount ?? 0) > 0;
  }

  async get(tenant: string, notificationId: string): Promise<DeliveryReport | undefined> {
    const r = await this.db.pool.query<{ report: DeliveryReport }>(
      `SELECT report FROM ${this.db.table('reports')} WHERE tenant = $1 AND notification_id = $2`,
      [tenant, notificationId],
    );
    return r.rows[0]?.report;
  }

  async recordAttempt(
    tenant: string,
    notificationId: string,
    bindingId: string,
    update: DeviceUpdate,
  ): Promise<{ report: DeliveryReport; completedNow: boolean } | undefined> {
    return this.db.transaction(async (client) => {
      const r = await client.query<{ report: DeliveryReport }>(
        `SELECT report FROM ${this.db.table('reports')} WHERE tenant = $1 AND notification_id = $2 FOR UPDATE`,
        [tenant, notificationId],
      );
      const report = r.rows[0]?.report;
      const device = report?.devices.find((d) => d.bindingId === bindingId);
      if (!report || !device) return undefined;
      const completedNow = applyDeviceUpdate(report, device, update);
      await client.query(
        `UPDATE ${this.db.table('reports')} SET report = $3, status = $4 WHERE tenant = $1 AND notification_id = $2`,
        [tenant, notificationId, JSON.stringify(report), report.status],
      );
      return { report, completedNow };
    });
  }

  /**
   * One statement per batch: SKIP LOCKED leaves rows a device update holds (and rows another
   * process's sweep took) alone, so a sweep never waits on a lock nor makes anyone wait long.
   */
  async purgeAcceptedBefore(acceptedBefore: number, limit: number): Promise<number> {
    const t = this.db.table('reports');
    const r = await this.db.pool.query(
      `DELETE FROM ${t} WHERE (tenant, notification_id) IN (
         SELECT tenant, notification_id FROM ${t}
         WHERE accepted_at < $1 AND (status <> 'in-progress' OR accepted_at < $2)
         ORDER BY accepted_at LIMIT $3 FOR UPDATE SKIP LOCKED)`,
      [new Date(acceptedBefore), new Date(acceptedBefore - MAX_DEADLINE_MS), limit],
    );
    return r.rowCount ?? 0;
  }
}
