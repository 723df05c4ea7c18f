import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { migrate } from './schema.js';

export interface SqliteDatabaseOptions {
  /** Path of the database file, or ":memory:". Takes precedence over `dataDir`. */
  filename?: string;
  /** Folder that holds `pushrelay.db` (created when missing). */
  dataDir?: string;
  /** How long a write waits for another process's lock before failing. Default 5000 ms. */
  busyTimeoutMs?: number;
}

/** One SQLite file shared by the binding, report and missed-call stores. */
export class SqliteDatabase {
  readonly db: Database.Database;
  readonly filename: string;
  readonly schemaVersion: number;

  constructor(options: SqliteDatabaseOptions) {
    const filename =
      options.filename ?? (options.dataDir !== undefined ? join(options.dataDir, 'pushrelay.db') : undefined);
    if (!filename) throw new TypeError('SqliteDatabase needs filename or dataDir');
    if (filename !== ':memory:') mkdirSync(dirname(filename), { recursive: true, mode: 0o700 });
    this.filename = filename;
    this.db = new Database(filename);
    this.db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000))}`);
    if (filename !== ':memory:') this.db.pragma('journal_mode = WAL');
    // WAL makes NORMAL durable against process crashes; only a power loss may drop the last commits.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = ON');
    this.schemaVersion = migrate(this.db);
  }

  get open(): boolean {
    return this.db.open;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
