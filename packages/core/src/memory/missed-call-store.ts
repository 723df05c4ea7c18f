import { systemClock } from '../clock.js';
import type { Clock, MissedCallEntry, MissedCallStore } from '../ports.js';

interface Stored {
  entry: MissedCallEntry;
  expiresAt: number;
  seq: number;
}

/** Missed calls per user, in insertion order, each with its own expiry. */
export class InMemoryMissedCallStore implements MissedCallStore {
  private readonly users = new Map<string, Map<string, Stored>>();
  private readonly clock: Clock;
  private readonly defaultTtlMs: number;
  private seq = 0;

  constructor(options: { clock?: Clock; defaultTtlMs?: number } = {}) {
    this.clock = options.clock ?? systemClock;
    this.defaultTtlMs = options.defaultTtlMs ?? 7 * 24 * 3600 * 1000;
  }

  async add(tenant: string, userId: string, entry: MissedCallEntry, ttlMs?: number): Promise<void> {
    const k = key(tenant, userId);
    let calls = this.users.get(k);
    if (!calls) this.users.set(k, (calls = new Map()));
    calls.set(entry.ref, {
      entry: structuredClone(entry),
      expiresAt: this.clock.now() + (ttlMs ?? this.defaultTtlMs),
      seq: this.seq++,
    });
  }

  async remove(tenant: string, userId: string, ref: string): Promise<boolean> {
    const calls = this.users.get(key(tenant, userId));
    const live = calls?.get(ref);
    if (!calls || !live) return false;
    calls.delete(ref);
    // An answered call leaves nothing behind, not even the user's empty map.
    if (calls.size === 0) this.users.delete(key(tenant, userId));
    return live.expiresAt > this.clock.now();
  }

  async take(tenant: string, userId: string): Promise<MissedCallEntry[]> {
    const entries = this.live(tenant, userId);
    this.users.delete(key(tenant, userId));
    return entries;
  }

  async list(tenant: string, userId: string): Promise<MissedCallEntry[]> {
    return this.live(tenant, userId);
  }

  async purgeExpired(limit: number): Promise<number> {
    const now = this.clock.now();
    let deleted = 0;
    for (const [k, calls] of this.users) {
      for (const [ref, stored] of calls) {
        if (deleted >= limit) return deleted;
        if (stored.expiresAt <= now) {
          calls.delete(ref);
          deleted++;
        }
      }
      if (calls.size === 0) this.users.delete(k);
    }
    return deleted;
  }

  private live(tenant: string, userId: string): MissedCallEntry[] {
    const now = this.clock.now();
    const calls = this.users.get(key(tenant, userId));
    if (!calls) return [];
    return [...calls.values()]
      .filter((s) => s.expiresAt > now)
      .sort((a, b) => a.seq - b.seq)
      .map((s) => structuredClone(s.entry));
  }
}

function key(tenant: string, userId: string): string {
  return `${tenant}\u0000${userId}`;
}
