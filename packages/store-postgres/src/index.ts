import { PostgresBindingStore } from './internal/binding-store.js';
import { PostgresDatabase, type PostgresOptions } from './internal/database.js';
import { PostgresMissedCallStore } from './internal/missed-call-store.js';
import { PostgresReportStore } from './internal/report-store.js';

export { PostgresDatabase } from './internal/database.js';
export type { PostgresOptions } from './internal/database.js';
export { PostgresBindingStore } from './internal/binding-store.js';
export { PostgresReportStore } from './internal/report-store.js';
export { PostgresMissedCallStore } from './internal/missed-call-store.js';
export type { PostgresMissedCallStoreOptions } from './internal/missed-call-store.js';
export { PostgresSipUserStore } from './internal/sip-user-store.js';
export type { SipUserRecord } from './internal/sip-user-store.js';

export interface PostgresStoresOptions extends PostgresOptions {
  /** Time to live of a missed call added without one. Default 7 days. */
  missedCallTtlMs?: number;
}

export interface PostgresStores {
  database: PostgresDatabase;
  bindings: PostgresBindingStore;
  reports: PostgresReportStore;
  missedCalls: PostgresMissedCallStore;
  /** Ends the pool (unless it was passed in as `pool`). */
  close(): Promise<void>;
}

/** Connects, applies the migrations (unless `migrate: false`) and opens the three stores on one pool. */
export async function openPostgresStores(options: PostgresStoresOptions = {}): Promise<PostgresStores> {
  const { missedCallTtlMs, ...databaseOptions } = options;
  const database = await PostgresDatabase.open(databaseOptions);
  return {
    database,
    bindings: new PostgresBindingStore(database),
    reports: new PostgresReportStore(database),
    missedCalls: new PostgresMissedCallStore(
      database,
      missedCallTtlMs !== undefined ? { defaultTtlMs: missedCallTtlMs } : {},
    ),
    close: () => database.close(),
  };
}
