import { afterAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { sampleReport } from '@pushrelay/testkit';
import { PostgresDatabase, PostgresReportStore } from '../src/index.js';
import { dropSchema, PG_URL, postgres, schemaFor } from './helpers.js';

describe.skipIf(!postgres.available)('PostgreSQL migrations and concurrency', () => {
  const schemas: string[] = [];
  const fresh = (label: string) => {
    const s = schemaFor(label);
    schemas.push(s);
    return s;
  };
  afterAll(async () => {
    for (const s of schemas) await dropSchema(s);
  });

  it('applies the migrations once when several processes open the same schema at once', async () => {
    const schema = fresh('race');
    const dbs = await Promise.all(
      Array.from({ length: 5 }, () => PostgresDatabase.open({ connection: PG_URL, schema })),
    );
    try {
      const client = new pg.Client({ connectionString: PG_URL });
      await client.connect();
      const rows = (await client.query(`SELECT name FROM "${schema}".migrations ORDER BY name`)).rows;
      await client.end();
      expect(rows).toEqual([{ name: '001_initial.sql' }, { name: '002_sip_users.sql' }]);
      expect(await dbs[0]!.migrate()).toEqual([]);
    } finally {
      await Promise.all(dbs.map((db) => db.close()));
    }
  });

  it('creates the lookup indexes and the token uniqueness', async () => {
    const schema = fresh('idx');
    const db = await PostgresDatabase.open({ connection: PG_URL, schema });
    try {
      const r = await db.pool.query(`SELECT indexname FROM pg_indexes WHERE schemaname = $1 ORDER BY indexname`, [
        schema,
      ]);
      expect(r.rows.map((x) => x.indexname)).toEqual([
        'bindings_by_user',
        'bindings_pkey',
        'bindings_token_unique',
        'migrations_pkey',
        'missed_calls_by_expiry',
        'missed_calls_pkey',
        'reports_by_accepted_at',
        'reports_pkey',
        'sip_users_pkey',
      ]);
    } finally {
      await db.close();
    }
  });

  it('goes on after the server ends its connections (a restart or a failover)', async () => {
    const schema = fresh('restart');
    const applicationName = `pushrelay-test-${process.pid}-${Date.now()}`;
    const db = await PostgresDatabase.open({
      connection: { connectionString: PG_URL, application_name: applicationName },
      schema,
    });
    try {
      const reports = new PostgresReportStore(db);
      expect(await reports.create(sampleReport())).toBe(true);
      const admin = new pg.Client({ connectionString: PG_URL });
      await admin.connect();
      const killed = await admin.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1',
        [applicationName],
      );
      await admin.end();
      expect(killed.rowCount).toBeGreaterThanOrEqual(1);
      // The pool drops the dead clients as their errors arrive; later calls get new connections.
      await new Promise((r) => setTimeout(r, 200));
      expect(await reports.create(sampleReport({ notificationId: 'n-2' }))).toBe(true);
      expect((await reports.get('tenant-a', 'n-1'))?.notificationId).toBe('n-1');
    } finally {
      await db.close();
    }
  });

  it('refuses a schema name that is not a plain identifier, naming the option', async () => {
    await expect(PostgresDatabase.open({ connection: PG_URL, schema: 'x"; DROP TABLE y; --' })).rejects.toThrow(
      /schema must be a plain SQL identifier/,
    );
  });

  it('completes a report once when devices are updated from separate pools', async () => {
    const schema = fresh('reports');
    const a = await PostgresDatabase.open({ connection: PG_URL, schema });
    const b = await PostgresDatabase.open({ connection: PG_URL, schema });
    try {
      const devices = Array.from({ length: 8 }, (_, i) => ({ ...sampleReport().devices[0]!, bindingId: `b-${i}` }));
      await new PostgresReportStore(a).create(sampleReport({ devices }));
      const results = await Promise.all(
        devices.map((d, i) =>
          new PostgresReportStore(i % 2 ? a : b).recordAttempt('tenant-a', 'n-1', d.bindingId, {
            status: 'delivered',
            at: '2024-01-01T00:00:01.000Z',
          }),
        ),
      );
      expect(results.filter((r) => r?.completedNow).length).toBe(1);
      const stored = await new PostgresReportStore(a).get('tenant-a', 'n-1');
      expect(stored?.devices.map((d) => d.status)).toEqual(devices.map(() => 'delivered'));
      expect(stored?.status).toBe('completed');
    } finally {
      await a.close();
      await b.close();
    }
  });
});
