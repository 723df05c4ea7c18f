import 'reflect-metadata';
import {
  ConfigurationError,
  InMemoryBindingStore,
  InMemoryMissedCallStore,
  InMemoryPresence,
  InMemoryQueue,
  InMemoryReportStore,
  PushRelayError,
  Relay,
  RetentionSweeper,
  TransportError,
  systemClock,
  type BindingStore,
  type Clock,
  type Codec,
  type MissedCallStore,
  type Provider,
  type Queue,
  type ReportStore,
  type Transport,
} from '@pushrelay/core';
import { BullMQQueue } from '@pushrelay/queue-bullmq';
import {
  PostgresBindingStore,
  PostgresDatabase,
  PostgresMissedCallStore,
  PostgresReportStore,
} from '@pushrelay/store-postgres';
import { RedisDedupe, RedisMissedCallStore, redisOptionsFromUrl } from '@pushrelay/store-redis';
import { openSqliteStores } from '@pushrelay/store-sqlite';
import type { FastifyBaseLogger } from 'fastify';
import { container as rootContainer, type DependencyContainer } from 'tsyringe';
import { TenantDirectory } from './auth.js';
import { ConfigError, type GatewayConfig } from './config.js';
import { GatewayMetrics } from './metrics.js';
import { createCodecs, createTransports } from './registry.js';
import { SocketHub } from './sockets.js';
import { TOKENS } from './tokens.js';
import { ReplayGuard, hmacTimestampVerifier, type SharedClaims, type WebhookVerifier } from './webhooks.js';

/** Replacements for what the configuration would build: tests and the demo wire simulators here. */
export interface GatewayOverrides {
  clock?: Clock;
  transports?: Partial<Record<Provider, Transport>>;
  codecs?: Codec[];
  queue?: Queue;
  /** Opened stores; required for a postgres store (it opens asynchronously: see `openStores`). */
  stores?: StoreHandle;
  webhookVerifiers?: Record<string, WebhookVerifier>;
}

export interface StoreHandle {
  bindings: BindingStore;
  reports: ReportStore;
  missedCalls: MissedCallStore;
  close(): void | Promise<void>;
}

/** Short-lived state shared by the processes (or held in this one). */
export interface EphemeralHandle {
  missedCalls?: MissedCallStore;
  claims?: SharedClaims;
  close(): Promise<void>;
}

const DAY_MS = 24 * 3600 * 1000;

/** A missed call is kept as long as a delivery report. */
export function missedCallTtlMs(config: GatewayConfig): number {
  return config.retention.reportsDays * DAY_MS;
}

/** Opens the configured store; a postgres store connects and applies its migrations first. */
export async function openStores(config: GatewayConfig, clock: Clock = systemClock): Promise<StoreHandle> {
  const store = config.store;
  const ttl = missedCallTtlMs(config);
  if (store.kind === 'postgres') {
    let db: PostgresDatabase;
    try {
      db = await PostgresDatabase.open({
        connection: { connectionString: store.url, max: store.poolSize },
        schema: store.schema,
        clock,
      });
    } catch (error) {
      throw new ConfigError([
        { path: 'store.url', message: `cannot open the postgres store: ${(error as Error).message}` },
      ]);
    }
    return {
      bindings: new PostgresBindingStore(db),
      reports: new PostgresReportStore(db),
      missedCalls: new PostgresMissedCallStore(db, { defaultTtlMs: ttl }),
      close: () => db.close(),
    };
  }
  if (store.kind === 'sqlite') return openSqliteStores({ filename: store.path, clock, missedCallTtlMs: ttl });
  return memoryStores(config, clock);
}

function memoryStores(config: GatewayConfig, clock: Clock): StoreHandle {
  return {
    bindings: new InMemoryBindingStore({ clock }),
    reports: new InMemoryReportStore(),
    missedCalls: new InMemoryMissedCallStore({ clock, defaultTtlMs: missedCallTtlMs(config) }),
    close: () => {},
  };
}

function buildQueue(config: GatewayConfig, overrides: GatewayOverrides): Queue {
  if (overrides.queue) return overrides.queue;
  const q = config.queue;
  if (q.engine === 'bullmq') {
    return new BullMQQueue({
      connection: redisOptionsFromUrl(q.redis, `${q.prefix}:gateway`),
      prefix: q.prefix,
      concurrency: q.concurrency,
      lockDurationMs: q.lockDurationMs,
      stalledIntervalMs: q.stalledIntervalMs,
      scheduleTimeoutMs: q.scheduleTimeoutMs,
      closeGraceMs: q.closeGraceMs,
    });
  }
  return new InMemoryQueue({ ...(overrides.clock ? { clock: overrides.clock } : {}) });
}

function buildEphemeral(config: GatewayConfig): EphemeralHandle {
  const e = config.ephemeral;
  if (e.engine !== 'redis') return { close: async () => {} };
  const missedCalls = new RedisMissedCallStore({
    connection: redisOptionsFromUrl(e.redis, `${e.prefix}:missed-calls`),
    prefix: e.prefix,
    defaultTtlMs: missedCallTtlMs(config),
  });
  const claims = new RedisDedupe({ connection: redisOptionsFromUrl(e.redis, `${e.prefix}:dedupe`), prefix: e.prefix });
  return {
    missedCalls,
    claims,
    close: async () => {
      await Promise.allSettled([missedCalls.close(), claims.close()]);
    },
  };
}

/**
 * The composition root: every service under a `pushrelay.*` token, built lazily from the
 * configuration unless an override is given. A child container per gateway, so several
 * gateways (tests) never share state.
 */
export function buildContainer(config: GatewayConfig, overrides: GatewayOverrides = {}): DependencyContainer {
  const c = rootContainer.createChildContainer();
  const once = <T>(make: (c: DependencyContainer) => T) => {
    let value: T | undefined;
    let made = false;
    return (dc: DependencyContainer): T => {
      if (!made) {
        value = make(dc);
        made = true;
      }
      return value as T;
    };
  };

  c.register(TOKENS.config, { useValue: config });
  c.register(TOKENS.clock, { useValue: overrides.clock ?? systemClock });
  c.register(TOKENS.tenants, { useValue: new TenantDirectory(config.tenants) });
  c.register(TOKENS.storeHandle, {
    useFactory: once((dc): StoreHandle => {
      if (overrides.stores) return overrides.stores;
      const clock = dc.resolve<Clock>(TOKENS.clock);
      if (config.store.kind === 'sqlite') {
        return openSqliteStores({ filename: config.store.path, clock, missedCallTtlMs: missedCallTtlMs(config) });
      }
      if (config.store.kind === 'postgres') {
        throw new ConfigError([
          { path: 'store', message: 'a postgres store must be opened first (openStores) and passed as `stores`' },
        ]);
      }
      return memoryStores(config, clock);
    }),
  });
  c.register(TOKENS.ephemeral, { useFactory: once(() => buildEphemeral(config)) });
  c.register(TOKENS.bindings, { useFactory: (dc) => dc.resolve<StoreHandle>(TOKENS.storeHandle).bindings });
  c.register(TOKENS.reports, { useFactory: (dc) => dc.resolve<StoreHandle>(TOKENS.storeHandle).reports });
  c.register(TOKENS.missedCalls, {
    useFactory: (dc) =>
      dc.resolve<EphemeralHandle>(TOKENS.ephemeral).missedCalls ??
      dc.resolve<StoreHandle>(TOKENS.storeHandle).missedCalls,
  });
  c.register(TOKENS.queue, { useFactory: once(() => buildQueue(config, overrides)) });
  c.register(TOKENS.presence, { useValue: new InMemoryPresence() });
  c.register(TOKENS.sockets, {
    useFactory: once((dc) => new SocketHub(dc.resolve<InMemoryPresence>(TOKENS.presence))),
  });
  c.register(TOKENS.codecs, { useFactory: once(() => overrides.codecs ?? createCodecs(config.codecs)) });
  c.register(TOKENS.transports, {
    useFactory: once(() => {
      if (overrides.transports) return overrides.transports;
      try {
        return createTransports(config.providers);
      } catch (error) {
        if (error instanceof TransportError) {
          throw new ConfigError([
            { path: `providers.${error.transport}${error.field ? `.${error.field}` : ''}`, message: error.message },
          ]);
        }
        throw error;
      }
    }),
  });
  c.register(TOKENS.relay, {
    useFactory: once(
      (dc) =>
        new Relay({
          bindings: dc.resolve(TOKENS.bindings),
          reports: dc.resolve(TOKENS.reports),
          queue: dc.resolve(TOKENS.queue),
          codecs: dc.resolve(TOKENS.codecs),
          transports: dc.resolve(TOKENS.transports),
          presence: dc.resolve(TOKENS.presence),
          clock: dc.resolve(TOKENS.clock),
        }),
    ),
  });
  c.register(TOKENS.retention, {
    useFactory: once((dc) => {
      const log = dc.isRegistered(TOKENS.logger, true) ? dc.resolve<FastifyBaseLogger>(TOKENS.logger) : undefined;
      const metrics = dc.resolve<GatewayMetrics>(TOKENS.metrics);
      return new RetentionSweeper({
        reports: dc.resolve(TOKENS.reports),
        missedCalls: dc.resolve(TOKENS.missedCalls),
        retentionMs: config.retention.reportsDays * DAY_MS,
        intervalMs: config.retention.sweepIntervalMs,
        batchSize: config.retention.batchSize,
        clock: dc.resolve(TOKENS.clock),
        onPurged: (purged) => {
          metrics.purged.inc({ what: 'reports' }, purged.reports);
          metrics.purged.inc({ what: 'missed_calls' }, purged.missedCalls);
          log?.info(purged, 'retention: expired reports and missed calls deleted');
        },
        onError: (error, target) => log?.warn({ err: error, target }, 'retention sweep failed; it runs again later'),
      });
    }),
  });
  c.register(TOKENS.metrics, {
    useFactory: once((dc) => {
      const hub = dc.resolve<SocketHub>(TOKENS.sockets);
      const metrics = new GatewayMetrics(dc.resolve(TOKENS.queue), () => hub.size);
      metrics.observe(dc.resolve(TOKENS.relay));
      return metrics;
    }),
  });
  c.register(TOKENS.webhookVerifiers, {
    useValue: { kaleyra: hmacTimestampVerifier(), ...overrides.webhookVerifiers },
  });
  c.register(TOKENS.replayGuard, {
    useFactory: once(
      (dc) =>
        new ReplayGuard(
          dc.resolve<Clock>(TOKENS.clock),
          config.webhookWindowMs,
          100_000,
          dc.resolve<EphemeralHandle>(TOKENS.ephemeral).claims,
        ),
    ),
  });
  return c;
}

/** Turns what building the services threw into a ConfigError when it is about configuration. */
export function asConfigError(error: unknown): unknown {
  if (error instanceof ConfigError) return error;
  if (error instanceof ConfigurationError || error instanceof PushRelayError) {
    return new ConfigError([{ path: '', message: error.message }]);
  }
  return error;
}
