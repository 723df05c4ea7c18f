import type Database from 'better-sqlite3';

/**
 * Schema steps in order. Each runs once, in a transaction with the version bump, so opening a
 * database twice, or by two processes at once, never applies a step twice.
 */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE bindings (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant       TEXT NOT NULL,
    id           TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    provider     TEXT NOT NULL,
    token        TEXT NOT NULL,
    app          TEXT NOT NULL,
    environment  TEXT NOT NULL,
    push_kind    TEXT NOT NULL,
    format       TEXT NOT NULL,
    secrets      TEXT,
    params       TEXT,
    origin       TEXT NOT NULL,
    sip_instance TEXT,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    UNIQUE (tenant, id),
    UNIQUE (tenant, provider, token)
  );
  CREATE INDEX bindings_by_user ON bindings (tenant, user_id, created_at, seq);

  CREATE TABLE reports (
    tenant          TEXT NOT NULL,
    notification_id TEXT NOT NULL,
    status          TEXT NOT NULL,
    accepted_at     TEXT NOT NULL,
    body            TEXT NOT NULL,
    PRIMARY KEY (tenant, notification_id)
  ) WITHOUT ROWID;
  CREATE INDEX reports_by_accepted ON reports (accepted_at);

  CREATE TABLE missed_calls (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant     TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    ref        TEXT NOT NULL,
    entry      TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    UNIQUE (tenant, user_id, ref)
  );
  CREATE INDEX missed_calls_by_expiry ON missed_calls (expires_at);
  `,
];

export function migrate(db: Database.Database): number {
  db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
  const step = db.transaction(() => {
    const row = db.prepare('SELECT version FROM schema_version').get() as { version: number } | undefined;
    let version = row?.version ?? 0;
    if (!row) db.prepare('INSERT INTO schema_version (version) VALUES (0)').run();
    for (; version < MIGRATIONS.length; version++) db.exec(MIGRATIONS[version]!);
    db.prepare('UPDATE schema_version SET version = ?').run(version);
    return version;
  });
  // IMMEDIATE takes the write lock before reading the version, so two processes never race.
  return step.immediate();
}
