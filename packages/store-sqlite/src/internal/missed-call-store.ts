import { systemClock, type Clock, type MissedCallEntry, type MissedCallStore } from '@pushrelay/core';
import type Database from 'better-sqlite3';
import type { SqliteDatabase } from './database.js';

/** Expired rows a write deletes on its way, so a store nobody sweeps stays bounded without a long delete. */
const SWEEP_ON_WRITE = 32;

export interface SqliteMissedCallStoreOptions {
  clock?: Clock;
  /** How long an entry lives when `add` gives no ttl. Default 7 days. */
  defaultTtlMs?: number;
}

/**
 * Missed calls per user, oldest first. Expired rows are ignored on read; each write deletes a
 * few of them (SWEEP_ON_WRITE) and `purgeExpired` the rest in batches.
 */
export class SqliteMissedCallStore implements MissedCallStore {
  private readonly clock: Clock;
  private readonly defaultTtlMs: number;
  private readonly statements;
  private readonly takeTx: Database.Transaction<(tenant: string, userId: string, now: number) => MissedCallEntry[]>;

  constructor(database: SqliteDatabase, options: SqliteMissedCallStoreOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.defaultTtlMs = options.defaultTtlMs ?? 7 * 24 * 3600 * 1000;
    const db = database.db;
    this.statements = {
      // REPLACE deletes and re-inserts, so a replaced entry moves to the end like a new one.
      add: db.prepare<[string, string, string, string, number]>(
        'INSERT OR REPLACE INTO missed_calls (tenant, user_id, ref, entry, expires_at) VALUES (?, ?, ?, ?, ?)',
      ),
      sweep: db.prepare<[number, number]>(
        'DELETE FROM missed_calls WHERE seq IN (SELECT seq FROM missed_calls WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)',
      ),
      remove: db.prepare<[string, string, string, number]>(
        'DELETE FROM missed_calls WHERE tenant = ? AND user_id = ? AND ref = ? AND expires_at > ?',
      ),
      removeAny: db.prepare<[string, string, string]>(
        'DELETE FROM missed_calls WHERE tenant = ? AND user_id = ? AND ref = ?',
      ),
      list: db.prepare<[string, string, number], { entry: string }>(
        'SELECT entry FROM missed_calls WHERE tenant = ? AND user_id = ? AND expires_at > ? ORDER BY seq',
      ),
      clear: db.prepare<[string, string]>('DELETE FROM missed_calls WHERE tenant = ? AND user_id = ?'),
    };
    this.takeTx = db.transaction((tenant: string, userId: string, now: number) => {
      const entries = this.read(tenant, userId, now);
      this.statements.clear.run(tenant, userId);
      return entries;
    });
  }

  async add(tenant: string, userId: string, entry: MissedCallEntry, ttlMs?: number): Promise<void> {
    const now = this.clock.now();
    this.statements.sweep.run(now, SWEEP_ON_WRITE);
    this.statements.add.run(tenant, userId, entry.ref, JSON.stringify(entry), now + (ttlMs ?? this.defaultTtlMs));
  }

  async remove(tenant: string, userId: string, ref: string): Promise<boolean> {
    const removed = this.statements.remove.run(tenant, userId, ref, this.clock.now()).changes > 0;
    if (!removed) this.statements.removeAny.run(tenant, userId, ref);
    return removed;
  }

  async take(tenant: string, userId: string): Promise<MissedCallEntry[]> {
    return this.takeTx.immediate(tenant, userId, this.clock.now());
  }

  async list(tenant: string, userId: string): Promise<MissedCallEntry[]> {
    return this.read(tenant, userId, this.clock.now());
  }

  async purgeExpired(limit: number): Promise<number> {
    return this.statements.sweep.run(this.clock.now(), limit).changes;
  }

  private read(tenant: string, userId: string, now: number): MissedCallEntry[] {
    return this.statements.list.all(tenant, userId, now).map((r) => JSON.parse(r.entry) as MissedCallEntry);
  }
}
