import type { Clock } from '@pushrelay/core';
import { SqliteBindingStore } from './internal/binding-store.js';
import { SqliteDatabase, type SqliteDatabaseOptions } from './internal/database.js';
import { SqliteMissedCallStore } from './internal/missed-call-store.js';
import { SqliteReportStore } from './internal/report-store.js';

export { SqliteDatabase, SqliteBindingStore, SqliteReportStore, SqliteMissedCallStore };
export type { SqliteDatabaseOptions };
export type { SqliteBindingStoreOptions } from './internal/binding-store.js';
export type { SqliteMissedCallStoreOptions } from './internal/missed-call-store.js';

export interface SqliteStoresOptions extends SqliteDatabaseOptions {
  clock?: Clock;
  generateId?: () => string;
  missedCallTtlMs?: number;
}

export interface SqliteStores {
  database: SqliteDatabase;
  bindings: SqliteBindingStore;
  reports: SqliteReportStore;
  missedCalls: SqliteMissedCallStore;
  close(): void;
}

/** Opens (and migrates) one database file and the three stores on it. */
export function openSqliteStores(options: SqliteStoresOptions): SqliteStores {
  const database = new SqliteDatabase(options);
  return {
    database,
    bindings: new SqliteBindingStore(database, {
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.generateId ? { generateId: options.generateId } : {}),
    }),
    reports: new SqliteReportStore(database),
    missedCalls: new SqliteMissedCallStore(database, {
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.missedCallTtlMs !== undefined ? { defaultTtlMs: options.missedCallTtlMs } : {}),
    }),
    close: () => database.close(),
  };
}
