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
import type * as BullMQEngine from '@pushrelay/queue-bullmq';
import type * as PostgresEngine from '@pushrelay/store-postgres';
import type { PostgresDatabase } from '@pushrelay/store-postgres';
import type * as RedisEngine from '@pushrelay/store-redis';
import { redisOptionsFromUrl } from '@pushrelay/store-redis/url';
import type * as SqliteEngine from '@pushrelay/store-sqlite';
import { ConfigError } from './config-error.js';
import type { EphemeralConfig, QueueConfig, StoreConfig } from './engines.js';

/**
 * The engine packages a configuration uses, imported by `loadEngines`. The openers below build
 * from it synchronously, so a composition root can build its services on first use; an engine
 * the configuration does not name is never imported (ioredis, bullmq, pg or better-sqlite3 alone
 * hold megabytes).
 */
export interface EngineModules {
  sqlite?: typeof SqliteEngine;
  postgres?: typeof PostgresEngine;
  bullmq?: typeof BullMQEngine;
  redis?: typeof RedisEngine;
}

/** The engine sections whose packages `loadEngines` imports; an absent one needs nothing. */
export interface EngineConfigs {
  store?: StoreConfig;
  queue?: QueueConfig;
  ephemeral?: EphemeralConfig;
}

/** Imports the packages of the engines the sections name, and only those. */
export async function loadEngines(sections: EngineConfigs): Promise<EngineModules> {
  const [sqlite, postgres, bullmq, redis] = await Promise.all([
    sections.store?.engine === 'sqlite' ? import('@pushrelay/store-sqlite') : undefined,
    sections.store?.engine === 'postgres' ? import('@pushrelay/store-postgres') : undefined,
    sections.queue?.engine === 'bullmq' ? import('@pushrelay/queue-bullmq') : undefined,
    sections.ephemeral?.engine === 'redis' ? import('@pushrelay/store-redis') : undefined,
  ]);
  return {
    ...(sqlite ? { sqlite } : {}),
    ...(postgres ? { postgres } : {}),
    ...(bullmq ? { bullmq } : {}),
    ...(redis ? { redis } : {}),
  };
}

function engine<K extends keyof EngineModules>(
  engines: EngineModules | undefined,
  name: K,
  path: string,
): NonNullable<EngineModules[K]> {
  const module = engines?.[name];
  if (!module)
    throw new ConfigError([
      {
        path,
        message: `the ${name} engine is imported asynchronously: load it first (loadEngines) and pass \`engines\``,
      },
    ]);
  return module;
}

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
  /** The loaded engines (`loadEngines`): a SQLite store needs its package here. */
  engines?: EngineModules;
}

/** The stores of an engine that opens at once (memory, SQLite); PostgreSQL needs `openStores`. */
export function openStoresNow(store: StoreConfig, options: StoreOptions = {}): StoreHandle {
  const clock = options.clock ?? systemClock;
  const ttl = options.missedCallTtlMs;
  if (store.engine === 'sqlite') {
    const { openSqliteStores } = engine(options.engines, 'sqlite', 'store');
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
  const engines = { ...(await loadEngines({ store })), ...options.engines };
  if (store.engine !== 'postgres') return openStoresNow(store, { ...options, engines });
  const { openPostgresStores } = engine(engines, 'postgres', 'store');
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
  /** The loaded engines (`loadEngines`): a BullMQ queue needs its package here. */
  engines?: EngineModules;
}

/** The configured delivery queue; the relay closes it. */
export function createQueue(queue: QueueConfig, options: QueueOptions): Queue {
  if (queue.engine !== 'bullmq') return new InMemoryQueue(options.clock ? { clock: options.clock } : {});
  const { BullMQQueue } = engine(options.engines, 'bullmq', 'queue');
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
  claims?: RedisEngine.RedisDedupe;
  /** Token buckets shared by the processes, when a connection name for them was given. */
  rateLimiter?: RateLimiter;
  /** Who is connected to which process, and the hand-over between them, when a connection name for it was given. */
  presence?: RedisEngine.RedisPresence;
  close(): Promise<void>;
}

export interface EphemeralOptions {
  missedCallTtlMs?: number;
  /** Redis client names of the missed-call store and, when wanted, of the replay keys, buckets and presence. */
  connectionNames: { missedCalls: string; claims?: string; rateLimits?: string; presence?: string };
  /** Told of each Redis failure of the presence, which goes on as `RedisPresence` describes. */
  onPresenceError?: (error: unknown, operation: RedisEngine.PresenceOperation) => void;
  /** The loaded engines (`loadEngines`): Redis needs its package here. */
  engines?: EngineModules;
}

export function openEphemeral(ephemeral: EphemeralConfig, options: EphemeralOptions): EphemeralHandle {
  if (ephemeral.engine !== 'redis') return { close: async () => {} };
  const { RedisDedupe, RedisMissedCallStore, RedisPresence, RedisRateLimiter } = engine(
    options.engines,
    'redis',
    'ephemeral',
  );
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
