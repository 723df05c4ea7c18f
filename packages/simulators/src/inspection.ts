export type { SimConnectionStats, SimDelivery, SimRequestRecord } from '@pushrelay/testkit';

/** Marks of device tokens the provider considers dead. */
export class TokenRegistry {
  private readonly unregistered = new Map<string, number>();

  unregister(token: string, at: number): void {
    this.unregistered.set(token, at);
  }

  restore(token: string): void {
    this.unregistered.delete(token);
  }

  /** When the token stopped being valid (epoch ms), or undefined while it is valid. */
  unregisteredAt(token: string): number | undefined {
    return this.unregistered.get(token);
  }

  clear(): void {
    this.unregistered.clear();
  }
}

/** Headers worth keeping in a record: lower-case, no pseudo-headers, no credentials. */
export function recordableHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (name.startsWith(':') || name === 'authorization' || value === undefined) continue;
    out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}
