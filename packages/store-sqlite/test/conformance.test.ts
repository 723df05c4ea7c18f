import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  describeBindingStoreConformance,
  describeMissedCallStoreConformance,
  describeReportStoreConformance,
} from '@pushrelay/testkit';
import { SqliteBindingStore, SqliteDatabase, SqliteMissedCallStore, SqliteReportStore } from '../src/index.js';

const t = { describe, it, expect, beforeAll, afterAll };
const dir = mkdtempSync(join(tmpdir(), 'pushrelay-sqlite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const open = (namespace: string) => new SqliteDatabase({ filename: join(dir, `${namespace}.db`) });
const opened = new WeakMap<object, SqliteDatabase>();
const track = <S extends object>(store: S, db: SqliteDatabase): S => {
  opened.set(store, db);
  return store;
};
const destroy = (store: object) => opened.get(store)?.close();

describeBindingStoreConformance(t, {
  name: 'sqlite',
  create: ({ clock, namespace }) => {
    const db = open(namespace);
    return track(new SqliteBindingStore(db, { clock }), db);
  },
  destroy,
});
describeReportStoreConformance(t, {
  name: 'sqlite',
  create: ({ namespace }) => {
    const db = open(namespace);
    return track(new SqliteReportStore(db), db);
  },
  destroy,
});
describeMissedCallStoreConformance(t, {
  name: 'sqlite',
  create: ({ clock, namespace }) => {
    const db = open(namespace);
    return track(new SqliteMissedCallStore(db, { clock }), db);
  },
  destroy,
});
