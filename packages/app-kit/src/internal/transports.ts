import { TransportError, ValidationError, type Provider, type Transport } from '@pushrelay/core';
import { ConfigError } from './config-error.js';

/** Transport options by provider, as a configuration holds them (secrets already read). */
export type ProviderSections = Partial<Record<Provider, Record<string, unknown>>>;

/** Builds one provider's transport from its section; what it refuses names `path`. */
export type TransportFactory = (section: unknown, path: string) => Transport;

/** The factories of the providers a configuration has options for, from `loadTransports`. */
export type TransportFactories = Partial<Record<Provider, TransportFactory>>;

/**
 * Each transport package reads its own section (a ValidationError with the path of every
 * problem) and then checks what only building it can (keys, certificates: a TransportError).
 * Imported on demand: a provider without options costs nothing, web-push and the HTTP clients
 * included.
 */
const IMPORTERS: Record<Provider, () => Promise<TransportFactory>> = {
  apns: async () => {
    const { createApnsTransport, parseApnsTransportOptions } = await import('@pushrelay/transport-apns');
    return (section, path) => createApnsTransport(parseApnsTransportOptions(section, path));
  },
  fcm: async () => {
    const { createFcmTransport, parseFcmTransportOptions } = await import('@pushrelay/transport-fcm');
    return (section, path) => createFcmTransport(parseFcmTransportOptions(section, path));
  },
  hms: async () => {
    const { createHmsTransport, parseHmsTransportOptions } = await import('@pushrelay/transport-hms');
    return (section, path) => createHmsTransport(parseHmsTransportOptions(section, path));
  },
  webpush: async () => {
    const { createWebPushTransport, parseWebPushTransportOptions } = await import('@pushrelay/transport-webpush');
    return (section, path) => createWebPushTransport(parseWebPushTransportOptions(section, path));
  },
};

/** Imports the transport packages of the providers the sections have options for, and only those. */
export async function loadTransports(sections: ProviderSections): Promise<TransportFactories> {
  const providers = (Object.keys(sections) as Provider[]).filter((p) => sections[p] && Object.hasOwn(IMPORTERS, p));
  const factories = await Promise.all(providers.map((p) => IMPORTERS[p]()));
  return Object.fromEntries(providers.map((p, i) => [p, factories[i]!]));
}

export interface TransportsOptions {
  /** Where a provider's section is in the configuration, for the paths of its problems. */
  path: (provider: Provider) => string;
  /** The loaded transport packages (`loadTransports`), one for each section. */
  factories: TransportFactories;
  source?: string;
}

/**
 * The transports of every provider the configuration has options for. What a transport refuses
 * is one ConfigError with the path of the field; the transports built before it are closed.
 */
export function createTransports(
  sections: ProviderSections,
  options: TransportsOptions,
): Partial<Record<Provider, Transport>> {
  const out: Partial<Record<Provider, Transport>> = {};
  for (const [provider, section] of Object.entries(sections) as [Provider, Record<string, unknown> | undefined][]) {
    if (!section) continue;
    const at = options.path(provider);
    try {
      const factory = options.factories[provider];
      if (!factory)
        throw new ConfigError(
          [{ path: at, message: 'its transport is imported asynchronously: load it first (loadTransports)' }],
          options.source,
        );
      out[provider] = factory(section, at);
    } catch (error) {
      for (const t of Object.values(out)) void t.close();
      if (error instanceof ConfigError) throw error;
      if (error instanceof ValidationError) throw new ConfigError(error.issues, options.source);
      if (!(error instanceof TransportError)) throw error;
      const path = `${at}${error.field ? `.${error.field}` : ''}`;
      throw new ConfigError([{ path, message: error.message }], options.source);
    }
  }
  return out;
}
