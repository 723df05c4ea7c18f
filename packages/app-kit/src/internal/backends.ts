import {
  InMemoryBindingStore,
  InMemoryMissedCallStore,
  InMemoryQueue,
  InMemoryReportStore,
  systemClock,
  type BindingStore,
  type Clock,
  type MissedCallStore,
  type Queue,
  type RateLimiter,
  type ReportStore,
} from '@pushrelay/core';
import { BullMQQueue } from '@pushrelay/queue-bullmq';
import { openPostgresStores, type PostgresDatabase } from '@pushrelay/store-postgres';
import {
  RedisDedupe,
  RedisMissedCallStore,
  RedisPresence,
  RedisRateLimiter,
  redisOptionsFromUrl,
  type PresenceOperation,
} from '@pushrelay/store-redis';
import { openSqliteStores } from '@pushrelay/store-sqlite';
import { ConfigError } from './config-error.js';
import type { EphemeralConfig, QueueConfig, StoreConfig } from './engines.js';

/** The three stores of one engine, and how to give back what they hold. */
export interface StoreHandle {
  bindings: BindingStore;
  reports: ReportStore;
  missedCalls: MissedCallStore;
  /** The PostgreSQL database, for the app's own tables (SIP users); absent for other engines. */
  database?: PostgresDatabase;
  close(): void | Promise<void>;
}

export interface StoreOptions {
  clock?: Clock;
  /** Time to live of a missed call added without one; the store's default otherwise. */
  missedCallTtlMs?: number;
}

/** The stores of an engine that opens at once (memory, SQLite); PostgreSQL needs `openStores`. */
export function openStoresNow(store: StoreConfig, options: StoreOptions = {}): StoreHandle {
  const clock = options.clock ?? systemClock;
  const ttl = options.missedCallTtlMs;
  if (store.engine === 'sqlite') {
    const { bindings, reports, missedCalls, close } = openSqliteStores({
      filename: store.path,
      clock,
      ...(ttl !== undefined ? { missedCallTtlMs: ttl } : {}),
    });
    return { bindings, reports, missedCalls, close };
  }
  if (store.engine === 'postgres')
    throw new ConfigError([
      { path: 'store', message: 'a postgres store opens asynchronously: open it with openStores' },
    ]);
  return {
    bindings: new InMemoryBindingStore({ clock }),
    reports: new InMemoryReportStore(),
    missedCalls: new InMemoryMissedCallStore({ clock, ...(ttl !== undefined ? { defaultTtlMs: ttl } : {}) }),
    close: () => {},
  };
}

/** Opens the configured stores; a PostgreSQL store connects and applies its migrations first. */
export async function openStores(store: StoreConfig, options: StoreOptions = {}): Promise<StoreHandle> {
  if (store.engine !== 'postgres') return openStoresNow(store, options);
  try {
    return await openPostgresStores({
      connection: { connectionString: store.url, max: store.poolSize },
      schema: store.schema,
      clock: options.clock ?? systemClock,
      ...(options.missedCallTtlMs !== undefined ? { missedCallTtlMs: options.missedCallTtlMs } : {}),
    });
  } catch (error) {
    throw new ConfigError([
      { path: 'store.url', message: `cannot open the postgres store: ${(error as Error).message}` },
    ]);
  }
}

export interface QueueOptions {
  clock?: Clock;
  /** BullMQ base name of the lanes; apps sharing a prefix use their own, so none runs another's jobs. */
  name?: string;
  /** The Redis client name (`CLIENT LIST`). */
  connectionName: string;
}

/** The configured delivery queue; the relay closes it. */
export function createQueue(queue: QueueConfig, options: QueueOptions): Queue {
  if (queue.engine !== 'bullmq') return new InMemoryQueue(options.clock ? { clock: options.clock } : {});
  return new BullMQQueue({
    connection: redisOptionsFromUrl(queue.redis, options.connectionName),
    prefix: queue.prefix,
    ...(options.name ? { name: options.name } : {}),
    concurrency: queue.concurrency,
    lockDurationMs: queue.lockDurationMs,
    stalledIntervalMs: queue.stalledIntervalMs,
    scheduleTimeoutMs: queue.scheduleTimeoutMs,
    closeGraceMs: queue.closeGraceMs,
  });
}

/** Short-lived state shared by the processes through Redis; empty with the memory engine. */
export interface EphemeralHandle {
  missedCalls?: MissedCallStore;
  claims?: RedisDedupe;
  /** Token buckets shared by the processes, when a connection name for them was given. */
  rateLimiter?: RateLimiter;
  /** Who is connected to which process, and the hand-over between them, when a connection name for it was given. */
  presence?: RedisPresence;
  close(): Promise<void>;
}

export interface EphemeralOptions {
  missedCallTtlMs?: number;
  /** Redis client names of the missed-call store and, when wanted, of the replay keys, buckets and presence. */
  connectionNames: { missedCalls: string; claims?: string; rateLimits?: string; presence?: string };
  /** Told of each Redis failure of the presence, which goes on as `RedisPresence` describes. */
  onPresenceError?: (error: unknown, operation: PresenceOperation) => void;
}

export function openEphemeral(ephemeral: EphemeralConfig, options: EphemeralOptions): EphemeralHandle {
  if (ephemeral.engine !== 'redis') return { close: async () => {} };
  const { redis, prefix } = ephemeral;
  const names = options.connectionNames;
  const missedCalls = new RedisMissedCallStore({
    connection: redisOptionsFromUrl(redis, names.missedCalls),
    prefix,
    ...(options.missedCallTtlMs !== undefined ? { defaultTtlMs: options.missedCallTtlMs } : {}),
  });
  const claims = names.claims
    ? new RedisDedupe({ connection: redisOptionsFromUrl(redis, names.claims), prefix })
    : undefined;
  const rateLimiter = names.rateLimits
    ? new RedisRateLimiter({ connection: redisOptionsFromUrl(redis, names.rateLimits), prefix })
    : undefined;
  const presence = names.presence
    ? new RedisPresence({
        connection: redisOptionsFromUrl(redis, names.presence),
        prefix,
        ...(options.onPresenceError ? { onError: options.onPresenceError } : {}),
      })
    : undefined;
  return {
    missedCalls,
    ...(claims ? { claims } : {}),
    ...(rateLimiter ? { rateLimiter } : {}),
    ...(presence ? { presence } : {}),
    close: async () => {
      await Promise.allSettled([missedCalls.close(), claims?.close(), rateLimiter?.close(), presence?.close()]);
    },
  };
}
