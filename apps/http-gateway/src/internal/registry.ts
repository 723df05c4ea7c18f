import {
  createTransports as createAppTransports,
  discoverCodecs,
  loadEngines,
  loadTransports,
  type CodecCatalog,
  type EngineModules,
  type TransportFactories,
} from '@pushrelay/app-kit';
import type { Provider, Transport } from '@pushrelay/core';
import { GATEWAY_MANIFEST, engineStore, type GatewayConfig } from './config.js';

export type { CodecCatalog };

/**
 * The packages of the engines and transports a configuration uses, imported (`loadBackends`):
 * the container builds its services from them synchronously, on first use.
 */
export interface GatewayBackends {
  engines: EngineModules;
  transports: TransportFactories;
}

/**
 * Imports the store, queue and ephemeral engines the configuration names and the transports of
 * its providers, nothing else: a gateway on SQLite without Web Push never loads ioredis, bullmq,
 * pg or web-push.
 */
export async function loadBackends(config: GatewayConfig): Promise<GatewayBackends> {
  const [engines, transports] = await Promise.all([
    loadEngines({ store: engineStore(config.store), queue: config.queue, ephemeral: config.ephemeral }),
    loadTransports(config.providers),
  ]);
  return { engines, transports };
}

/**
 * The codecs the gateway offers: every `@pushrelay/codec-*` package it depends on, imported here
 * (so each resolves from the gateway) and described by its own `codecMetadata`. Module imports
 * are cached, so composing again costs nothing.
 */
export function loadCodecs(): Promise<CodecCatalog> {
  return discoverCodecs(GATEWAY_MANIFEST, (specifier) => import(/* @vite-ignore */ specifier));
}

/** Builds the transports the configuration has options for; their own checks name the bad field. */
export function createTransports(
  providers: GatewayConfig['providers'],
  factories: TransportFactories,
): Partial<Record<Provider, Transport>> {
  return createAppTransports(providers, { path: (provider) => `providers.${provider}`, factories });
}

/** What the device API needs to know of the Web Push configuration. */
export interface WebPushPolicy {
  /** The VAPID key sets by app: a subscription names one in `app`. Empty when webpush is not configured. */
  keys: Map<string, string>;
  allowInsecureEndpoints: boolean;
}

export function webPushPolicy(providers: GatewayConfig['providers']): WebPushPolicy {
  const options = providers.webpush;
  const keys = new Map<string, string>();
  const sets = Array.isArray(options?.['vapid']) ? (options['vapid'] as unknown[]) : [];
  for (const set of sets) {
    const { app, publicKey } = (set ?? {}) as { app?: unknown; publicKey?: unknown };
    if (typeof app === 'string' && typeof publicKey === 'string') keys.set(app, publicKey);
  }
  return { keys, allowInsecureEndpoints: options?.['allowInsecureEndpoints'] === true };
}
