import type { CallNotification, Presence } from '@pushrelay/core';

export interface PushSocket {
  send(data: string): void;
  readonly readyState: number;
}

/**
 * Who is connected, as the relay asks it (`isOnline`) and the sockets tell it (`connect`): core's
 * InMemoryPresence for one process, store-redis's RedisPresence for processes sharing a Redis.
 */
export interface ConnectionPresence extends Presence {
  /** Marks one connection open; the returned function marks it closed (idempotent). */
  connect(tenant: string, userId: string): () => void;
  /** Resolves once the connections opened so far are visible to every process. */
  flush?(): Promise<void>;
}

/** Hands notifications to the other processes, whose hubs deliver them to the sockets they hold. */
export interface NotificationFanout {
  /** False when the other processes could not be reached. */
  publish(notification: CallNotification): Promise<boolean>;
  /** Calls `listener` with what another process handed over for a user connected here. */
  onNotification(listener: (notification: CallNotification) => void): () => void;
}

/**
 * Live app connections per user. Holding one marks the user online in Presence, so the relay
 * suppresses pushes and the notification goes over the sockets instead, in this process or,
 * through the fanout, in the one holding them.
 */
export class SocketHub {
  private readonly sockets = new Map<string, Set<PushSocket>>();

  constructor(
    private readonly presence: ConnectionPresence,
    private readonly fanout?: NotificationFanout,
  ) {
    fanout?.onNotification((notification) => this.deliver(notification));
  }

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

  /** Resolves once the connections added so far are visible to every process sharing the presence. */
  async announced(): Promise<void> {
    await this.presence.flush?.();
  }

  /**
   * Delivers a notification suppressed because its recipient is online: to the sockets here,
   * and to the other processes for the sockets they hold. False when those could not be reached.
   */
  distribute(notification: CallNotification): Promise<boolean> {
    this.deliver(notification);
    return this.fanout ? this.fanout.publish(notification) : Promise.resolve(true);
  }

  /** Sends a notification to every open socket of its recipient here; returns how many got it. */
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
