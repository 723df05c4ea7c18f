import type { MissedCallEntry, MissedCallStore } from '@pushrelay/core';
import type { PostgresDatabase } from './database.js';

export interface PostgresMissedCallStoreOptions {
  /** Time to live of an entry added without one. Default 7 days. */
  defaultTtlMs?: number;
}

/**
 * A row per missed call, expiring by the database's clock option. `take` is one DELETE ...
 * RETURNING, so two concurrent takes never return the same row.
 */
export class PostgresMissedCallStore implements MissedCallStore {
  private readonly defaultTtlMs: number;

  constructor(
    private readonly db: PostgresDatabase,
    options: PostgresMissedCallStoreOptions = {},
  ) {
    this.defaultTtlMs = options.defaultTtlMs ?? 7 * 24 * 3600 * 1000;
  }

  async add(tenant: string, userId: string, entry: MissedCallEntry, ttlMs?: number): Promise<void> {
    const t = this.db.table('missed_calls');
    const now = this.db.clock.now();
    await this.db.pool.query(
      `INSERT INTO ${t} (tenant, user_id, ref, entry, expires_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (tenant, user_id, ref) DO UPDATE
         SET entry = EXCLUDED.entry, expires_at = EXCLUDED.expires_at, seq = nextval(pg_get_serial_sequence('${t}', 'seq'))`,
      [tenant, userId, entry.ref, JSON.stringify(entry), now + (ttlMs ?? this.defaultTtlMs)],
    );
  }

  async remove(tenant: string, userId: string, ref: string): Promise<boolean> {
    const r = await this.db.pool.query<{ live: boolean }>(
      `DELETE FROM ${this.db.table('missed_calls')} WHERE tenant = $1 AND user_id = $2 AND ref = $3 RETURNING expires_at > $4 AS live`,
      [tenant, userId, ref, this.db.clock.now()],
    );
    return r.rows[0]?.live === true;
  }

  async take(tenant: string, userId: string): Promise<MissedCallEntry[]> {
    const r = await this.db.pool.query<{ entry: MissedCallEntry; seq: string; expires_at: string }>(
      `DELETE FROM ${this.db.table('missed_calls')} WHERE tenant = $1 AND user_id = $2 RETURNING entry, seq, expires_at`,
      [tenant, userId],
    );
    const now = this.db.clock.now();
    return r.rows
      .filter((row) => Number(row.expires_at) > now)
      .sort((a, b) => Number(a.seq) - Number(b.seq))
      .map((row) => row.entry);
  }

  async list(tenant: string, userId: string): Promise<MissedCallEntry[]> {
    const r = await this.db.pool.query<{ entry: MissedCallEntry }>(
      `SELECT entry FROM ${this.db.table('missed_calls')} WHERE tenant = $1 AND user_id = $2 AND expires_at > $3 ORDER BY seq`,
      [tenant, userId, this.db.clock.now()],
    );
    return r.rows.map((row) => row.entry);
  }

  /** Deletes up to `limit` expired entries of any user (RetentionSweeper calls it in a loop). */
  async purgeExpired(limit = 1000): Promise<number> {
    const t = this.db.table('missed_calls');
    const r = await this.db.pool.query(
      `DELETE FROM ${t} WHERE (tenant, user_id, ref) IN (
         SELECT tenant, user_id, ref FROM ${t} WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
      [this.db.clock.now(), limit],
    );
    return r.rowCount ?? 0;
  }
}
