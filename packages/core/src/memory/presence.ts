import type { Presence } from '../ports.js';

/** Counts live connections per user; a user is online while at least one is open. */
export class InMemoryPresence implements Presence {
  private readonly connections = new Map<string, number>();

  /** Marks one connection open; call the returned function when it closes (idempotent). */
  connect(tenant: string, userId: string): () => void {
    const k = `${tenant}\u0000${userId}`;
    this.connections.set(k, (this.connections.get(k) ?? 0) + 1);
    let open = true;
    return () => {
      if (!open) return;
      open = false;
      const n = (this.connections.get(k) ?? 1) - 1;
      if (n <= 0) this.connections.delete(k);
      else this.connections.set(k, n);
    };
  }

  async isOnline(tenant: string, userId: string): Promise<boolean> {
    return (this.connections.get(`${tenant}\u0000${userId}`) ?? 0) > 0;
  }
}
