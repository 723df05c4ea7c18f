import { createLogger, get } from '@pushrelay/app-kit';
import type { FastifyBaseLogger } from 'fastify';
import type { DependencyContainer } from 'tsyringe';
import type { GatewayConfig } from './config.js';
import { TOKENS } from './tokens.js';

/** What the routes are given: typed services, never the container. */
export function gatewayServices(c: DependencyContainer) {
  return {
    config: get(c, TOKENS.config),
    clock: get(c, TOKENS.clock),
    tenants: get(c, TOKENS.tenants),
    relay: get(c, TOKENS.relay),
    metrics: get(c, TOKENS.metrics),
    bindings: get(c, TOKENS.bindings),
    codecs: get(c, TOKENS.codecs),
    /** Formats whose devices get a key of their own, from the codec packages' metadata. */
    pushKeyFormats: get(c, TOKENS.codecCatalog).withPushKey,
    sockets: get(c, TOKENS.sockets),
    transports: get(c, TOKENS.transports),
    webhookVerifiers: get(c, TOKENS.webhookVerifiers),
    replayGuard: get(c, TOKENS.replayGuard),
    log: get(c, TOKENS.logger),
  };
}

export type GatewayServices = ReturnType<typeof gatewayServices>;

/** A pino logger configuration (`stream` for where lines go), or false for none. */
export type LoggerOption = boolean | Record<string, unknown>;

/** The gateway's logger, made before the server so every service can be given it. */
export function gatewayLogger(config: GatewayConfig, option: LoggerOption | undefined): FastifyBaseLogger {
  if (option === false) return createLogger('silent', 'http-gateway');
  const { stream, ...overrides } = typeof option === 'object' ? option : {};
  return createLogger(config.logLevel, 'http-gateway', stream as NodeJS.WritableStream | undefined, overrides);
}
