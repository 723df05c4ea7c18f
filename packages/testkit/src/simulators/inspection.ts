import type { FaultSpec } from './faults.js';

/** One push the simulated provider accepted: what the device would have received. */
export interface SimDelivery {
  provider: string;
  /** `production`/`sandbox` for APNs; the simulator's name otherwise. */
  environment?: string;
  token: string;
  /** Request headers, lower-case names, pseudo-headers and `authorization` removed. */
  headers: Record<string, string>;
  payload: unknown;
  /** Epoch ms, by the simulator's clock. */
  receivedAt: number;
  /** The provider's id for the message (APNs apns-id, FCM message name...). */
  id: string;
}

/** Every request the simulator answered (or dropped), delivered or not. */
export interface SimRequestRecord {
  provider: string;
  environment?: string;
  method: string;
  path: string;
  token?: string;
  headers: Record<string, string>;
  receivedAt: number;
  /** Status answered; 0 when no answer was sent (reset, hang, refused after GOAWAY). */
  status: number;
  reason?: string;
  fault?: FaultSpec['kind'];
}

export interface SimConnectionStats {
  /** TLS connections accepted since start. */
  opened: number;
  /** TLS connections open now. */
  open: number;
  /** HTTP/2 sessions open now. */
  openSessions: number;
}

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
