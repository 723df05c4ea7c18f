import { randomUUID } from 'node:crypto';
import type { BindingStore, DeviceBinding, DeviceBindingInput, Provider } from '@pushrelay/core';
import type { PostgresDatabase } from './database.js';

const COLUMNS =
  'tenant, id, user_id, provider, token, app, environment, push_kind, format, secrets, params, origin, sip_instance, created_at, updated_at';

interface Row {
  tenant: string;
  id: string;
  user_id: string;
  provider: Provider;
  token: string;
  app: string;
  environment: DeviceBinding['environment'];
  push_kind: DeviceBinding['pushKind'];
  format: string;
  secrets: Record<string, string> | null;
  params: Record<string, string> | null;
  origin: DeviceBinding['origin'];
  sip_instance: string | null;
  created_at: Date;
  updated_at: Date;
}

/** Bindings in one table, unique per (tenant, provider, token), indexed by user. */
export class PostgresBindingStore implements BindingStore {
  constructor(private readonly db: PostgresDatabase) {}

  async upsert(input: DeviceBindingInput): Promise<DeviceBinding> {
    const t = this.db.table('bindings');
    const now = this.db.nowIso();
    const values = [
      input.tenant,
      input.id ?? randomUUID(),
      input.userId,
      input.provider,
      input.token,
      input.app,
      input.environment,
      input.pushKind,
      input.format,
      input.secrets ?? null,
      input.params ?? null,
      input.origin,
      input.sipInstance ?? null,
      now,
      now,
    ];
    const upsert = `INSERT INTO ${t} (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
      ON CONFLICT ON CONSTRAINT bindings_token_unique DO UPDATE SET
        user_id = EXCLUDED.user_id, app = EXCLUDED.app, environment = EXCLUDED.environment,
        push_kind = EXCLUDED.push_kind, format = EXCLUDED.format, secrets = EXCLUDED.secrets,
        params = EXCLUDED.params, origin = EXCLUDED.origin, sip_instance = EXCLUDED.sip_instance,
        updated_at = EXCLUDED.updated_at
      RETURNING ${COLUMNS}`;
    if (input.id === undefined) return toBinding((await this.db.pool.query<Row>(upsert, values)).rows[0]!);
    // An explicit id held by another token means the device's token changed: the old row goes.
    return this.db.transaction(async (client) => {
      await client.query(`DELETE FROM ${t} WHERE tenant = $1 AND id = $2 AND NOT (provider = $3 AND token = $4)`, [
        input.tenant,
        input.id,
        input.provider,
        input.token,
      ]);
      return toBinding((await client.query<Row>(upsert, values)).rows[0]!);
    });
  }

  async get(tenant: string, id: string): Promise<DeviceBinding | undefined> {
    const r = await this.db.pool.query<Row>(
      `SELECT ${COLUMNS} FROM ${this.db.table('bindings')} WHERE tenant = $1 AND id = $2`,
      [tenant, id],
    );
    return r.rows[0] && toBinding(r.rows[0]);
  }

  async forUser(tenant: string, userId: string): Promise<DeviceBinding[]> {
    const r = await this.db.pool.query<Row>(
      `SELECT ${COLUMNS} FROM ${this.db.table('bindings')} WHERE tenant = $1 AND user_id = $2 ORDER BY created_at, seq`,
      [tenant, userId],
    );
    return r.rows.map(toBinding);
  }

  async findByToken(tenant: string, provider: Provider, token: string): Promise<DeviceBinding | undefined> {
    const r = await this.db.pool.query<Row>(
      `SELECT ${COLUMNS} FROM ${this.db.table('bindings')} WHERE tenant = $1 AND provider = $2 AND token = $3`,
      [tenant, provider, token],
    );
    return r.rows[0] && toBinding(r.rows[0]);
  }

  async remove(tenant: string, id: string): Promise<boolean> {
    const r = await this.db.pool.query(`DELETE FROM ${this.db.table('bindings')} WHERE tenant = $1 AND id = $2`, [
      tenant,
      id,
    ]);
    return (r.rowCount ?? 0) > 0;
  }

  async countForTenant(tenant: string): Promise<number> {
    // An index-only scan of the (tenant, ...) unique index once the table is vacuumed.
    const r = await this.db.pool.query<{ n: number }>(
      `SELECT COUNT(*)::int AS n FROM ${this.db.table('bindings')} WHERE tenant = $1`,
      [tenant],
    );
    return r.rows[0]?.n ?? 0;
  }
}

function toBinding(row: Row): DeviceBinding {
  const b: DeviceBinding = {
    id: row.id,
    tenant: row.tenant,
    userId: row.user_id,
    provider: row.provider,
    token: row.token,
    app: row.app,
    environment: row.environment,
    pushKind: row.push_kind,
    format: row.format,
    origin: row.origin,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
  if (row.secrets) b.secrets = row.secrets;
  if (row.params) b.params = row.params;
  if (row.sip_instance !== null) b.sipInstance = row.sip_instance;
  return b;
}
