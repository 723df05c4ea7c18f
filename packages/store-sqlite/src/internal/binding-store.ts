import { randomUUID } from 'node:crypto';
import {
  systemClock,
  type BindingStore,
  type Clock,
  type DeviceBinding,
  type DeviceBindingInput,
  type Provider,
} from '@pushrelay/core';
import type Database from 'better-sqlite3';
import type { SqliteDatabase } from './database.js';

export interface SqliteBindingStoreOptions {
  clock?: Clock;
  generateId?: () => string;
}

interface Row {
  tenant: string;
  id: string;
  user_id: string;
  provider: string;
  token: string;
  app: string;
  environment: string;
  push_kind: string;
  format: string;
  secrets: string | null;
  params: string | null;
  origin: string;
  sip_instance: string | null;
  created_at: string;
  updated_at: string;
}

const COLUMNS =
  'tenant, id, user_id, provider, token, app, environment, push_kind, format, secrets, params, origin, sip_instance, created_at, updated_at';

/** Device bindings in SQLite; unique per (tenant, provider, token), indexed by user. */
export class SqliteBindingStore implements BindingStore {
  private readonly clock: Clock;
  private readonly generateId: () => string;
  private readonly db: Database.Database;
  private readonly statements;
  private readonly upsertTx: Database.Transaction<(input: DeviceBindingInput, now: string) => DeviceBinding>;

  constructor(database: SqliteDatabase, options: SqliteBindingStoreOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.generateId = options.generateId ?? randomUUID;
    this.db = database.db;
    const db = this.db;
    this.statements = {
      byToken: db.prepare<[string, string, string], Row>(
        `SELECT ${COLUMNS} FROM bindings WHERE tenant = ? AND provider = ? AND token = ?`,
      ),
      byId: db.prepare<[string, string], Row>(`SELECT ${COLUMNS} FROM bindings WHERE tenant = ? AND id = ?`),
      forUser: db.prepare<[string, string], Row>(
        `SELECT ${COLUMNS} FROM bindings WHERE tenant = ? AND user_id = ? ORDER BY created_at, seq`,
      ),
      insert: db.prepare(
        `INSERT INTO bindings (${COLUMNS}) VALUES (@tenant, @id, @user_id, @provider, @token, @app, @environment, @push_kind, @format, @secrets, @params, @origin, @sip_instance, @created_at, @updated_at)`,
      ),
      update: db.prepare(
        `UPDATE bindings SET user_id = @user_id, app = @app, environment = @environment, push_kind = @push_kind,
           format = @format, secrets = @secrets, params = @params, origin = @origin, sip_instance = @sip_instance,
           updated_at = @updated_at WHERE tenant = @tenant AND id = @id`,
      ),
      remove: db.prepare<[string, string]>('DELETE FROM bindings WHERE tenant = ? AND id = ?'),
      // Answered from the (tenant, id) unique index, without reading the rows.
      countForTenant: db.prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM bindings WHERE tenant = ?'),
    };
    this.upsertTx = db.transaction((input: DeviceBindingInput, now: string): DeviceBinding => {
      const existing = this.statements.byToken.get(input.tenant, input.provider, input.token);
      if (existing) {
        const binding = toBinding({
          ...toRow({ ...input, id: existing.id, createdAt: existing.created_at, updatedAt: now }),
        });
        this.statements.update.run(toRow(binding));
        return binding;
      }
      const binding = toBinding(toRow({ ...input, id: input.id ?? this.generateId(), createdAt: now, updatedAt: now }));
      // An explicit id already held by another token: the device's token changed, the old row goes.
      this.statements.remove.run(binding.tenant, binding.id);
      this.statements.insert.run(toRow(binding));
      return binding;
    });
  }

  async upsert(input: DeviceBindingInput): Promise<DeviceBinding> {
    return this.upsertTx.immediate(input, new Date(this.clock.now()).toISOString());
  }

  async get(tenant: string, id: string): Promise<DeviceBinding | undefined> {
    const row = this.statements.byId.get(tenant, id);
    return row && toBinding(row);
  }

  async forUser(tenant: string, userId: string): Promise<DeviceBinding[]> {
    return this.statements.forUser.all(tenant, userId).map(toBinding);
  }

  async findByToken(tenant: string, provider: Provider, token: string): Promise<DeviceBinding | undefined> {
    const row = this.statements.byToken.get(tenant, provider, token);
    return row && toBinding(row);
  }

  async remove(tenant: string, id: string): Promise<boolean> {
    return this.statements.remove.run(tenant, id).changes > 0;
  }

  async countForTenant(tenant: string): Promise<number> {
    return this.statements.countForTenant.get(tenant)?.n ?? 0;
  }
}

function toRow(b: DeviceBindingInput & { id: string; createdAt: string; updatedAt: string }): Row {
  return {
    tenant: b.tenant,
    id: b.id,
    user_id: b.userId,
    provider: b.provider,
    token: b.token,
    app: b.app,
    environment: b.environment,
    push_kind: b.pushKind,
    format: b.format,
    secrets: b.secrets === undefined ? null : JSON.stringify(b.secrets),
    params: b.params === undefined ? null : JSON.stringify(b.params),
    origin: b.origin,
    sip_instance: b.sipInstance ?? null,
    created_at: b.createdAt,
    updated_at: b.updatedAt,
  };
}

function toBinding(row: Row): DeviceBinding {
  const binding: DeviceBinding = {
    id: row.id,
    tenant: row.tenant,
    userId: row.user_id,
    provider: row.provider as DeviceBinding['provider'],
    token: row.token,
    app: row.app,
    environment: row.environment as DeviceBinding['environment'],
    pushKind: row.push_kind as DeviceBinding['pushKind'],
    format: row.format,
    origin: row.origin as DeviceBinding['origin'],
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
  if (row.secrets !== null) binding.secrets = JSON.parse(row.secrets) as Record<string, string>;
  if (row.params !== null) binding.params = JSON.parse(row.params) as Record<string, string>;
  if (row.sip_instance !== null) binding.sipInstance = row.sip_instance;
  return binding;
}
