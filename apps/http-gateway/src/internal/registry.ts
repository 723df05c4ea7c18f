import { discoverCodecs, createTransports as createAppTransports, type CodecCatalog } from '@pushrelay/app-kit';
import type { Provider, Transport } from '@pushrelay/core';
import { GATEWAY_MANIFEST, type GatewayConfig } from './config.js';

export type { CodecCatalog };

/**
 * The codecs the gateway offers: every `@pushrelay/codec-*` package it depends on, imported here
 * (so each resolves from the gateway) and described by its own `codecMetadata`. Module imports
 * are cached, so composing again costs nothing.
 */
export function loadCodecs(): Promise<CodecCatalog> {
  return discoverCodecs(GATEWAY_MANIFEST, (specifier) => import(/* @vite-ignore */ specifier));
}

/** Builds the transports the configuration has options for; their own checks name the bad field. */
export function createTransports(providers: GatewayConfig['providers']): Partial<Record<Provider, Transport>> {
  return createAppTransports(providers, { path: (provider) => `providers.${provider}` });
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
