import { codecCatalog, createTransports as createAppTransports } from '@pushrelay/app-kit';
import { ConfigurationError, type Codec, type Provider, type Transport } from '@pushrelay/core';
import type { GatewayConfig } from './config.js';

const catalog = codecCatalog();

/** The codecs the gateway can enable by id, from each codec package's own metadata. */
export const CODEC_FACTORIES: Record<string, () => Codec> = Object.fromEntries(
  [...catalog.byId].map(([id, metadata]) => [id, () => metadata.create()]),
);

/** Formats whose devices get a per-device key the app must be given (kept in binding.secrets). */
export const FORMATS_WITH_PUSH_KEY: ReadonlySet<string> = catalog.withPushKey;

export function createCodecs(ids: readonly string[]): Codec[] {
  return ids.map((id) => {
    const factory = CODEC_FACTORIES[id];
    if (!factory) throw new ConfigurationError(`unknown codec "${id}"`);
    return factory();
  });
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
