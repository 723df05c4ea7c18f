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
import {
  createTcpTransport,
  createUdpTransport,
  DigestServer,
  TransactionLayer,
  type SipTransport,
} from '@pushrelay/sip';
import { resolveConfig, type BridgeConfig, type BridgeConfigInput } from './config.js';
import { LocationService } from './locations.js';
import { createLogger, type Logger } from './logger.js';
import { Metrics, serveMetrics } from './metrics.js';
import { Notifier } from './notifier.js';
import { hasToTag, Proxy, type LocalAddress } from './proxy.js';
import { Registrar } from './registrar.js';
import { transportsFromConfig } from './transports.js';

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
} as const;

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
  singleton(c, TOKENS.BindingStore, () => options.bindings ?? new InMemoryBindingStore({ clock }));
  singleton(c, TOKENS.ReportStore, () => options.reports ?? new InMemoryReportStore());
  singleton(c, TOKENS.Queue, () => options.queue ?? new InMemoryQueue({ clock }));
  singleton(c, TOKENS.MissedCallStore, () => options.missedCalls ?? new InMemoryMissedCallStore({ clock }));
  singleton(c, TOKENS.Locations, () => new LocationService());
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
    () =>
      new DigestServer({
        realm: config.realm,
        credentials: (user) => config.users.find((u) => u.username === user)?.password,
        algorithms: config.digest.algorithms,
        allowNoQop: config.digest.allowNoQop,
        allowUriMismatch: config.digest.allowUriMismatch,
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
      new Proxy(
        config,
        () => r.resolve<TransactionLayer>(TOKENS.SipLayer),
        () => r.resolve<LocalAddress>(TOKENS.LocalAddress),
        r.resolve(TOKENS.Locations),
        r.resolve(TOKENS.Notifier),
        clock,
        r.resolve(TOKENS.Logger),
        r.resolve(TOKENS.Metrics),
      ),
  );
  return c;
}

/** Binds UDP and TCP on one port (an ephemeral one when the config says 0). */
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
  const log = c.resolve<Logger>(TOKENS.Logger);
  const metrics = c.resolve<Metrics>(TOKENS.Metrics);
  const relay = c.resolve<Relay>(TOKENS.Relay);
  const registrar = c.resolve<Registrar>(TOKENS.Registrar);
  const proxy = c.resolve<Proxy>(TOKENS.Proxy);
  const clock = c.resolve<Clock>(TOKENS.Clock);

  relay.events.on('attempt', ({ binding, outcome }) =>
    metrics.inc('sip_bridge_push_deliveries_total', { provider: binding.provider, outcome: outcome.kind }),
  );
  relay.events.on('error', ({ error }) => log.error({ err: error }, 'relay error'));
  registrar.onDeviceRegistered((device) => proxy.deviceRegistered(device));

  const transports = await bindTransports(config);
  const local: LocalAddress = { host: config.publicHost, port: transports[0]!.local.port };
  c.register(TOKENS.LocalAddress, { useValue: local });
  let draining = false;
  const layer = new TransactionLayer({
    transports,
    clock,
    onRequest: async (request, tx, from) => {
      if (!tx) {
        if (request.method === 'ACK') proxy.inDialog(request, null);
        return;
      }
      if (draining && (request.method === 'REGISTER' || (request.method === 'INVITE' && !hasToTag(request)))) {
        tx.reply(503, 'Service Unavailable', { headers: [{ name: 'Retry-After', value: '5' }] });
        return;
      }
      if (request.method === 'REGISTER') return registrar.handle(request, tx, from);
      if (hasToTag(request)) return proxy.inDialog(request, tx);
      if (request.method === 'INVITE') return proxy.invite(request, tx);
      if (request.method === 'OPTIONS') {
        tx.reply(200, 'OK', { headers: [{ name: 'Allow', value: 'INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER' }] });
        return;
      }
      tx.reply(405, 'Method Not Allowed', { headers: [{ name: 'Allow', value: 'INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER' }] });
    },
    onCancel: (invite) => proxy.cancel(invite),
    onError: (error, message) =>
      log.warn({ err: error, method: message.kind === 'request' ? message.method : undefined }, 'SIP message handling failed'),
  });
  c.register(TOKENS.SipLayer, { useValue: layer });
  relay.start();

  let metricsServer: Server | undefined;
  let metricsPort: number | undefined;
  if (config.metrics) {
    const served = await serveMetrics(metrics, config.metrics.host, config.metrics.port);
    metricsServer = served.server;
    metricsPort = served.port;
  }
  log.info({ host: local.host, port: local.port, metricsPort }, 'sip-bridge listening');

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      draining = true;
      log.info('sip-bridge stopping');
      proxy.abortAll();
      const until = Date.now() + config.shutdownTimeoutMs;
      // Let final responses and in-dialog forwards go out before the sockets close.
      while (Date.now() < until && (proxy.activeCount > 0 || proxy.inFlight > 0)) await delay(20);
      await delay(Math.min(50, Math.max(0, until - Date.now())));
      await Promise.all(transports.map((t) => t.close()));
      await withTimeout(relay.close(), Math.max(0, until - Date.now()) + 100);
      const pushTransports = Object.values(c.resolve<Partial<Record<Provider, Transport>>>(TOKENS.Transports));
      await withTimeout(Promise.all(pushTransports.map((t) => t.close())), Math.max(0, until - Date.now()) + 100);
      if (metricsServer) {
        metricsServer.closeAllConnections();
        await new Promise<void>((resolve) => metricsServer!.close(() => resolve()));
      }
      log.info('sip-bridge stopped');
    })());

  return { config, sip: local, metricsPort, container: c, relay, metrics, stop };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function withTimeout(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise.then(() => undefined, () => undefined), new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}
