import { systemClock } from '../clock.js';
import type { DeviceBinding, DeviceBindingInput, Provider } from '../model.js';
import type { BindingStore, Clock } from '../ports.js';
import { copyBinding } from './copy.js';

export interface InMemoryBindingStoreOptions {
  clock?: Clock;
  generateId?: () => string;
}

/** Bindings in a Map; unique per (tenant, provider, token). For tests and single-process use. */
export class InMemoryBindingStore implements BindingStore {
  private readonly byId = new Map<string, DeviceBinding>();
  private readonly byToken = new Map<string, string>();
  /** Binding ids per (tenant, user), so a notify does not scan every binding. */
  private readonly byUser = new Map<string, Set<string>>();
  private readonly clock: Clock;
  private readonly generateId: () => string;

  constructor(options: InMemoryBindingStoreOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.generateId = options.generateId ?? (() => crypto.randomUUID());
  }

  async upsert(input: DeviceBindingInput): Promise<DeviceBinding> {
    const now = new Date(this.clock.now()).toISOString();
    const tokenKey = key(input.tenant, input.provider, input.token);
    const existingId = this.byToken.get(tokenKey);
    const existing = existingId ? this.byId.get(key(input.tenant, existingId)) : undefined;
    const binding: DeviceBinding = {
      ...structuredClone(input),
      id: existing?.id ?? input.id ?? this.generateId(),
      createdAt: existing?.createdAt ?? now,
      updatedAt: now,
    };
    const replaced = existing ?? this.byId.get(key(input.tenant, binding.id));
    if (replaced) this.unindex(replaced);
    this.byId.set(key(binding.tenant, binding.id), binding);
    this.byToken.set(tokenKey, binding.id);
    const userKey = key(binding.tenant, binding.userId);
    let ids = this.byUser.get(userKey);
    if (!ids) this.byUser.set(userKey, (ids = new Set()));
    ids.add(binding.id);
    return copyBinding(binding);
  }

  async get(tenant: string, id: string): Promise<DeviceBinding | undefined> {
    const b = this.byId.get(key(tenant, id));
    return b && copyBinding(b);
  }

  async forUser(tenant: string, userId: string): Promise<DeviceBinding[]> {
    const ids = this.byUser.get(key(tenant, userId));
    if (!ids) return [];
    if (ids.size === 1) {
      for (const id of ids) return [copyBinding(this.byId.get(key(tenant, id))!)];
    }
    return [...ids]
      .map((id) => this.byId.get(key(tenant, id))!)
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt))
      .map(copyBinding);
  }

  async findByToken(tenant: string, provider: Provider, token: string): Promise<DeviceBinding | undefined> {
    const id = this.byToken.get(key(tenant, provider, token));
    return id ? this.get(tenant, id) : undefined;
  }

  async remove(tenant: string, id: string): Promise<boolean> {
    const b = this.byId.get(key(tenant, id));
    if (!b) return false;
    this.byId.delete(key(tenant, id));
    this.unindex(b);
    return true;
  }

  private unindex(b: DeviceBinding): void {
    this.byToken.delete(key(b.tenant, b.provider, b.token));
    const userKey = key(b.tenant, b.userId);
    const ids = this.byUser.get(userKey);
    ids?.delete(b.id);
    if (ids?.size === 0) this.byUser.delete(userKey);
  }
}

function key(a: string, b: string, c?: string): string {
  return c === undefined ? `${a}\u0000${b}` : `${a}\u0000${b}\u0000${c}`;
}
