import type { BindingStore, MissedCallStore, ReportStore } from '@pushrelay/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  describeBindingStoreConformance,
  describeMissedCallStoreConformance,
  describeReportStoreConformance,
  type StoreContext,
  type StoreSuiteOptions,
} from '@pushrelay/testkit';
import { PostgresBindingStore, PostgresDatabase, PostgresMissedCallStore, PostgresReportStore } from '../src/index.js';
import { dropSchema, PG_URL, postgres, schemaFor } from './helpers.js';

const t = { describe: describe.skipIf(!postgres.available), it, expect, beforeAll, afterAll };
const open = new Map<object, { db: PostgresDatabase; schema: string }>();

function factory<S extends object>(
  make: (db: PostgresDatabase) => S,
): Pick<StoreSuiteOptions<S>, 'create' | 'destroy'> {
  return {
    create: async (ctx: StoreContext) => {
      const schema = schemaFor(ctx.namespace);
      const db = await PostgresDatabase.open({ connection: PG_URL, schema, clock: ctx.clock });
      const store = make(db);
      open.set(store, { db, schema });
      return store;
    },
    destroy: async (store: S) => {
      const entry = open.get(store)!;
      open.delete(store);
      await entry.db.close();
      await dropSchema(entry.schema);
    },
  };
}

describeBindingStoreConformance(t, {
  name: 'postgres',
  ...factory<BindingStore>((db) => new PostgresBindingStore(db)),
});
describeReportStoreConformance(t, { name: 'postgres', ...factory<ReportStore>((db) => new PostgresReportStore(db)) });
describeMissedCallStoreConformance(t, {
  name: 'postgres',
  ...factory<MissedCallStore>((db) => new PostgresMissedCallStore(db)),
});
