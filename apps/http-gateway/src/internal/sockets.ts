import type { CallNotification, InMemoryPresence } from '@pushrelay/core';

export interface PushSocket {
  send(data: string): void;
  readonly readyState: number;
}

/**
 * Live app connections per user. Holding one marks the user online in Presence, so the relay
 * suppresses pushes and the notification goes over the sockets instead.
 */
export class SocketHub {
  private readonly sockets = new Map<string, Set<PushSocket>>();

  constructor(private readonly presence: InMemoryPresence) {}

  /** Registers a connection; the returned function unregisters it (idempotent). */
  add(tenant: string, userId: string, socket: PushSocket): () => void {
    const k = key(tenant, userId);
    let set = this.sockets.get(k);
    if (!set) this.sockets.set(k, (set = new Set()));
    set.add(socket);
    const disconnect = this.presence.connect(tenant, userId);
    let open = true;
    return () => {
      if (!open) return;
      open = false;
      disconnect();
      set.delete(socket);
      if (set.size === 0) this.sockets.delete(k);
    };
  }

  /** Sends a notification to every open socket of its recipient; returns how many got it. */
  deliver(notification: CallNotification): number {
    const set = this.sockets.get(key(notification.tenant, notification.recipient));
    if (!set) return 0;
    const message = JSON.stringify({ kind: 'notification', notification });
    let sent = 0;
    for (const socket of set) {
      if (socket.readyState !== 1) continue;
      socket.send(message);
      sent++;
    }
    return sent;
  }

  get size(): number {
    let n = 0;
    for (const set of this.sockets.values()) n += set.size;
    return n;
  }
}

function key(tenant: string, userId: string): string {
  return `${tenant}\u0000${userId}`;
}
