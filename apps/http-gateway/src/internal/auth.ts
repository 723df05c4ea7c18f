import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { TenantConfig } from './config.js';

/** Finds the tenant of an API key by its SHA-256, comparing every candidate in constant time. */
export class TenantDirectory {
  private readonly entries: { hash: Buffer; tenant: TenantConfig }[] = [];
  private readonly byId = new Map<string, TenantConfig>();

  constructor(tenants: readonly TenantConfig[]) {
    for (const tenant of tenants) {
      this.byId.set(tenant.id, tenant);
      for (const h of tenant.apiKeyHashes) this.entries.push({ hash: Buffer.from(h, 'hex'), tenant });
    }
  }

  tenant(id: string): TenantConfig | undefined {
    return this.byId.get(id);
  }

  get all(): TenantConfig[] {
    return [...this.byId.values()];
  }

  /** The tenant owning this key, or undefined. Looks at every entry so timing says nothing. */
  authenticate(apiKey: string): TenantConfig | undefined {
    const digest = createHash('sha256').update(apiKey, 'utf8').digest();
    let found: TenantConfig | undefined;
    for (const entry of this.entries) {
      if (timingSafeEqual(entry.hash, digest)) found = entry.tenant;
    }
    return found;
  }
}

export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m?.[1];
}

/** Constant-time comparison of two strings of any length. */
export function safeEqual(a: string, b: string): boolean {
  const ha = createHmac('sha256', 'cmp').update(a).digest();
  const hb = createHmac('sha256', 'cmp').update(b).digest();
  return timingSafeEqual(ha, hb);
}
