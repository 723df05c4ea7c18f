import {
  ConfigError,
  RELAY_TOKENS,
  createQueue,
  openEphemeral,
  openStoresNow,
  registerRelay,
  singleton,
  token,
  value,
  type Get,
  type StoreHandle,
} from '@pushrelay/app-kit';
import { systemClock } from '@pushrelay/core';
import { ecssCodec } from '@pushrelay/codec-ecss';
import { mizutechCodec } from '@pushrelay/codec-mizutech';
import { DigestServer, type TransactionLayer } from '@pushrelay/sip';
import { PostgresSipUserStore, type PostgresDatabase } from '@pushrelay/store-postgres';
import { redisOptionsFromUrl } from '@pushrelay/store-redis';
import { container as rootContainer, type DependencyContainer } from 'tsyringe';
import type { BridgeOptions } from './bridge.js';
import type { BridgeConfig } from './config.js';
import { EdgeService } from './edge/edge-service.js';
import { LocationService } from './locations.js';
import { createLogger, type Logger } from './logger.js';
import { Metrics } from './metrics.js';
import { Notifier } from './notifier.js';
import { Proxy, type LocalAddress } from './proxy.js';
import { Registrar } from './registrar.js';
import { LocationReplicator } from './replication.js';
import { RequestRouter } from './requests.js';
import { SipPort } from './sip-port.js';
import { transportsFromConfig } from './transports.js';
import { TrunkRouter, type ResolvedTrunk } from './trunk.js';
import { ConfigUserDirectory, PostgresUserDirectory, type UserDirectory } from './users.js';

/** Typed injection tokens of the composition root: the app kit's relay tokens and the bridge's own. */
export const TOKENS = {
  Config: token<BridgeConfig>('pushrelay.sip-bridge.config'),
  Clock: RELAY_TOKENS.clock,
  Logger: token<Logger>('pushrelay.sip-bridge.logger'),
  Metrics: token<Metrics>('pushrelay.sip-bridge.metrics'),
  BindingStore: RELAY_TOKENS.bindings,
  ReportStore: RELAY_TOKENS.reports,
  Queue: RELAY_TOKENS.queue,
  MissedCallStore: RELAY_TOKENS.missedCalls,
  Codecs: RELAY_TOKENS.codecs,
  Transports: RELAY_TOKENS.transports,
  Relay: RELAY_TOKENS.relay,
  /** What the bridge built from its config and must close on stop. */
  Resources: RELAY_TOKENS.resources,
  /** The stores of the configured engine: in memory, or opened on the postgres store by startBridge. */
  Stores: RELAY_TOKENS.stores,
  /** The opened postgres store; startBridge opens it when the config names one. */
  Database: token<PostgresDatabase>('pushrelay.sip-bridge.database'),
  Locations: token<LocationService>('pushrelay.sip-bridge.locations'),
  Digest: token<DigestServer>('pushrelay.sip-bridge.digest'),
  Notifier: token<Notifier>('pushrelay.sip-bridge.notifier'),
  Registrar: token<Registrar>('pushrelay.sip-bridge.registrar'),
  Proxy: token<Proxy>('pushrelay.sip-bridge.proxy'),
  /** The SIP layer and the address it listens on, bound once the sockets are (see SipPort). */
  SipPort: token<SipPort>('pushrelay.sip-bridge.sip-port'),
  SipLayer: token<TransactionLayer>('pushrelay.sip-bridge.sip-layer'),
  LocalAddress: token<LocalAddress>('pushrelay.sip-bridge.local-address'),
  /** Registrations shared with other bridge processes through Redis pub/sub, or null without Redis. */
  Replication: token<LocationReplicator | null>('pushrelay.sip-bridge.replication'),
  /** Who the users are and their digest secrets: the config's list, or postgres. */
  Users: token<UserDirectory>('pushrelay.sip-bridge.users'),
  /** The DigestServer of 407 challenges to requests other than REGISTER. */
  RequestDigest: token<DigestServer>('pushrelay.sip-bridge.request-digest'),
  /** The TrunkRouter for calls to non-local users, or null without a trunk. */
  Trunk: token<TrunkRouter | null>('pushrelay.sip-bridge.trunk'),
  /** The RequestRouter dispatching requests other than REGISTER. */
  Requests: token<RequestRouter>('pushrelay.sip-bridge.requests'),
  /** Edge mode (`mode: edge`): the EdgeService in front of the upstream registrar/PBX. */
  Edge: token<EdgeService>('pushrelay.sip-bridge.edge'),
};

/** What startBridge prepares before composing: the opened postgres stores and the trunk's address. */
export interface Prepared {
  stores?: StoreHandle;
  trunk?: ResolvedTrunk;
}

/** The object graph over a validated config; nothing is started and nothing is registered later. */
export function compose(config: BridgeConfig, options: BridgeOptions, prepared: Prepared = {}): DependencyContainer {
  const c = rootContainer.createChildContainer();
  const clock = options.clock ?? systemClock;
  const { store, queue, ephemeral } = config;
  const transports = { ...transportsFromConfig(config), ...options.transports };
  registerRelay(c, {
    clock,
    stores: () => prepared.stores ?? openStoresNow(notPostgres(store), { clock }),
    missedCalls: sharedMissedCalls,
    queue: () =>
      options.queue ??
      // Not the gateway's queue name: a gateway sharing the prefix must not run the bridge's jobs.
      createQueue(queue, {
        clock,
        name: 'sip-bridge-deliveries',
        connectionName: `${queue.engine === 'bullmq' ? queue.prefix : 'pushrelay'}:sip-bridge`,
      }),
    codecs: () => [mizutechCodec, ecssCodec, ...(options.codecs ?? [])],
    transports: () => transports,
    ...(options.bindings ? { bindings: options.bindings } : {}),
    ...(options.reports ? { reports: options.reports } : {}),
  });
  function sharedMissedCalls(get: Get) {
    if (options.missedCalls) return options.missedCalls;
    if (ephemeral.engine !== 'redis') return undefined;
    const shared = openEphemeral(ephemeral, {
      connectionNames: { missedCalls: `${ephemeral.prefix}:sip-bridge-missed-calls` },
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
  singleton(c, TOKENS.Database, (get) => {
    const database = get(TOKENS.Stores).database;
    if (!database) throw new ConfigError([{ path: 'store', message: 'is not a postgres store' }], 'sip-bridge config');
    return database;
  });
  singleton(c, TOKENS.Locations, () => new LocationService());
  singleton(c, TOKENS.Users, (get) => {
    if (options.users) return options.users;
    if (config.auth.users !== 'postgres') return new ConfigUserDirectory(config.users);
    const source = new PostgresSipUserStore(get(TOKENS.Database));
    return new PostgresUserDirectory(source, config.realm, clock, config.auth.userCacheTtlMs);
  });
  const digest = (get: Get, trunkAccount: boolean) => {
    const users = get(TOKENS.Users);
    const inbound = trunkAccount ? config.trunk?.inbound : undefined;
    return new DigestServer({
      realm: config.realm,
      // The trunk's own account answers 407s too; it is no phone, so REGISTER never sees it.
      credentials: (user, _realm, algorithm) =>
        inbound && user === inbound.username ? inbound.password : users.secret(user, algorithm),
      ...config.digest,
      clock,
    });
  };
  singleton(c, TOKENS.Digest, (get) => digest(get, false));
  singleton(c, TOKENS.RequestDigest, (get) => digest(get, true));
  singleton(c, TOKENS.Replication, (get) => {
    if (ephemeral.engine !== 'redis') return null;
    const replicator = new LocationReplicator(
      redisOptionsFromUrl(ephemeral.redis, `${ephemeral.prefix}:sip-bridge-locations`),
      { prefix: ephemeral.prefix, tenant: config.tenant, domain: config.domain },
      get(TOKENS.Locations),
      { has: (user: string) => get(TOKENS.Users).mayExist(user) },
      clock,
      get(TOKENS.Logger),
      get(TOKENS.Metrics),
    );
    get(TOKENS.Resources).add(() => replicator.close());
    return replicator;
  });
  singleton(
    c,
    TOKENS.Notifier,
    (get) =>
      new Notifier(
        get(TOKENS.Relay),
        get(TOKENS.MissedCallStore),
        clock,
        config.tenant,
        config.calls.ringTimeoutMs,
        config.calls.missedCallTtlMs,
        get(TOKENS.Logger),
        get(TOKENS.Metrics),
      ),
  );
  singleton(
    c,
    TOKENS.Registrar,
    (get) =>
      new Registrar(
        config,
        get(TOKENS.Digest),
        get(TOKENS.Locations),
        get(TOKENS.BindingStore),
        clock,
        get(TOKENS.Logger),
        get(TOKENS.Metrics),
      ),
  );
  // The SIP layer's handlers need these, and these send through the layer: the port breaks the
  // cycle, bound once the sockets are.
  const layer = () => port.layer;
  const local = () => port.local;
  singleton(
    c,
    TOKENS.Proxy,
    (get) =>
      new Proxy(
        config,
        layer,
        local,
        get(TOKENS.Locations),
        get(TOKENS.Notifier),
        clock,
        get(TOKENS.Logger),
        get(TOKENS.Metrics),
        get(TOKENS.Users),
      ),
  );
  singleton(c, TOKENS.Trunk, (get) =>
    prepared.trunk
      ? new TrunkRouter(prepared.trunk, config.realm, layer, local, get(TOKENS.Logger), get(TOKENS.Metrics))
      : null,
  );
  singleton(
    c,
    TOKENS.Requests,
    (get) =>
      new RequestRouter(
        config,
        get(TOKENS.RequestDigest),
        get(TOKENS.Users),
        get(TOKENS.Proxy),
        get(TOKENS.Trunk),
        local,
        get(TOKENS.Logger),
        get(TOKENS.Metrics),
      ),
  );
  // Edge mode: resolved only when the config says `mode: edge`.
  singleton(
    c,
    TOKENS.Edge,
    (get) =>
      new EdgeService({
        config,
        registrar: get(TOKENS.Registrar),
        proxy: get(TOKENS.Proxy),
        locations: get(TOKENS.Locations),
        bindings: get(TOKENS.BindingStore),
        notifier: get(TOKENS.Notifier),
        layer,
        local,
        clock,
        log: get(TOKENS.Logger),
        metrics: get(TOKENS.Metrics),
      }),
  );
  return c;
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
