import { afterAll, describe, expect, it } from 'vitest';
import { ManualClock } from '@pushrelay/core';
import { openPostgresStores, type PostgresStores } from '../src/index.js';
import { dropSchema, PG_URL, postgres, schemaFor } from './helpers.js';

describe.skipIf(!postgres.available)('openPostgresStores', () => {
  const schema = schemaFor('openstores');
  let stores: PostgresStores | undefined;
  afterAll(async () => {
    await stores?.close();
    await dropSchema(schema);
  });

  it('migrates one schema and opens the three stores on one pool, missed calls with the given time to live', async () => {
    const clock = new ManualClock(1_000_000);
    stores = await openPostgresStores({
      connection: PG_URL,
      schema,
      clock,
      missedCallTtlMs: 60_000,
    });
    const binding = await stores.bindings.upsert({
      tenant: 't',
      userId: 'alice',
      provider: 'fcm',
      token: 'tok-1',
      app: 'project',
      environment: 'production',
      pushKind: 'data',
      format: 'wazo',
      origin: 'api',
    });
    expect((await stores.bindings.forUser('t', 'alice')).map((b) => b.id)).toEqual([binding.id]);
    await stores.missedCalls.add('t', 'alice', {
      ref: 'c1',
      callId: 'c1',
      from: { number: '100' },
      at: '2026-01-01T00:00:00.000Z',
    });
    await clock.advance(60_001);
    expect(await stores.missedCalls.take('t', 'alice')).toEqual([]);
    const tables = await stores.database.pool.query<{ table_name: string }>(
      'SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name',
      [schema],
    );
    expect(tables.rows.map((r) => r.table_name)).toEqual(expect.arrayContaining(['bindings', 'missed_calls']));
  });
});
