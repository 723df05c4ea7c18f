import pg from 'pg';
import { requireService } from '@pushrelay/testkit';

export const PG_URL = process.env['PUSHRELAY_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

export const postgres = await requireService(`PostgreSQL at ${PG_URL}`, async () => {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 1000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
  } finally {
    await client.end().catch(() => {});
  }
});

/** A schema name no other run uses; tests drop it when done. */
export const schemaFor = (label: string) =>
  `pr_${label}_${process.pid}_${Date.now().toString(36)}`.toLowerCase().replace(/[^a-z0-9_]/g, '_');

export async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}
