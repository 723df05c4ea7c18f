import { randomUUID } from 'node:crypto';
import type { CallNotification, Presence } from '@pushrelay/core';
import type { Redis } from 'ioredis';
import { closeClient, keyPart, openClient, type OpenedClient, type RedisConnectionOptions } from './connection.js';

/** What a RedisPresence was doing when Redis failed it. */
export type PresenceOperation = 'lookup' | 'announce' | 'refresh' | 'publish' | 'subscribe';

export interface RedisPresenceOptions extends RedisConnectionOptions {
  /**
   * How long this process's connections count after its last refresh: a process that dies
   * (SIGKILL, a lost host) takes its users offline within it. Default 5000 ms.
   */
  leaseMs?: number;
  /** Between two refreshes of the lease; below `leaseMs`. Default 1000 ms. */
  refreshMs?: number;
  /** How long a lookup or a publish waits for Redis before it gives up. Default 250 ms. */
  timeoutMs?: number;
  /** This process's id in Redis; unique per process. Default a random UUID. */
  processId?: string;
  /** Told of every Redis failure; the operation goes on as described for it (never throws). */
  onError?: (error: unknown, operation: PresenceOperation) => void;
}

/** A notification handed over to the processes holding its recipient's connections. */
export type PresenceListener = (notification: CallNotification) => void;

/** Users held by one process are members of `user:{tenant:user}`; each process member lives while its lease does. */
const IS_ONLINE = `
local members = redis.call('SMEMBERS', KEYS[1])
for _, process in ipairs(members) do
  if process ~= ARGV[2] then
    if redis.call('EXISTS', ARGV[1] .. process) == 1 then return 1 end
  end
  redis.call('SREM', KEYS[1], process)
end
return 0
`;

/** A user's key outlives any connection a process holds without announcing it again. */
const USER_KEY_TTL_MS = 24 * 3600_000;

/**
 * Core's Presence shared by every process on one Redis, plus the hand-over of a notification to
 * the process holding the recipient's connections (pub/sub, one channel per prefix).
 *
 * Each process holds a lease, `<prefix>:presence:process:<id>`, refreshed every `refreshMs` with
 * a time to live of `leaseMs`, and adds its id to `<prefix>:presence:user:{<tenant>:<user>}` while
 * it holds a connection of that user. A user is online when a process other than the asking one
 * is in that set with a live lease (or the asking one holds a connection itself); members whose
 * lease lapsed are removed by the lookup that finds them. A refresh that finds its own lease gone
 * (the process stalled past `leaseMs`, Redis lost its data) announces every held user again.
 */
export class RedisPresence implements Presence {
  readonly processId: string;
  private readonly redis: OpenedClient;
  private readonly subscriber: Redis;
  private readonly leaseMs: number;
  private readonly timeoutMs: number;
  private readonly onError: (error: unknown, operation: PresenceOperation) => void;
  private readonly channel: string;
  private readonly leaseKey: string;
  /** This process's connections per user key. */
  private readonly held = new Map<string, number>();
  /**
   * Users this process no longer holds whose membership Redis did not drop: retried at each
   * refresh, as a membership left behind would have other processes suppress the user's pushes.
   */
  private readonly leftBehind = new Set<string>();
  /** This process's id as stored in the user sets and its lease key. */
  private readonly member: string;
  private readonly listeners = new Set<PresenceListener>();
  /**
   * Writes wait for the subscription, so no other process sees a user online here before this
   * process can receive what it hands over; chained, so a connect and its disconnect reach Redis
   * in order.
   */
  private writes: Promise<unknown>;
  private readonly timer: NodeJS.Timeout;
  private lastAnnounce = 0;
  private refreshing = false;
  private closed = false;

  /** Throws RangeError for a lease, refresh or timeout that cannot work. */
  constructor(options: RedisPresenceOptions = {}) {
    this.leaseMs = options.leaseMs ?? 5000;
    const refreshMs = options.refreshMs ?? Math.min(1000, Math.floor(this.leaseMs / 3));
    this.timeoutMs = options.timeoutMs ?? 250;
    for (const [name, value] of [
      ['leaseMs', this.leaseMs],
      ['refreshMs', refreshMs],
      ['timeoutMs', this.timeoutMs],
    ] as const) {
      if (!Number.isInteger(value) || value <= 0)
        throw new RangeError(`${name} must be a positive whole number of milliseconds, got ${value}`);
    }
    if (refreshMs >= this.leaseMs)
      throw new RangeError(`refreshMs (${refreshMs}) must be below leaseMs (${this.leaseMs}), or the lease lapses`);
    this.processId = options.processId ?? randomUUID();
    this.onError = options.onError ?? (() => {});
    this.redis = openClient(options);
    const { client, prefix } = this.redis;
    this.channel = `${prefix}:presence:notifications`;
    this.member = keyPart(this.processId);
    this.leaseKey = `${prefix}:presence:process:${this.member}`;
    // A subscribed connection can run no other command: it is one of its own. Its subscribe waits
    // through reconnects (no retry limit): users are announced only once this process can
    // receive what others hand over to them.
    const name = client.options.connectionName;
    this.subscriber = client.duplicate({
      maxRetriesPerRequest: null,
      ...(name ? { connectionName: `${name}:subscriber` } : {}),
    });
    this.subscriber.on('error', () => {});
    this.subscriber.on('message', (channel: string, message: string) => this.received(channel, message));
    this.writes = this.subscriber
      .subscribe(this.channel)
      .catch((error: unknown) => this.onError(error, 'subscribe'))
      .then(() => this.refresh());
    this.timer = setInterval(() => {
      // While Redis is away a refresh can take longer than the interval: one waits at a time.
      if (this.refreshing) return;
      this.refreshing = true;
      void this.write(() => this.refresh()).finally(() => (this.refreshing = false));
    }, refreshMs);
    this.timer.unref();
  }

  /** Marks one connection of the user open here; call the returned function when it closes (idempotent). */
  connect(tenant: string, userId: string): () => void {
    const key = this.userKey(tenant, userId);
    const n = this.held.get(key) ?? 0;
    this.held.set(key, n + 1);
    if (n === 0) {
      this.leftBehind.delete(key);
      void this.write(() => this.announce([key]));
    }
    let open = true;
    return () => {
      if (!open) return;
      open = false;
      const left = (this.held.get(key) ?? 1) - 1;
      if (left > 0) return void this.held.set(key, left);
      this.held.delete(key);
      void this.write(async () => {
        // Connected again meanwhile: the membership stays.
        if (this.held.has(key)) return;
        await this.redis.client.srem(key, this.member).catch((error: unknown) => {
          this.leftBehind.add(key);
          this.onError(error, 'announce');
        });
      });
    };
  }

  /**
   * Online when this process holds a connection of the user, or another live process does. When
   * Redis fails or is slower than `timeoutMs`, answers what this process knows: a user wrongly
   * taken for offline gets a push, which is harmless; one wrongly taken for online would get nothing.
   */
  async isOnline(tenant: string, userId: string): Promise<boolean> {
    const key = this.userKey(tenant, userId);
    if (this.held.has(key)) return true;
    try {
      const found = await this.bounded(
        this.redis.client.eval(IS_ONLINE, 1, key, `${this.redis.prefix}:presence:process:`, this.member),
      );
      return Number(found) === 1;
    } catch (error) {
      this.onError(error, 'lookup');
      return false;
    }
  }

  /**
   * Hands a notification to every other process, whose listeners get it when they hold a
   * connection of its recipient. False when Redis did not take it within `timeoutMs`.
   */
  async publish(notification: CallNotification): Promise<boolean> {
    const message = JSON.stringify({ from: this.processId, notification });
    try {
      await this.bounded(this.redis.client.publish(this.channel, message));
      return true;
    } catch (error) {
      this.onError(error, 'publish');
      return false;
    }
  }

  /** Calls `listener` with each notification another process handed over for a user connected here. */
  onNotification(listener: PresenceListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves once the connections opened and closed so far are written to Redis (or failed). */
  async flush(): Promise<void> {
    await this.writes;
  }

  /**
   * Stops refreshing and gives the lease and the memberships back, so this process's users are
   * offline at once for the others; closes the connections unless the caller passed its own client.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    const handBack = this.write(async () => {
      const pipeline = this.redis.client.pipeline().del(this.leaseKey);
      for (const key of [...this.held.keys(), ...this.leftBehind]) pipeline.srem(key, this.member);
      await pipeline.exec().catch(() => {});
    });
    // Best effort: with Redis away the lease lapses on its own.
    await this.bounded(handBack, Math.max(this.timeoutMs, 1000)).catch(() => {});
    this.held.clear();
    this.subscriber.disconnect();
    await closeClient(this.redis);
  }

  private received(channel: string, message: string): void {
    if (channel !== this.channel) return;
    let parsed: { from?: unknown; notification?: CallNotification };
    try {
      parsed = JSON.parse(message) as typeof parsed;
    } catch {
      return;
    }
    const notification = parsed.notification;
    // The publishing process delivered to its own connections itself.
    if (parsed.from === this.processId || !notification || typeof notification !== 'object') return;
    if (typeof notification.tenant !== 'string' || typeof notification.recipient !== 'string') return;
    if (!this.held.has(this.userKey(notification.tenant, notification.recipient))) return;
    for (const listener of this.listeners) {
      try {
        listener(notification);
      } catch {
        // One listener's failure must not keep the notification from the others.
      }
    }
  }

  /** Renews the lease; a lease found gone means others may have dropped this process's users. */
  private async refresh(): Promise<void> {
    if (this.closed) return;
    const { client } = this.redis;
    try {
      const renewed = await client.set(this.leaseKey, '1', 'PX', this.leaseMs, 'XX');
      if (renewed === null) await client.set(this.leaseKey, '1', 'PX', this.leaseMs);
      const stale = Date.now() - this.lastAnnounce > USER_KEY_TTL_MS / 2;
      if (renewed === null || stale) await this.announce([...this.held.keys()]);
      for (const key of [...this.leftBehind]) {
        if (this.held.has(key)) this.leftBehind.delete(key);
        else if ((await client.srem(key, this.member)) >= 0) this.leftBehind.delete(key);
      }
    } catch (error) {
      this.onError(error, 'refresh');
    }
  }

  private async announce(keys: string[]): Promise<void> {
    if (keys.length === 0) {
      this.lastAnnounce = Date.now();
      return;
    }
    const pipeline = this.redis.client.pipeline();
    for (const key of keys) {
      if (!this.held.has(key)) continue;
      pipeline.sadd(key, this.member).pexpire(key, USER_KEY_TTL_MS);
    }
    try {
      const results = await pipeline.exec();
      const failed = results?.find(([error]) => error)?.[0];
      if (failed) throw failed;
      if (keys.length === this.held.size) this.lastAnnounce = Date.now();
    } catch (error) {
      this.onError(error, 'announce');
    }
  }

  private write(operation: () => Promise<void>): Promise<void> {
    const next = this.writes.then(operation, operation);
    this.writes = next.catch(() => {});
    return next.catch(() => {});
  }

  private bounded<T>(command: Promise<T>, timeoutMs = this.timeoutMs): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Redis did not answer within ${timeoutMs} ms`)), timeoutMs);
    });
    return Promise.race([command, late]).finally(() => clearTimeout(timer));
  }

  private userKey(tenant: string, userId: string): string {
    return `${this.redis.prefix}:presence:user:{${keyPart(tenant)}:${keyPart(userId)}}`;
  }
}
