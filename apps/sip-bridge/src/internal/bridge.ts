import 'reflect-metadata';
import type { Server } from 'node:http';
import {
  get,
  loadEngines,
  loadTransports,
  openStores,
  delay,
  withinBound,
  type ConfigWarning,
  type Resources,
} from '@pushrelay/app-kit';
import {
  systemClock,
  type BindingStore,
  type Clock,
  type Codec,
  type MissedCallStore,
  type Provider,
  type Queue,
  type Relay,
  type ReportStore,
  type Transport,
} from '@pushrelay/core';
import {
  createTcpTransport,
  createTlsTransport,
  createUdpTransport,
  TransactionLayer,
  type SipTransport,
  type TimerValues,
  type TlsTransport,
} from '@pushrelay/sip';
import type { DependencyContainer } from 'tsyringe';
import { compose, TOKENS, type BridgeBackends } from './compose.js';
import { loadCodecs } from './codecs.js';
import { redactedConfig, resolveConfig, type BridgeConfig, type BridgeConfigInput } from './config.js';
import type { Logger } from './logger.js';
import { serveMetrics, type Metrics } from './metrics.js';
import { OverloadControl } from './overload.js';
import { hasToTag, type LocalAddress } from './proxy.js';
import { loadTlsCredentials, resolveTrunk } from './startup.js';
import { traceTransaction } from './tracing.js';
import type { UserDirectory } from './users.js';

export { TOKENS } from './compose.js';

/** Whether the config's postgres store is used at all, i.e. not every store it holds was passed in. */
function needsDatabase(config: BridgeConfig, options: BridgeOptions): boolean {
  if (config.store.engine !== 'postgres') return false;
  if (config.auth.users === 'postgres' && !options.users) return true;
  return !options.bindings || !options.reports || (!options.missedCalls && config.ephemeral.engine !== 'redis');
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
  /**
   * Codecs over the installed ones (every `@pushrelay/codec-*` package the bridge depends on):
   * one with an installed codec's id replaces it, others are added.
   */
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
  /** Calls held for a pushed device to re-register. */
  heldCalls: number;
  /** Delivery reports in progress and push ids remembered against repeats (bridge's in-memory store). */
  reports: number;
  /** Requests refused lately with 503, remembered to absorb their retransmissions. */
  refused: number;
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

/**
 * Builds the object graph in a child container once the installed codec packages are imported;
 * nothing is started.
 */
export async function composeBridge(options: BridgeOptions): Promise<DependencyContainer> {
  const config = resolveConfig(options.config);
  return compose(config, options, { codecs: await installedCodecs(), backends: await loadBackends(config, options) });
}

/** The packages of what the config uses and the options do not replace; nothing else is imported. */
async function loadBackends(config: BridgeConfig, options: BridgeOptions): Promise<BridgeBackends> {
  const [engines, transports, replication] = await Promise.all([
    loadEngines({
      store: config.store,
      ...(options.queue ? {} : { queue: config.queue }),
      ephemeral: config.ephemeral,
    }),
    loadTransports({ apns: config.apns, fcm: config.fcm, hms: config.hms, webpush: config.webpush }),
    config.ephemeral.engine === 'redis' ? import('./replication.js') : undefined,
  ]);
  return { engines, transports, ...(replication ? { replication } : {}) };
}

/** The codecs of every codec package the bridge depends on, each with its default options. */
async function installedCodecs(): Promise<Codec[]> {
  const catalog = await loadCodecs();
  return catalog.create(catalog.ids);
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
  const warnings: ConfigWarning[] = [];
  const config = resolveConfig(options.config, { onWarning: (w) => warnings.push(w) });
  const clock = options.clock ?? systemClock;
  // What opens asynchronously is ready before the graph is built: the postgres store, the trunk's address.
  const trunk = config.trunk ? await resolveTrunk(config.trunk) : undefined;
  const codecs = await installedCodecs();
  const backends = await loadBackends(config, options);
  const opened = needsDatabase(config, options) ? await openStores(config.store, { clock }) : undefined;
  let c: DependencyContainer;
  try {
    c = compose(config, options, {
      codecs,
      backends,
      ...(opened ? { stores: opened } : {}),
      ...(trunk ? { trunk } : {}),
    });
  } catch (error) {
    await opened?.close();
    throw error;
  }
  const resources = get(c, TOKENS.Resources);
  if (opened) resources.add(() => opened.close());
  try {
    const log = get(c, TOKENS.Logger);
    for (const warning of warnings) log.warn({ option: warning.path }, `config: ${warning.path} ${warning.message}`);
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
  const log = get(c, TOKENS.Logger);
  const metrics = get(c, TOKENS.Metrics);
  const relay = get(c, TOKENS.Relay);
  const registrar = get(c, TOKENS.Registrar);
  const proxy = get(c, TOKENS.Proxy);
  const trunk = get(c, TOKENS.Trunk);
  const requests = get(c, TOKENS.Requests);

  relay.events.on('attempt', ({ binding, outcome }) =>
    metrics.inc('sip_bridge_push_deliveries_total', { provider: binding.provider, outcome: outcome.kind }),
  );
  relay.events.on('error', ({ error }) => log.error({ err: error }, 'relay error'));
  registrar.onDeviceRegistered((device) => proxy.deviceRegistered(device));
  const edge = config.mode === 'edge' ? get(c, TOKENS.Edge) : undefined;

  let transports: SipTransport[];
  try {
    await edge?.start();
    transports = await bindTransports(config);
  } catch (error) {
    await relay.close();
    await closePushTransports(c);
    throw error;
  }
  const tlsTransport = transports.find((t): t is TlsTransport => t.protocol === 'tls');
  const local: LocalAddress = { host: config.publicHost, port: transports[0]!.local.port };
  if (tlsTransport) local.tlsPort = tlsTransport.local.port;
  let draining = false;
  // Read only from the layer's own callbacks, so `layer` exists by then.
  const overload: OverloadControl = new OverloadControl(
    config.limits,
    {
      heldCalls: () => proxy.heldCount + (edge?.pendingCount ?? 0),
      openTransactions: (): number => layer.serverTransactionCount + layer.clientTransactionCount,
      awaited: (user) => proxy.awaits(user),
    },
    metrics,
  );
  const layer: TransactionLayer = new TransactionLayer({
    transports,
    clock,
    ...(options.sipTimers ? { timers: options.sipTimers } : {}),
    maxServerTransactions: config.limits.maxServerTransactions,
    overloadRetryAfterSeconds: config.limits.retryAfterSeconds,
    refuse: (request) => (draining ? undefined : overload.refuse(request)),
    onOverload: (request, _from, cause) => {
      if (cause === 'limit')
        metrics.inc('sip_bridge_overload_rejections_total', { method: request.method, reason: 'transactions' });
    },
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
      return traceTransaction(request, tx, () => {
        if (edge) return edge.onRequest(request, tx, from);
        if (request.method === 'REGISTER') return registrar.handle(request, tx, from);
        return requests.handle(request, tx, from);
      });
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
  overload.start();
  get(c, TOKENS.SipPort).bind(layer, local);
  const callReports = get(c, TOKENS.CallReports);
  if (callReports) resources.add(() => callReports.close());
  const load = (): BridgeLoad => ({
    serverTransactions: layer.serverTransactionCount,
    clientTransactions: layer.clientTransactionCount,
    timers: layer.timerCount + proxy.timerCount,
    calls: proxy.activeCount + (trunk?.activeCount ?? 0),
    inFlight: proxy.inFlight,
    heldCalls: proxy.heldCount,
    reports: callReports?.size ?? 0,
    refused: layer.refusedCount,
  });
  metrics.addCollector(() => {
    const now = load();
    metrics.set('sip_bridge_transactions', now.serverTransactions, { side: 'server' });
    metrics.set('sip_bridge_transactions', now.clientTransactions, { side: 'client' });
    metrics.set('sip_bridge_timers', now.timers);
    metrics.set('sip_bridge_calls_active', now.calls);
    metrics.set('sip_bridge_event_loop_lag_ms', Math.round(overload.eventLoopLagMs * 10) / 10);
    metrics.set('sip_bridge_heap_used_bytes', process.memoryUsage().heapUsed);
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
  const replicator = get(c, TOKENS.Replication);
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
      overload.stop();
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
      await withinBound(relay.close(), Math.max(0, until - Date.now()) + 100);
      const pushTransports = Object.values(get(c, TOKENS.Transports));
      await withinBound(Promise.all(pushTransports.map((t) => t.close())), Math.max(0, until - Date.now()) + 100);
      if (metricsServer) {
        metricsServer.closeAllConnections();
        await new Promise<void>((resolve) => metricsServer!.close(() => resolve()));
      }
      // After the queue: a send finishing during its close still writes its report and bindings.
      // Bounded like the rest, since a QUIT to an unreachable Redis waits for a reconnect.
      await withinBound(resources.closeAll(), Math.max(1000, until - Date.now()));
      log.info('sip-bridge stopped');
    })());

  return { config, sip: local, metricsPort, container: c, relay, metrics, stop, reloadTls, load };
}

async function closePushTransports(c: DependencyContainer): Promise<void> {
  const pushTransports = Object.values(get(c, TOKENS.Transports));
  await Promise.allSettled(pushTransports.map((t) => t.close()));
}
