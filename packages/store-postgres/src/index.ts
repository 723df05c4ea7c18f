export { PostgresDatabase } from './internal/database.js';
export type { PostgresOptions } from './internal/database.js';
export { PostgresBindingStore } from './internal/binding-store.js';
export { PostgresReportStore } from './internal/report-store.js';
export { PostgresMissedCallStore } from './internal/missed-call-store.js';
export type { PostgresMissedCallStoreOptions } from './internal/missed-call-store.js';
export { PostgresSipUserStore } from './internal/sip-user-store.js';
export type { SipUserRecord } from './internal/sip-user-store.js';
