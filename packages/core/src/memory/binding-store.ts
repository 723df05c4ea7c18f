import { systemClock } from '../clock.js';
import type { DeviceBinding, DeviceBindingInput, Provider } from '../model.js';
import type { BindingStore, Clock } from '../ports.js';
import { copyBinding } from './copy.js';

export interface InMemoryBindingStoreOptions {
  clock?: Clock;
  generateId?: () => string;
}

/** One tenant's bindings and their indexes. */
interface TenantBindings {
  byId: Map<string, DeviceBinding>;
  /** provider -> token -> binding id. */
  byToken: Map<Provider, Map<string, string>>;
  /** user -> that user's bindings, so a notify neither scans every binding nor looks each one up. */
  byUser: Map<string, DeviceBinding[]>;
}

/** Bindings in a Map; unique per (tenant, provider, token). For tests and single-process use. */
export class InMemoryBindingStore implements BindingStore {
  private readonly tenants = new Map<string, TenantBindings>();
  private readonly clock: Clock;
  private readonly generateId: () => string;

  constructor(options: InMemoryBindingStoreOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.generateId = options.generateId ?? (() => crypto.randomUUID());
  }

  async upsert(input: DeviceBindingInput): Promise<DeviceBinding> {
    const now = new Date(this.clock.now()).toISOString();
    let t = this.tenants.get(input.tenant);
    if (!t) this.tenants.set(input.tenant, (t = { byId: new Map(), byToken: new Map(), byUser: new Map() }));
    const existingId = t.byToken.get(input.provider)?.get(input.token);
    const existing = existingId ? t.byId.get(existingId) : undefined;
    // The model's values are strings and string maps: a copy of those is a deep copy, and it
    // keeps the caller's strings instead of making new ones of each.
    const binding: DeviceBinding = {
      ...input,
      ...(input.secrets ? { secrets: { ...input.secrets } } : {}),
      ...(input.params ? { params: { ...input.params } } : {}),
      id: existing?.id ?? input.id ?? this.generateId(),
      createdAt: existing?.createdAt ?? now,
      updatedAt: now,
    };
    const replaced = existing ?? t.byId.get(binding.id);
    if (replaced) unindex(t, replaced);
    t.byId.set(binding.id, binding);
    let tokens = t.byToken.get(binding.provider);
    if (!tokens) t.byToken.set(binding.provider, (tokens = new Map()));
    tokens.set(binding.token, binding.id);
    const owned = t.byUser.get(binding.userId);
    if (owned) owned.push(binding);
    else t.byUser.set(binding.userId, [binding]);
    return copyBinding(binding);
  }

  async get(tenant: string, id: string): Promise<DeviceBinding | undefined> {
    const b = this.tenants.get(tenant)?.byId.get(id);
    return b && copyBinding(b);
  }

  async forUser(tenant: string, userId: string): Promise<DeviceBinding[]> {
    const owned = this.tenants.get(tenant)?.byUser.get(userId);
    if (!owned) return [];
    if (owned.length === 1) return [copyBinding(owned[0]!)];
    return owned
      .slice()
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt))
      .map(copyBinding);
  }

  async findByToken(tenant: string, provider: Provider, token: string): Promise<DeviceBinding | undefined> {
    const id = this.tenants.get(tenant)?.byToken.get(provider)?.get(token);
    return id ? this.get(tenant, id) : undefined;
  }

  async remove(tenant: string, id: string): Promise<boolean> {
    const t = this.tenants.get(tenant);
    const b = t?.byId.get(id);
    if (!t || !b) return false;
    t.byId.delete(id);
    unindex(t, b);
    if (t.byId.size === 0) this.tenants.delete(tenant);
    return true;
  }

  async countForTenant(tenant: string): Promise<number> {
    return this.tenants.get(tenant)?.byId.size ?? 0;
  }
}

function unindex(t: TenantBindings, b: DeviceBinding): void {
  const tokens = t.byToken.get(b.provider);
  tokens?.delete(b.token);
  if (tokens?.size === 0) t.byToken.delete(b.provider);
  const owned = t.byUser.get(b.userId);
  if (!owned) return;
  const i = owned.indexOf(b);
  if (i >= 0) owned.splice(i, 1);
  if (owned.length === 0) t.byUser.delete(b.userId);
}
