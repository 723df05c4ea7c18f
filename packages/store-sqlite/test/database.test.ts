import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bindingInput, sampleReport } from '@pushrelay/testkit';
import { SqliteDatabase, openSqliteStores } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'pushrelay-sqlite-db-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('SqliteDatabase', () => {
  it('creates the file in the data folder, in WAL mode, and migrates once', () => {
    const dataDir = join(dir, 'nested', 'data');
    const first = new SqliteDatabase({ dataDir });
    expect(first.filename).toBe(join(dataDir, 'pushrelay.db'));
    expect(first.db.pragma('journal_mode', { simple: true })).toBe('wal');
    const version = first.schemaVersion;
    expect(version).toBeGreaterThan(0);
    first.close();
    const second = new SqliteDatabase({ dataDir });
    expect(second.schemaVersion).toBe(version);
    expect(second.db.prepare('SELECT count(*) AS n FROM schema_version').get()).toEqual({ n: 1 });
    second.close();
  });

  it('keeps bindings, reports and missed calls across a reopen', async () => {
    const filename = join(dir, 'reopen.db');
    const a = openSqliteStores({ filename });
    const binding = await a.bindings.upsert(bindingInput({ secrets: { pushKey: 'secret' } }));
    await a.reports.create(sampleReport());
    await a.missedCalls.add('tenant-a', 'alice', {
      ref: 'r',
      callId: 'c',
      from: { number: '1' },
      at: '2024-01-01T00:00:00.000Z',
    });
    a.close();
    const b = openSqliteStores({ filename });
    expect(await b.bindings.get('tenant-a', binding.id)).toEqual(binding);
    expect(await b.reports.get('tenant-a', 'n-1')).toEqual(sampleReport());
    expect((await b.missedCalls.list('tenant-a', 'alice')).map((e) => e.ref)).toEqual(['r']);
    b.close();
  });

  it('sees writes made through another connection to the same file', async () => {
    const filename = join(dir, 'shared.db');
    const a = openSqliteStores({ filename });
    const b = openSqliteStores({ filename });
    const binding = await a.bindings.upsert(bindingInput());
    expect(await b.bindings.findByToken('tenant-a', 'apns', binding.token)).toEqual(binding);
    const again = await b.bindings.upsert(bindingInput({ userId: 'bob' }));
    expect(again.id).toBe(binding.id);
    expect((await a.bindings.forUser('tenant-a', 'bob')).map((x) => x.id)).toEqual([binding.id]);
    a.close();
    b.close();
  });

  it('refuses to open without a place to put the file', () => {
    expect(() => new SqliteDatabase({})).toThrow(/filename or dataDir/);
  });
});
