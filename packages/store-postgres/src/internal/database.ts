import { readdir, readFile } from 'node:fs/promises';
import pg from 'pg';
import { systemClock, type Clock } from '@pushrelay/core';

export interface PostgresOptions {
  /** `postgres://user@127.0.0.1:5432/db`, or pg pool settings. Ignored when `pool` is given. */
  connection?: string | pg.PoolConfig;
  /** A pool the caller owns (and closes). */
  pool?: pg.Pool;
  /** Schema holding the tables; created when missing. Default `pushrelay`. */
  schema?: string;
  /** Time source for created/updated times and missed-call expiry. Default: the system clock. */
  clock?: Clock;
  /** Apply pending migrations on open. Default true. */
  migrate?: boolean;
}

const MIGRATIONS_DIR = new URL('../../migrations/', import.meta.url);

/** A pool, a schema and a clock shared by the three stores. */
export class PostgresDatabase {
  private constructor(
    readonly pool: pg.Pool,
    readonly schema: string,
    readonly clock: Clock,
    private readonly ownsPool: boolean,
  ) {}

  /** Connects and, unless `migrate: false`, brings the schema up to date. */
  static async open(options: PostgresOptions = {}): Promise<PostgresDatabase> {
    const schema = options.schema ?? 'pushrelay';
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(schema)) {
      throw new RangeError(`schema must be a plain SQL identifier (letters, digits, _), got ${JSON.stringify(schema)}`);
    }
    const pool =
      options.pool ??
      new pg.Pool(
        typeof options.connection === 'string'
          ? { connectionString: options.connection }
          : { host: '127.0.0.1', ...options.connection },
      );
    if (!options.pool) pool.on('error', () => {}); // idle-client errors: the next query reports them
    const db = new PostgresDatabase(pool, schema, options.clock ?? systemClock, !options.pool);
    try {
      if (options.migrate !== false) await db.migrate();
    } catch (error) {
      await db.close();
      throw error;
    }
    return db;
  }

  /** `"schema"."table"` */
  table(name: string): string {
    return `"${this.schema}"."${name}"`;
  }

  /**
   * Applies the SQL files under migrations/ not yet recorded, in name order, each in its own
   * transaction. A transaction-level advisory lock per schema makes processes that start at once
   * wait for each other instead of racing.
   */
  async migrate(): Promise<string[]> {
    const files = (await readdir(MIGRATIONS_DIR)).filter((f) => f.endsWith('.sql')).sort();
    const applied: string[] = [];
    const client = await this.pool.connect();
    try {
      for (const file of files) {
        await client.query('BEGIN');
        try {
          await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`pushrelay-migrations:${this.schema}`]);
          await client.query(`CREATE SCHEMA IF NOT EXISTS "${this.schema}"`);
          await client.query(
            `CREATE TABLE IF NOT EXISTS ${this.table('migrations')} (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
          );
          const done = await client.query(`SELECT 1 FROM ${this.table('migrations')} WHERE name = $1`, [file]);
          if (done.rowCount === 0) {
            await client.query(`SET LOCAL search_path TO "${this.schema}"`);
            await client.query(await readFile(new URL(file, MIGRATIONS_DIR), 'utf8'));
            await client.query(`INSERT INTO ${this.table('migrations')} (name) VALUES ($1)`, [file]);
            applied.push(file);
          }
          await client.query('COMMIT');
        } catch (error) {
          await client.query('ROLLBACK').catch(() => {});
          throw error;
        }
      }
    } finally {
      client.release();
    }
    return applied;
  }

  /** Runs `body` in a transaction on one client. */
  async transaction<T>(body: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await body(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }

  nowIso(): string {
    return new Date(this.clock.now()).toISOString();
  }

  /** Ends the pool unless the caller passed its own. */
  async close(): Promise<void> {
    if (this.ownsPool) await this.pool.end();
  }
}
