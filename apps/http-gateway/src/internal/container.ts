import 'reflect-metadata';
import {
  createQueue,
  openEphemeral,
  openStores as openEngineStores,
  openStoresNow,
  type EphemeralHandle,
  type StoreHandle,
} from '@pushrelay/app-kit';
import {
  ConfigurationError,
  InMemoryPresence,
  PushRelayError,
  Relay,
  RetentionSweeper,
  TransportError,
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
import { createCodecs, createTransports } from './registry.js';
import { SocketHub } from './sockets.js';
import { TOKENS } from './tokens.js';
import { ReplayGuard, hmacTimestampVerifier, type WebhookVerifier } from './webhooks.js';

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

export type { EphemeralHandle, StoreHandle };

const DAY_MS = 24 * 3600 * 1000;

/** A missed call is kept as long as a delivery report. */
export function missedCallTtlMs(config: GatewayConfig): number {
  return config.retention.reportsDays * DAY_MS;
}

/** Opens the configured store; a postgres store connects and applies its migrations first. */
export function openStores(config: GatewayConfig, clock: Clock = systemClock): Promise<StoreHandle> {
  return openEngineStores(engineStore(config.store), { clock, missedCallTtlMs: missedCallTtlMs(config) });
}

function ephemeralConnectionNames(config: GatewayConfig): { missedCalls: string; claims: string } {
  const prefix = config.ephemeral.engine === 'redis' ? config.ephemeral.prefix : 'pushrelay';
  return { missedCalls: `${prefix}:missed-calls`, claims: `${prefix}:dedupe` };
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
      if (config.store.kind === 'postgres') {
        throw new ConfigError([
          { path: 'store', message: 'a postgres store must be opened first (openStores) and passed as `stores`' },
        ]);
      }
      const clock = dc.resolve<Clock>(TOKENS.clock);
      return openStoresNow(engineStore(config.store), { clock, missedCallTtlMs: missedCallTtlMs(config) });
    }),
  });
  c.register(TOKENS.ephemeral, {
    useFactory: once(() =>
      openEphemeral(config.ephemeral, {
        missedCallTtlMs: missedCallTtlMs(config),
        connectionNames: ephemeralConnectionNames(config),
      }),
    ),
  });
  c.register(TOKENS.bindings, { useFactory: (dc) => dc.resolve<StoreHandle>(TOKENS.storeHandle).bindings });
  c.register(TOKENS.reports, { useFactory: (dc) => dc.resolve<StoreHandle>(TOKENS.storeHandle).reports });
  c.register(TOKENS.missedCalls, {
    useFactory: (dc) =>
      dc.resolve<EphemeralHandle>(TOKENS.ephemeral).missedCalls ??
      dc.resolve<StoreHandle>(TOKENS.storeHandle).missedCalls,
  });
  c.register(TOKENS.queue, {
    useFactory: once(
      () =>
        overrides.queue ??
        createQueue(config.queue, {
          ...(overrides.clock ? { clock: overrides.clock } : {}),
          connectionName: `${config.queue.engine === 'bullmq' ? config.queue.prefix : 'pushrelay'}:gateway`,
        }),
    ),
  });
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
