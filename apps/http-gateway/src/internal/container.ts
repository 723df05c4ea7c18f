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
import { openSqliteStores } from '@pushrelay/store-sqlite';
import { container as rootContainer, type DependencyContainer } from 'tsyringe';
import { TenantDirectory } from './auth.js';
import { ConfigError, type GatewayConfig } from './config.js';
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
  webhookVerifiers?: Record<string, WebhookVerifier>;
}

export interface StoreHandle {
  bindings: BindingStore;
  reports: ReportStore;
  missedCalls: MissedCallStore;
  close(): void;
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
      const clock = dc.resolve<Clock>(TOKENS.clock);
      if (config.store.kind === 'sqlite') return openSqliteStores({ filename: config.store.path, clock });
      return {
        bindings: new InMemoryBindingStore({ clock }),
        reports: new InMemoryReportStore(),
        missedCalls: new InMemoryMissedCallStore({ clock }),
        close: () => {},
      };
    }),
  });
  c.register(TOKENS.bindings, { useFactory: (dc) => dc.resolve<StoreHandle>(TOKENS.storeHandle).bindings });
  c.register(TOKENS.reports, { useFactory: (dc) => dc.resolve<StoreHandle>(TOKENS.storeHandle).reports });
  c.register(TOKENS.missedCalls, { useFactory: (dc) => dc.resolve<StoreHandle>(TOKENS.storeHandle).missedCalls });
  c.register(TOKENS.queue, {
    useValue: overrides.queue ?? new InMemoryQueue({ ...(overrides.clock ? { clock: overrides.clock } : {}) }),
  });
  c.register(TOKENS.presence, { useValue: new InMemoryPresence() });
  c.register(TOKENS.sockets, { useFactory: once((dc) => new SocketHub(dc.resolve<InMemoryPresence>(TOKENS.presence))) });
  c.register(TOKENS.codecs, { useFactory: once(() => overrides.codecs ?? createCodecs(config.codecs)) });
  c.register(TOKENS.transports, {
    useFactory: once(() => {
      if (overrides.transports) return overrides.transports;
      try {
        return createTransports(config.providers);
      } catch (error) {
        if (error instanceof TransportError) {
          throw new ConfigError([{ path: `providers.${error.transport}${error.field ? `.${error.field}` : ''}`, message: error.message }]);
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
    useFactory: once((dc) => new ReplayGuard(dc.resolve<Clock>(TOKENS.clock), config.webhookWindowMs)),
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
