import { get, withinBound } from '@pushrelay/app-kit';
import type { Relay, RetentionSweeper } from '@pushrelay/core';
import type { FastifyInstance } from 'fastify';
import type { DependencyContainer } from 'tsyringe';
import type { GatewayConfig } from './config.js';
import { asConfigError, buildContainer, openStores, type GatewayOverrides } from './container.js';
import { createServer, type ServerOptions, type ServerState } from './server.js';
import { loadBackends, loadCodecs } from './registry.js';
import { gatewayLogger, gatewayServices } from './services.js';
import { TOKENS } from './tokens.js';

export interface GatewayOptions extends GatewayOverrides, ServerOptions {}

export interface Gateway {
  readonly app: FastifyInstance;
  readonly container: DependencyContainer;
  readonly relay: Relay;
  readonly config: GatewayConfig;
  /** Starts listening; resolves with the base URL. */
  listen(): Promise<string>;
  /** Stops accepting, drains in-flight sends, closes the queue, transports, store pools and Redis clients, within the bound. */
  close(): Promise<void>;
}

/** Builds the gateway from a validated configuration; throws ConfigError listing what is wrong. */
export async function createGateway(config: GatewayConfig, options: GatewayOptions = {}): Promise<Gateway> {
  const catalog = options.catalog ?? (await loadCodecs());
  // What the options replace is not imported: the demo's simulator transports need no provider package.
  const backends =
    options.backends ??
    (await loadBackends({
      ...config,
      ...(options.transports ? { providers: {} } : {}),
      ...(options.stores ? { store: { kind: 'memory' } } : {}),
      ...(options.queue ? { queue: { engine: 'memory' } } : {}),
    }));
  const stores = options.stores ?? (await openStores(config, options.clock));
  const log = gatewayLogger(config, options.logger);
  const container = buildContainer(config, { ...options, catalog, backends, stores, log });
  const state: ServerState = { draining: false };
  let app: FastifyInstance;
  let relay: Relay;
  let sweeper: RetentionSweeper;
  try {
    relay = get(container, TOKENS.relay);
    app = await createServer(gatewayServices(container), state);
    sweeper = get(container, TOKENS.retention);
  } catch (error) {
    await stores.close();
    throw asConfigError(error);
  }
  relay.start();
  sweeper.start();
  let closing: Promise<void> | undefined;

  const close = async () => {
    state.draining = true;
    const transports = Object.values(get(container, TOKENS.transports));
    const work = (async () => {
      await sweeper.stop();
      await app.close();
      await relay.close();
      await Promise.allSettled(transports.map((t) => t.close()));
    })();
    if (await withinBound(work, config.shutdownTimeoutMs)) await work;
    else app.log.warn({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown bound reached: in-flight sends abandoned');
    // The queue is closed (by the relay) before the pools it might still write through.
    await Promise.allSettled([
      Promise.resolve().then(() => get(container, TOKENS.storeHandle).close()),
      get(container, TOKENS.ephemeral).close(),
    ]);
  };

  return {
    app,
    container,
    relay,
    config,
    async listen() {
      await app.listen({ host: config.listen.host, port: config.listen.port });
      const address = app.server.address();
      const port = typeof address === 'object' && address ? address.port : config.listen.port;
      const host = config.listen.host.includes(':') ? `[${config.listen.host}]` : config.listen.host;
      return `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;
    },
    close() {
      closing ??= close();
      return closing;
    },
  };
}
