import 'reflect-metadata';
import type { Server } from 'node:http';
import { container as rootContainer, instanceCachingFactory, type DependencyContainer } from 'tsyringe';
import {
  InMemoryBindingStore,
  InMemoryMissedCallStore,
  InMemoryQueue,
  InMemoryReportStore,
  Relay,
  systemClock,
  ValidationError,
  type BindingStore,
  type Clock,
  type Codec,
  type MissedCallStore,
  type Provider,
  type Queue,
  type ReportStore,
  type Transport,
} from '@pushrelay/core';
import { ecssCodec } from '@pushrelay/codec-ecss';
import { mizutechCodec } from '@pushrelay/codec-mizutech';
import { BullMQQueue } from '@pushrelay/queue-bullmq';
import {
  PostgresBindingStore,
  PostgresDatabase,
  PostgresMissedCallStore,
  PostgresReportStore,
  PostgresSipUserStore,
} from '@pushrelay/store-postgres';
import { RedisMissedCallStore, redisOptionsFromUrl } from '@pushrelay/store-redis';
import {
  createTcpTransport,
  createTlsTransport,
  createUdpTransport,
  DigestServer,
  TransactionLayer,
  type SipTransport,
  type TimerValues,
  type TlsTransport,
} from '@pushrelay/sip';
import { redactedConfig, resolveConfig, type BridgeConfig, type BridgeConfigInput } from './config.js';
import { LocationService } from './locations.js';
import { EdgeService } from './edge/edge-service.js';
import { createLogger, type Logger } from './logger.js';
import { Metrics, serveMetrics } from './metrics.js';
import { Notifier } from './notifier.js';
import { CallProxy, hasToTag, type LocalAddress } from './proxy.js';
import { Registrar } from './registrar.js';
import { LocationReplicator } from './replication.js';
import { RequestRouter } from './requests.js';
import { loadTlsCredentials, resolveTrunk } from './startup.js';
import { transportsFromConfig } from './transports.js';
import { TrunkRouter } from './trunk.js';
import { ConfigUserDirectory, PostgresUserDirectory, type UserDirectory } from './users.js';

/** Injection tokens of the composition root; replace any of them with `overrides`. */
export const TOKENS = {
  Config: Symbol('Config'),
  Clock: Symbol('Clock'),
  Logger: Symbol('Logger'),
  Metrics: Symbol('Metrics'),
  BindingStore: Symbol('BindingStore'),
  ReportStore: Symbol('ReportStore'),
  Queue: Symbol('Queue'),
  MissedCallStore: Symbol('MissedCallStore'),
  Codecs: Symbol('Codecs'),
  Transports: Symbol('Transports'),
  Relay: Symbol('Relay'),
  Locations: Symbol('Locations'),
  Digest: Symbol('Digest'),
  Notifier: Symbol('Notifier'),
  Registrar: Symbol('Registrar'),
  Proxy: Symbol('Proxy'),
  SipLayer: Symbol('SipLayer'),
  LocalAddress: Symbol('LocalAddress'),
  /** The opened postgres store (PostgresDatabase); startBridge opens it when the config names one. */
  Database: Symbol('Database'),
  /**
   * The LocationReplicator sharing registrations with other bridge processes through Redis
   * pub/sub, or null (no Redis ephemeral engine: registrations stay in this process).
   */
  Replication: Symbol('Replication'),
  /** What the bridge built from its config and must close on stop (Resources). */
  Resources: Symbol('Resources'),
  // Registrar mode.
  /** Who the users are and their digest secrets (UserDirectory): the config's list, or postgres. */
  Users: Symbol('Users'),
  /** The DigestServer of 407 challenges to requests other than REGISTER. */
  RequestDigest: Symbol('RequestDigest'),
  /** The TrunkRouter for calls to non-local users, or null without a trunk. */
  Trunk: Symbol('Trunk'),
  /** The RequestRouter dispatching requests other than REGISTER. */
  Requests: Symbol('Requests'),
  /** Edge mode (`mode: edge`): the EdgeService in front of the upstream registrar/PBX. */
  Edge: Symbol('Edge'),
} as const;

/** Closers of the pools and Redis clients the bridge opened itself; what options pass in stays the caller's. */
export class Resources {
  private readonly closers: Array<() => Promise<void> | void> = [];

  add(close: () => Promise<void> | void): void {
    this.closers.push(close);
  }

  async closeAll(): Promise<void> {
    const closers = this.closers.splice(0);
    await Promise.allSettled(closers.map(async (close) => close()));
  }
}

/** Whether the config's postgres store is used at all, i.e. not every store it holds was passed in. */
function needsDatabase(config: BridgeConfig, options: BridgeOptions): boolean {
  if (config.store.engine !== 'postgres') return false;
  if (config.auth.users === 'postgres' && !options.users) return true;
  return !options.bindings || !options.reports || (!options.missedCalls && config.ephemeral.engine !== 'redis');
}

/** Connects to the configured postgres store and applies its migrations. */
async function openDatabase(config: BridgeConfig, clock: Clock): Promise<PostgresDatabase> {
  if (config.store.engine !== 'postgres') throw new Error('no postgres store configured');
  const { url, poolSize, schema } = config.store;
  try {
    return await PostgresDatabase.open({ connection: { connectionString: url, max: poolSize }, schema, clock });
  } catch (error) {
    throw new ValidationError(
      [{ path: 'store.url', message: `cannot open the postgres store: ${(error as Error).message}` }],
      'sip-bridge config',
    );
  }
}

export interface BridgeOptions {
  config: BridgeConfig | BridgeConfigInput;
  /**
   * Push transports by provider, over those the config builds (APNs); a provider without one
   * is skipped by the relay.
   */
  transports?: Partial<Record<Provider, Transport>>;
  clock?: Clock;
  logger?: Logger;
  bindings?: BindingStore;
  missedCalls?: MissedCallStore;
  reports?: ReportStore;
  queue?: Queue;
  /** Extra codecs besides Mizutech and ECSS-10. */
  codecs?: Codec[];
  /** Users over those of the config (`users` list or postgres). */
  users?: UserDirectory;
  /** SIP timer bases (T1, T2, T4, Timer D); tests shorten them to see transactions end. */
  sipTimers?: Partial<TimerValues>;
}

/** What the bridge holds in memory now; after a burst it must come back to its baseline. */
export interface BridgeLoad {
  serverTransactions: number;
  clientTransactions: number;
  /** Transaction timers plus call timers. */
  timers: number;
  /** Calls ringing here and requests waiting for the trunk. */
  calls: number;
  /** In-dialog requests forwarded and not answered yet. */
  inFlight: number;
}

export interface RunningBridge {
  readonly config: BridgeConfig;
  /** Where SIP is served (UDP and TCP share the port). */
  readonly sip: LocalAddress;
  readonly metricsPort: number | undefined;
  readonly container: DependencyContainer;
  readonly relay: Relay;
  readonly metrics: Metrics;
  /** Stops taking requests, ends ringing calls, waits for in-flight work (bounded), frees sockets. */
  stop(): Promise<void>;
  /**
   * Reads the TLS certificate and key files again and uses them for new connections; open
   * connections, held calls and dialogs carry on. Rejects (keeping the old ones) when the files
   * cannot be read or used. What SIGHUP does.
   */
  reloadTls(): Promise<void>;
  /** Transactions, timers and calls held now. */
  load(): BridgeLoad;
}

function singleton<T>(container: DependencyContainer, token: symbol, make: (c: DependencyContainer) => T): void {
  container.register<T>(token, { useFactory: instanceCachingFactory<T>(make) });
}

/** Builds the object graph in a child container; nothing is started. */
export function composeBridge(options: BridgeOptions): DependencyContainer {
  const config = resolveConfig(options.config);
  const c = rootContainer.createChildContainer();
  const clock = options.clock ?? systemClock;
  c.register(TOKENS.Config, { useValue: config });
  c.register(TOKENS.Clock, { useValue: clock });
  c.register(TOKENS.Transports, { useValue: { ...transportsFromConfig(config), ...options.transports } });
  c.register(TOKENS.Codecs, { useValue: [mizutechCodec, ecssCodec, ...(options.codecs ?? [])] });
  singleton(c, TOKENS.Logger, () => options.logger ?? createLogger(config.log.level));
  singleton(c, TOKENS.Metrics, () => new Metrics());
  c.register(TOKENS.Resources, { useValue: new Resources() });
  const resources = (r: DependencyContainer): Resources => r.resolve<Resources>(TOKENS.Resources);
  c.register(TOKENS.Database, {
    useFactory: () => {
      throw new ValidationError(
        [
          {
            path: 'store',
            message:
              'a postgres store opens asynchronously: start the bridge with startBridge, or register TOKENS.Database',
          },
        ],
        'sip-bridge config',
      );
    },
  });
  const { store, queue, ephemeral } = config;
  singleton(
    c,
    TOKENS.BindingStore,
    (r) =>
      options.bindings ??
      (store.engine === 'postgres'
        ? new PostgresBindingStore(r.resolve(TOKENS.Database))
        : new InMemoryBindingStore({ clock })),
  );
  singleton(
    c,
    TOKENS.ReportStore,
    (r) =>
      options.reports ??
      (store.engine === 'postgres' ? new PostgresReportStore(r.resolve(TOKENS.Database)) : new InMemoryReportStore()),
  );
  // The relay closes its queue, whoever built it.
  singleton(c, TOKENS.Queue, () => {
    if (options.queue) return options.queue;
    if (queue.engine !== 'bullmq') return new InMemoryQueue({ clock });
    return new BullMQQueue({
      connection: redisOptionsFromUrl(queue.redis, `${queue.prefix}:sip-bridge`),
      prefix: queue.prefix,
      // Not the gateway's queue name: a gateway sharing the prefix must not run the bridge's jobs
      // with its own transports, nor the bridge the gateway's.
      name: 'sip-bridge-deliveries',
      concurrency: queue.concurrency,
      lockDurationMs: queue.lockDurationMs,
      stalledIntervalMs: queue.stalledIntervalMs,
      scheduleTimeoutMs: queue.scheduleTimeoutMs,
      closeGraceMs: queue.closeGraceMs,
    });
  });
  singleton(c, TOKENS.MissedCallStore, (r) => {
    if (options.missedCalls) return options.missedCalls;
    if (ephemeral.engine === 'redis') {
      const missed = new RedisMissedCallStore({
        connection: redisOptionsFromUrl(ephemeral.redis, `${ephemeral.prefix}:sip-bridge-missed-calls`),
        prefix: ephemeral.prefix,
      });
      resources(r).add(() => missed.close());
      return missed;
    }
    if (store.engine === 'postgres') return new PostgresMissedCallStore(r.resolve(TOKENS.Database));
    return new InMemoryMissedCallStore({ clock });
  });
  singleton(c, TOKENS.Locations, () => new LocationService());
  singleton<UserDirectory>(c, TOKENS.Users, (r) => {
    if (options.users) return options.users;
    if (config.auth.users !== 'postgres') return new ConfigUserDirectory(config.users);
    const source = new PostgresSipUserStore(r.resolve(TOKENS.Database));
    return new PostgresUserDirectory(source, config.realm, clock, config.auth.userCacheTtlMs);
  });
  singleton(c, TOKENS.RequestDigest, (r) => {
    const users = r.resolve<UserDirectory>(TOKENS.Users);
    const inbound = config.trunk?.inbound;
    return new DigestServer({
      realm: config.realm,
      // The trunk's own account answers 407s too; it is no phone, so REGISTER never sees it.
      credentials: (user, _realm, algorithm) =>
        inbound && user === inbound.username ? inbound.password : users.secret(user, algorithm),
      algorithms: config.digest.algorithms,
      allowNoQop: config.digest.allowNoQop,
      allowUriMismatch: config.digest.allowUriMismatch,
      nonceTtlMs: config.digest.nonceTtlMs,
      clock,
    });
  });
  singleton<LocationReplicator | null>(c, TOKENS.Replication, (r) => {
    if (ephemeral.engine !== 'redis') return null;
    const replicator = new LocationReplicator(
      redisOptionsFromUrl(ephemeral.redis, `${ephemeral.prefix}:sip-bridge-locations`),
      { prefix: ephemeral.prefix, tenant: config.tenant, domain: config.domain },
      r.resolve(TOKENS.Locations),
      { has: (user: string) => r.resolve<UserDirectory>(TOKENS.Users).mayExist(user) },
      clock,
      r.resolve(TOKENS.Logger),
      r.resolve(TOKENS.Metrics),
    );
    resources(r).add(() => replicator.close());
    return replicator;
  });
  singleton(
    c,
    TOKENS.Relay,
    (r) =>
      new Relay({
        bindings: r.resolve(TOKENS.BindingStore),
        reports: r.resolve(TOKENS.ReportStore),
        queue: r.resolve(TOKENS.Queue),
        codecs: r.resolve(TOKENS.Codecs),
        transports: r.resolve(TOKENS.Transports),
        clock,
      }),
  );
  singleton(
    c,
    TOKENS.Digest,
    (r) =>
      new DigestServer({
        realm: config.realm,
        credentials: (user, _realm, algorithm) => r.resolve<UserDirectory>(TOKENS.Users).secret(user, algorithm),
        algorithms: config.digest.algorithms,
        allowNoQop: config.digest.allowNoQop,
        allowUriMismatch: config.digest.allowUriMismatch,
        nonceTtlMs: config.digest.nonceTtlMs,
        clock,
      }),
  );
  singleton(
    c,
    TOKENS.Notifier,
    (r) =>
      new Notifier(
        r.resolve(TOKENS.Relay),
        r.resolve(TOKENS.MissedCallStore),
        clock,
        config.tenant,
        config.calls.ringTimeoutMs,
        config.calls.missedCallTtlMs,
        r.resolve(TOKENS.Logger),
        r.resolve(TOKENS.Metrics),
      ),
  );
  singleton(
    c,
    TOKENS.Registrar,
    (r) =>
      new Registrar(
        config,
        r.resolve(TOKENS.Digest),
        r.resolve(TOKENS.Locations),
        r.resolve(TOKENS.BindingStore),
        clock,
        r.resolve(TOKENS.Logger),
        r.resolve(TOKENS.Metrics),
      ),
  );
  singleton(
    c,
    TOKENS.Proxy,
    (r) =>
      new CallProxy(
        config,
        () => r.resolve<TransactionLayer>(TOKENS.SipLayer),
        () => r.resolve<LocalAddress>(TOKENS.LocalAddress),
        r.resolve(TOKENS.Locations),
        r.resolve(TOKENS.Notifier),
        clock,
        r.resolve(TOKENS.Logger),
        r.resolve(TOKENS.Metrics),
        r.resolve(TOKENS.Users),
      ),
  );
  // Edge mode: resolved only when the config says `mode: edge`.
  singleton(
    c,
    TOKENS.Edge,
    (r) =>
      new EdgeService({
        config,
        registrar: r.resolve(TOKENS.Registrar),
        proxy: r.resolve(TOKENS.Proxy),
        locations: r.resolve(TOKENS.Locations),
        bindings: r.resolve(TOKENS.BindingStore),
        notifier: r.resolve(TOKENS.Notifier),
        layer: () => r.resolve<TransactionLayer>(TOKENS.SipLayer),
        local: () => r.resolve<LocalAddress>(TOKENS.LocalAddress),
        clock,
        log: r.resolve(TOKENS.Logger),
        metrics: r.resolve(TOKENS.Metrics),
      }),
  );
  return c;
}

/** Binds UDP and TCP on one port (an ephemeral one when the config says 0), and TLS on its own. */
async function bindTransports(config: BridgeConfig): Promise<SipTransport[]> {
  const { host, port, udp, tcp } = config.listen;
  for (let attempt = 0; ; attempt++) {
    const transports: SipTransport[] = [];
    try {
      let bound = port;
      if (udp) {
        const u = await createUdpTransport({ host, port });
        transports.push(u);
        bound = u.local.port;
      }
      if (tcp) transports.push(await createTcpTransport({ host, port: bound }));
      if (config.tls) {
        const { server, client } = await loadTlsCredentials(config.tls);
        transports.push(await createTlsTransport({ host, port: config.tls.port, server, client }));
      }
      return transports;
    } catch (error) {
      await Promise.all(transports.map((t) => t.close()));
      // With an ephemeral port, TCP may find the UDP port number taken: try another.
      if (port !== 0 || attempt >= 10) throw error;
    }
  }
}

/** Composes, binds SIP and metrics, and starts the relay. */
export async function startBridge(options: BridgeOptions): Promise<RunningBridge> {
  const c = composeBridge(options);
  const config = c.resolve<BridgeConfig>(TOKENS.Config);
  const clock = c.resolve<Clock>(TOKENS.Clock);
  const resources = c.resolve<Resources>(TOKENS.Resources);
  try {
    if (needsDatabase(config, options)) {
      const db = await openDatabase(config, clock);
      resources.add(() => db.close());
      c.register(TOKENS.Database, { useValue: db });
    }
    return await listen(c, config, clock, resources, options);
  } catch (error) {
    await resources.closeAll();
    throw error;
  }
}

async function listen(
  c: DependencyContainer,
  config: BridgeConfig,
  clock: Clock,
  resources: Resources,
  options: BridgeOptions,
): Promise<RunningBridge> {
  const log = c.resolve<Logger>(TOKENS.Logger);
  const metrics = c.resolve<Metrics>(TOKENS.Metrics);
  const relay = c.resolve<Relay>(TOKENS.Relay);
  const registrar = c.resolve<Registrar>(TOKENS.Registrar);
  const proxy = c.resolve<CallProxy>(TOKENS.Proxy);

  relay.events.on('attempt', ({ binding, outcome }) =>
    metrics.inc('sip_bridge_push_deliveries_total', { provider: binding.provider, outcome: outcome.kind }),
  );
  relay.events.on('error', ({ error }) => log.error({ err: error }, 'relay error'));
  registrar.onDeviceRegistered((device) => proxy.deviceRegistered(device));
  const edge = config.mode === 'edge' ? c.resolve<EdgeService>(TOKENS.Edge) : undefined;

  let transports: SipTransport[];
  let trunk: TrunkRouter | null = null;
  try {
    await edge?.start();
    const resolvedTrunk = config.trunk ? await resolveTrunk(config.trunk) : undefined;
    transports = await bindTransports(config);
    const sipLayer = () => c.resolve<TransactionLayer>(TOKENS.SipLayer);
    const localAddress = () => c.resolve<LocalAddress>(TOKENS.LocalAddress);
    if (resolvedTrunk) trunk = new TrunkRouter(resolvedTrunk, config.realm, sipLayer, localAddress, log, metrics);
  } catch (error) {
    await relay.close();
    await closePushTransports(c);
    throw error;
  }
  const tlsTransport = transports.find((t): t is TlsTransport => t.protocol === 'tls');
  const local: LocalAddress = { host: config.publicHost, port: transports[0]!.local.port };
  if (tlsTransport) local.tlsPort = tlsTransport.local.port;
  c.register(TOKENS.LocalAddress, { useValue: local });
  c.register(TOKENS.Trunk, { useValue: trunk });
  const requests = new RequestRouter(
    config,
    c.resolve(TOKENS.RequestDigest),
    c.resolve(TOKENS.Users),
    proxy,
    trunk,
    () => local,
    log,
    metrics,
  );
  c.register(TOKENS.Requests, { useValue: requests });
  let draining = false;
  const layer = new TransactionLayer({
    transports,
    clock,
    ...(options.sipTimers ? { timers: options.sipTimers } : {}),
    maxServerTransactions: config.limits.maxServerTransactions,
    onOverload: (request) => metrics.inc('sip_bridge_overload_rejections_total', { method: request.method }),
    onRequest: async (request, tx, from) => {
      if (edge && !tx) return edge.onRequest(request, tx, from);
      if (!tx) {
        if (request.method === 'ACK') proxy.inDialog(request, null);
        return;
      }
      if (draining && !hasToTag(request)) {
        tx.reply(503, 'Service Unavailable', { headers: [{ name: 'Retry-After', value: '5' }] });
        return;
      }
      if (edge) return edge.onRequest(request, tx, from);
      if (request.method === 'REGISTER') return registrar.handle(request, tx, from);
      return requests.handle(request, tx, from);
    },
    onCancel: (invite) => {
      if (edge) edge.cancel(invite);
      else if (!trunk?.cancel(invite)) proxy.cancel(invite);
    },
    onError: (error, message) =>
      log.warn(
        { err: error, method: message.kind === 'request' ? message.method : undefined },
        'SIP message handling failed',
      ),
  });
  c.register(TOKENS.SipLayer, { useValue: layer });
  const load = (): BridgeLoad => ({
    serverTransactions: layer.serverTransactionCount,
    clientTransactions: layer.clientTransactionCount,
    timers: layer.timerCount + proxy.timerCount,
    calls: proxy.activeCount + (trunk?.activeCount ?? 0),
    inFlight: proxy.inFlight,
  });
  metrics.addCollector(() => {
    const now = load();
    metrics.set('sip_bridge_transactions', now.serverTransactions, { side: 'server' });
    metrics.set('sip_bridge_transactions', now.clientTransactions, { side: 'client' });
    metrics.set('sip_bridge_timers', now.timers);
    metrics.set('sip_bridge_calls_active', now.calls);
  });
  const reloadTls = async (): Promise<void> => {
    if (!config.tls || !tlsTransport) throw new Error('no TLS listener configured');
    try {
      const { server } = await loadTlsCredentials(config.tls);
      tlsTransport.setSecureContext(server);
      metrics.inc('sip_bridge_tls_reloads_total', { result: 'ok' });
      log.info('TLS certificate reloaded');
    } catch (error) {
      metrics.inc('sip_bridge_tls_reloads_total', { result: 'failed' });
      log.error({ err: error }, 'TLS certificate reload failed; the previous one stays in use');
      throw error;
    }
  };
  relay.start();
  const replicator = c.resolve<LocationReplicator | null>(TOKENS.Replication);
  if (replicator) {
    registrar.onDeviceRegistered((device) => replicator.publish('register', device));
    registrar.onDeviceUnregistered((device) => replicator.publish('unregister', device));
    replicator.onPeerDeviceRegistered((device) => proxy.ringWaitingCalls(device));
    replicator.start();
  }

  let metricsServer: Server | undefined;
  let metricsPort: number | undefined;
  if (config.metrics) {
    try {
      const served = await serveMetrics(metrics, config.metrics.host, config.metrics.port);
      metricsServer = served.server;
      metricsPort = served.port;
    } catch (error) {
      // Nothing was served yet: give back the SIP port, stop the queue and the push connections.
      await Promise.all(transports.map((t) => t.close()));
      await relay.close();
      await closePushTransports(c);
      throw error;
    }
  }
  const { store, queue, ephemeral } = redactedConfig(config);
  log.info({ host: local.host, port: local.port, metricsPort, store, queue, ephemeral }, 'sip-bridge listening');

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      draining = true;
      log.info('sip-bridge stopping');
      proxy.abortAll();
      trunk?.abortAll();
      edge?.abortAll();
      const until = Date.now() + config.shutdownTimeoutMs;
      // Let final responses and in-dialog forwards go out before the sockets close.
      while (
        Date.now() < until &&
        (proxy.activeCount > 0 || proxy.inFlight > 0 || (trunk?.activeCount ?? 0) > 0 || (edge?.pendingCount ?? 0) > 0)
      )
        await delay(20);
      await delay(Math.min(50, Math.max(0, until - Date.now())));
      await Promise.all(transports.map((t) => t.close()));
      await withTimeout(relay.close(), Math.max(0, until - Date.now()) + 100);
      const pushTransports = Object.values(c.resolve<Partial<Record<Provider, Transport>>>(TOKENS.Transports));
      await withTimeout(Promise.all(pushTransports.map((t) => t.close())), Math.max(0, until - Date.now()) + 100);
      if (metricsServer) {
        metricsServer.closeAllConnections();
        await new Promise<void>((resolve) => metricsServer!.close(() => resolve()));
      }
      // After the queue: a send finishing during its close still writes its report and bindings.
      // Bounded like the rest, since a QUIT to an unreachable Redis waits for a reconnect.
      await withTimeout(resources.closeAll(), Math.max(1000, until - Date.now()));
      log.info('sip-bridge stopped');
    })());

  return { config, sip: local, metricsPort, container: c, relay, metrics, stop, reloadTls, load };
}

async function closePushTransports(c: DependencyContainer): Promise<void> {
  const pushTransports = Object.values(c.resolve<Partial<Record<Provider, Transport>>>(TOKENS.Transports));
  await Promise.allSettled(pushTransports.map((t) => t.close()));
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function withTimeout(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    promise.then(
      () => undefined,
      () => undefined,
    ),
    new Promise<void>((resolve) => (timer = setTimeout(resolve, ms))),
  ]);
  clearTimeout(timer);
}
