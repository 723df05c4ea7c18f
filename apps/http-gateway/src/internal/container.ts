import 'reflect-metadata';
import {
  createLogger,
  createQueue,
  openEphemeral,
  openStores as openEngineStores,
  openStoresNow,
} from '@pushrelay/app-kit';
import {
  registerRelay,
  singleton,
  value,
  type CodecCatalog,
  type EphemeralOptions,
  type StoreHandle,
} from '@pushrelay/app-kit';
import {
  ConfigurationError,
  InMemoryPresence,
  InMemoryRateLimiter,
  PushRelayError,
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
import { createTransports, type GatewayBackends } from './registry.js';
import { SocketHub } from './sockets.js';
import { missedCallTtlMs, relayAdmission, retentionSweeper, tenantRates } from './policies.js';
import { TOKENS } from './tokens.js';
import { ReplayGuard, type WebhookVerifier } from './webhooks.js';

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
  /**
   * The engine and transport packages the configuration uses (`loadBackends(config)`), required
   * unless every engine is `memory` and no provider has options: they are imported
   * asynchronously, so `createGateway` loads them before composing.
   */
  backends?: GatewayBackends;
  queue?: Queue;
  /** Opened stores; required for a postgres store (it opens asynchronously: see `openStores`). */
  stores?: StoreHandle;
  /** Per codec id, over the default `X-Pushrelay-Signature` check of every vendor door. */
  webhookVerifiers?: Record<string, WebhookVerifier>;
  /** The logger of every service and of the server. Default: none (silent). */
  log?: FastifyBaseLogger;
}

export type { StoreHandle };

/** Opens the configured store; a postgres store connects and applies its migrations first. */
export function openStores(config: GatewayConfig, clock: Clock = systemClock): Promise<StoreHandle> {
  return openEngineStores(engineStore(config.store), { clock, missedCallTtlMs: missedCallTtlMs(config) });
}

function ephemeralConnectionNames(config: GatewayConfig): EphemeralOptions['connectionNames'] {
  const prefix = config.ephemeral.engine === 'redis' ? config.ephemeral.prefix : 'pushrelay';
  return {
    missedCalls: `${prefix}:missed-calls`,
    claims: `${prefix}:dedupe`,
    rateLimits: `${prefix}:rate-limits`,
    presence: `${prefix}:presence`,
  };
}

/**
 * The composition root: the app kit's relay services and the gateway's own under typed
 * `pushrelay.*` tokens, each built once on first use unless an override is given. A child
 * container per gateway, so several gateways (tests) never share state.
 */
export function buildContainer(config: GatewayConfig, overrides: GatewayOverrides = {}): DependencyContainer {
  const c = rootContainer.createChildContainer();
  const ttl = missedCallTtlMs(config);
  const engines = overrides.backends?.engines;
  registerRelay(c, {
    clock: overrides.clock ?? systemClock,
    admission: relayAdmission(config.admission, config.queue),
    stores: (get) => {
      if (overrides.stores) return overrides.stores;
      if (config.store.kind === 'postgres')
        throw new ConfigError([
          { path: 'store', message: 'a postgres store must be opened first (openStores) and passed as `stores`' },
        ]);
      return openStoresNow(engineStore(config.store), {
        clock: get(TOKENS.clock),
        missedCallTtlMs: ttl,
        ...(engines ? { engines } : {}),
      });
    },
    missedCalls: (get) => get(TOKENS.ephemeral).missedCalls,
    queue: (get) =>
      overrides.queue ??
      createQueue(config.queue, {
        clock: get(TOKENS.clock),
        connectionName: `${config.queue.engine === 'bullmq' ? config.queue.prefix : 'pushrelay'}:gateway`,
        ...(engines ? { engines } : {}),
      }),
    codecs: (get) => overrides.codecs ?? get(TOKENS.codecCatalog).create(config.codecs),
    transports: () => overrides.transports ?? createTransports(config.providers, overrides.backends?.transports ?? {}),
    presence: (get) => get(TOKENS.presence),
    rateLimit: (get) =>
      tenantRates(
        config.tenants,
        get(TOKENS.ephemeral).rateLimiter ?? new InMemoryRateLimiter({ clock: get(TOKENS.clock) }),
      ),
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
  singleton(c, TOKENS.presence, (get) => get(TOKENS.ephemeral).presence ?? new InMemoryPresence());
  value(c, TOKENS.webhookVerifiers, { ...overrides.webhookVerifiers });
  singleton(c, TOKENS.ephemeral, (get) =>
    openEphemeral(config.ephemeral, {
      missedCallTtlMs: ttl,
      connectionNames: ephemeralConnectionNames(config),
      ...(engines ? { engines } : {}),
      // Called after composition, from Redis's answers: the metrics exist by then.
      onPresenceError: (error, operation) => {
        get(TOKENS.metrics).presenceFailures.inc({ operation });
        get(TOKENS.logger).warn({ err: error, operation }, 'presence: Redis failed; users may get pushes meanwhile');
      },
    }),
  );
  singleton(c, TOKENS.sockets, (get) => new SocketHub(get(TOKENS.presence), get(TOKENS.ephemeral).presence));
  singleton(c, TOKENS.metrics, (get) => {
    const hub = get(TOKENS.sockets);
    const metrics = new GatewayMetrics(get(TOKENS.queue), () => hub.size);
    metrics.observe(get(TOKENS.relay));
    return metrics;
  });
  singleton(c, TOKENS.retention, (get) =>
    retentionSweeper(config.retention, {
      reports: get(TOKENS.reports),
      missedCalls: get(TOKENS.missedCalls),
      clock: get(TOKENS.clock),
      metrics: get(TOKENS.metrics),
      log: get(TOKENS.logger),
    }),
  );
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
