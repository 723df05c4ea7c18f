import 'reflect-metadata';
import {
  createLogger,
  createQueue,
  openEphemeral,
  openStores as openEngineStores,
  openStoresNow,
} from '@pushrelay/app-kit';
import { registerRelay, singleton, value, type CodecCatalog, type StoreHandle } from '@pushrelay/app-kit';
import {
  ConfigurationError,
  InMemoryPresence,
  InMemoryRateLimiter,
  PushRelayError,
  RetentionSweeper,
  systemClock,
  type Clock,
  type Codec,
  type Provider,
  type Queue,
  type Transport,
} from '@pushrelay/core';
import type { FastifyBaseLogger } from 'fastify';
import { container as rootContainer, type DependencyContainer } from 'tsyringe';
import { TenantDirectory } from './auth.js';
import { ConfigError, engineStore, type GatewayConfig } from './config.js';
import { GatewayMetrics } from './metrics.js';
import { createTransports } from './registry.js';
import { SocketHub } from './sockets.js';
import { TOKENS } from './tokens.js';
import { ReplayGuard, hmacTimestampVerifier, type WebhookVerifier } from './webhooks.js';

/** Replacements for what the configuration would build: tests and the demo wire simulators here. */
export interface GatewayOverrides {
  clock?: Clock;
  transports?: Partial<Record<Provider, Transport>>;
  codecs?: Codec[];
  /**
   * The installed codec packages (`loadCodecs()`), required: they are imported asynchronously,
   * so `createGateway` loads them before composing.
   */
  catalog?: CodecCatalog;
  queue?: Queue;
  /** Opened stores; required for a postgres store (it opens asynchronously: see `openStores`). */
  stores?: StoreHandle;
  webhookVerifiers?: Record<string, WebhookVerifier>;
  /** The logger of every service and of the server. Default: none (silent). */
  log?: FastifyBaseLogger;
}

export type { StoreHandle };

const DAY_MS = 24 * 3600 * 1000;

/** A missed call is kept as long as a delivery report. */
export function missedCallTtlMs(config: GatewayConfig): number {
  return config.retention.reportsDays * DAY_MS;
}

/** Opens the configured store; a postgres store connects and applies its migrations first. */
export function openStores(config: GatewayConfig, clock: Clock = systemClock): Promise<StoreHandle> {
  return openEngineStores(engineStore(config.store), { clock, missedCallTtlMs: missedCallTtlMs(config) });
}

function ephemeralConnectionNames(config: GatewayConfig): { missedCalls: string; claims: string; rateLimits: string } {
  const prefix = config.ephemeral.engine === 'redis' ? config.ephemeral.prefix : 'pushrelay';
  return { missedCalls: `${prefix}:missed-calls`, claims: `${prefix}:dedupe`, rateLimits: `${prefix}:rate-limits` };
}

/**
 * The composition root: the app kit's relay services and the gateway's own under typed
 * `pushrelay.*` tokens, each built once on first use unless an override is given. A child
 * container per gateway, so several gateways (tests) never share state.
 */
export function buildContainer(config: GatewayConfig, overrides: GatewayOverrides = {}): DependencyContainer {
  const c = rootContainer.createChildContainer();
  const ttl = missedCallTtlMs(config);
  const { admission } = config;
  registerRelay(c, {
    clock: overrides.clock ?? systemClock,
    admission: {
      maxPendingJobs: admission.maxPendingJobs,
      callReservePercent: admission.callReservePercent,
      maxRssBytes: admission.maxRssMb * 1048576,
      retryAfterMs: admission.retryAfterSeconds * 1000,
    },
    stores: (get) => {
      if (overrides.stores) return overrides.stores;
      if (config.store.kind === 'postgres')
        throw new ConfigError([
          { path: 'store', message: 'a postgres store must be opened first (openStores) and passed as `stores`' },
        ]);
      return openStoresNow(engineStore(config.store), { clock: get(TOKENS.clock), missedCallTtlMs: ttl });
    },
    missedCalls: (get) => get(TOKENS.ephemeral).missedCalls,
    queue: (get) =>
      overrides.queue ??
      createQueue(config.queue, {
        clock: get(TOKENS.clock),
        connectionName: `${config.queue.engine === 'bullmq' ? config.queue.prefix : 'pushrelay'}:gateway`,
      }),
    codecs: (get) => overrides.codecs ?? get(TOKENS.codecCatalog).create(config.codecs),
    transports: () => overrides.transports ?? createTransports(config.providers),
    presence: (get) => get(TOKENS.presence),
    rateLimit: (get) => {
      const limits = new Map(config.tenants.map((t) => [t.id, t.rateLimit]));
      return {
        limiter: get(TOKENS.ephemeral).rateLimiter ?? new InMemoryRateLimiter({ clock: get(TOKENS.clock) }),
        limitFor: (tenant) => {
          const limit = limits.get(tenant);
          if (!limit || limit.notificationsPerSecond === 0) return undefined;
          return { perSecond: limit.notificationsPerSecond, burst: limit.burst };
        },
      };
    },
  });
  value(c, TOKENS.config, config);
  singleton(c, TOKENS.codecCatalog, () => {
    if (overrides.catalog) return overrides.catalog;
    throw new ConfigError([
      {
        path: 'codecs',
        message: 'the codec packages load asynchronously: load them first (loadCodecs) and pass `catalog`',
      },
    ]);
  });
  value(c, TOKENS.logger, overrides.log ?? createLogger('silent', 'http-gateway'));
  value(c, TOKENS.tenants, new TenantDirectory(config.tenants));
  value(c, TOKENS.presence, new InMemoryPresence());
  value(c, TOKENS.webhookVerifiers, { kaleyra: hmacTimestampVerifier(), ...overrides.webhookVerifiers });
  singleton(c, TOKENS.ephemeral, () =>
    openEphemeral(config.ephemeral, { missedCallTtlMs: ttl, connectionNames: ephemeralConnectionNames(config) }),
  );
  singleton(c, TOKENS.sockets, (get) => new SocketHub(get(TOKENS.presence)));
  singleton(c, TOKENS.metrics, (get) => {
    const hub = get(TOKENS.sockets);
    const metrics = new GatewayMetrics(get(TOKENS.queue), () => hub.size);
    metrics.observe(get(TOKENS.relay));
    return metrics;
  });
  singleton(c, TOKENS.retention, (get) => {
    const metrics = get(TOKENS.metrics);
    const log = get(TOKENS.logger);
    return new RetentionSweeper({
      reports: get(TOKENS.reports),
      missedCalls: get(TOKENS.missedCalls),
      retentionMs: config.retention.reportsDays * DAY_MS,
      intervalMs: config.retention.sweepIntervalMs,
      batchSize: config.retention.batchSize,
      clock: get(TOKENS.clock),
      onPurged: (purged) => {
        metrics.purged.inc({ what: 'reports' }, purged.reports);
        metrics.purged.inc({ what: 'missed_calls' }, purged.missedCalls);
        log.info(purged, 'retention: expired reports and missed calls deleted');
      },
      onError: (error, target) => log.warn({ err: error, target }, 'retention sweep failed; it runs again later'),
    });
  });
  singleton(
    c,
    TOKENS.replayGuard,
    (get) => new ReplayGuard(get(TOKENS.clock), config.webhookWindowMs, 100_000, get(TOKENS.ephemeral).claims),
  );
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
