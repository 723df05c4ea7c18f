import { ConfigError, createQueue, openEphemeral, openStoresNow, registerRelay } from '@pushrelay/app-kit';
import { singleton, value, type EngineModules, type Get, type StoreHandle } from '@pushrelay/app-kit';
import type { TransportFactories } from '@pushrelay/app-kit';
import { systemClock, type Codec } from '@pushrelay/core';
import { container as rootContainer, type DependencyContainer } from 'tsyringe';
import type { BridgeOptions } from './bridge.js';
import { CallReportStore } from './call-reports.js';
import type { BridgeConfig } from './config.js';
import { LocationService } from './locations.js';
import { createLogger } from './logger.js';
import { Metrics } from './metrics.js';
import { SipPort } from './sip-port.js';
import { registerSipServices } from './sip-services.js';
import { TOKENS } from './tokens.js';
import { transportsFromConfig } from './transports.js';
import type { ResolvedTrunk } from './trunk.js';
import { ConfigUserDirectory, PostgresUserDirectory } from './users.js';

export { TOKENS } from './tokens.js';

/**
 * The packages of the engines, transports and location replication the config uses, imported
 * before composing so that what it does not use is never loaded (ioredis, bullmq, pg, web-push).
 */
export interface BridgeBackends {
  engines: EngineModules;
  transports: TransportFactories;
  replication?: typeof import('./replication.js');
}

/**
 * What is ready before composing: the installed codecs (imported asynchronously, `loadCodecs`),
 * the backends' packages, and for startBridge the opened postgres stores and the trunk's address.
 */
export interface Prepared {
  codecs: readonly Codec[];
  backends: BridgeBackends;
  stores?: StoreHandle;
  trunk?: ResolvedTrunk;
}

/** The object graph over a validated config; nothing is started and nothing is registered later. */
export function compose(config: BridgeConfig, options: BridgeOptions, prepared: Prepared): DependencyContainer {
  const c = rootContainer.createChildContainer();
  const clock = options.clock ?? systemClock;
  const { store, queue, ephemeral } = config;
  const { engines } = prepared.backends;
  const transports = { ...transportsFromConfig(config, prepared.backends.transports), ...options.transports };
  // In memory, a report per call would stay for the retention period: the bridge keeps its
  // reports only while their pushes run (see CallReportStore).
  const reports =
    options.reports ?? (store.engine === 'memory' ? new CallReportStore(clock, config.calls.ringTimeoutMs) : undefined);
  registerRelay(c, {
    clock,
    // No relay admission bounds: the bridge sheds load where SIP can say so (a stateless 503 to a
    // new INVITE or REGISTER), so a call it admitted is never refused after its 100 Trying.
    stores: () => prepared.stores ?? openStoresNow(notPostgres(store), { clock, engines }),
    missedCalls: sharedMissedCalls,
    queue: () =>
      options.queue ??
      // Not the gateway's queue name: a gateway sharing the prefix must not run the bridge's jobs.
      createQueue(queue, {
        clock,
        name: 'sip-bridge-deliveries',
        connectionName: `${queue.engine === 'bullmq' ? queue.prefix : 'pushrelay'}:sip-bridge`,
        engines,
      }),
    codecs: () => withOverrides(prepared.codecs, options.codecs ?? []),
    transports: () => transports,
    ...(options.bindings ? { bindings: options.bindings } : {}),
    ...(reports ? { reports } : {}),
  });
  function sharedMissedCalls(get: Get) {
    if (options.missedCalls) return options.missedCalls;
    if (ephemeral.engine !== 'redis') return undefined;
    const shared = openEphemeral(ephemeral, {
      connectionNames: { missedCalls: `${ephemeral.prefix}:sip-bridge-missed-calls` },
      engines,
    });
    get(TOKENS.Resources).add(() => shared.close());
    return shared.missedCalls;
  }
  const port = new SipPort();
  value(c, TOKENS.Config, config);
  value(c, TOKENS.SipPort, port);
  c.register(TOKENS.SipLayer, { useFactory: () => port.layer });
  c.register(TOKENS.LocalAddress, { useFactory: () => port.local });
  singleton(c, TOKENS.Logger, () => options.logger ?? createLogger(config.log.level));
  singleton(c, TOKENS.Metrics, () => new Metrics());
  const callReports = reports instanceof CallReportStore ? reports : null;
  c.register(TOKENS.CallReports, { useFactory: () => callReports });
  singleton(c, TOKENS.Database, (get) => {
    const database = get(TOKENS.Stores).database;
    if (!database) throw new ConfigError([{ path: 'store', message: 'is not a postgres store' }], 'sip-bridge config');
    return database;
  });
  singleton(c, TOKENS.Locations, () => new LocationService());
  singleton(c, TOKENS.Users, (get) => {
    if (options.users) return options.users;
    if (config.auth.users !== 'postgres') return new ConfigUserDirectory(config.users);
    const database = get(TOKENS.Database);
    const postgres = engines.postgres;
    if (!postgres) throw new ConfigError([{ path: 'store', message: 'is not a postgres store' }], 'sip-bridge config');
    const source = new postgres.PostgresSipUserStore(database);
    return new PostgresUserDirectory(source, config.realm, clock, config.auth.userCacheTtlMs);
  });
  registerSipServices(c, config, port, clock, prepared.trunk, prepared.backends.replication);
  return c;
}

/** Every installed codec, except those the options replace (same id, other options), then the options' own. */
function withOverrides(installed: readonly Codec[], given: readonly Codec[]): Codec[] {
  const replaced = new Set(given.map((c) => c.id));
  return [...installed.filter((c) => !replaced.has(c.id)), ...given];
}

/** A postgres store opens asynchronously, before composing (startBridge does). */
function notPostgres<S extends BridgeConfig['store']>(store: S): S {
  if (store.engine === 'postgres')
    throw new ConfigError(
      [
        {
          path: 'store',
          message:
            'a postgres store opens asynchronously: start the bridge with startBridge, or register TOKENS.Database',
        },
      ],
      'sip-bridge config',
    );
  return store;
}
