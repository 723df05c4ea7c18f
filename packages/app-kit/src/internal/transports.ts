import { TransportError, type Provider, type Transport } from '@pushrelay/core';
import { createApnsTransport, type ApnsTransportOptions } from '@pushrelay/transport-apns';
import { createFcmTransport, type FcmTransportOptions } from '@pushrelay/transport-fcm';
import { createHmsTransport, type HmsTransportOptions } from '@pushrelay/transport-hms';
import { createWebPushTransport, type WebPushTransportOptions } from '@pushrelay/transport-webpush';
import { ConfigError } from './config-error.js';

/** Transport options by provider, as a configuration holds them (secrets already read). */
export type ProviderSections = Partial<Record<Provider, Record<string, unknown>>>;

// The transports check their options themselves and name the bad field in a TransportError.
const FACTORIES: Record<Provider, (options: Record<string, unknown>) => Transport> = {
  apns: (o) => createApnsTransport(o as unknown as ApnsTransportOptions),
  fcm: (o) => createFcmTransport(o as unknown as FcmTransportOptions),
  hms: (o) => createHmsTransport(o as unknown as HmsTransportOptions),
  webpush: (o) => createWebPushTransport(o as unknown as WebPushTransportOptions),
};

export interface TransportsOptions {
  /** Where a provider's section is in the configuration, for the paths of its problems. */
  path: (provider: Provider) => string;
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
    try {
      out[provider] = FACTORIES[provider](section);
    } catch (error) {
      for (const t of Object.values(out)) void t.close();
      if (!(error instanceof TransportError)) throw error;
      const path = `${options.path(provider)}${error.field ? `.${error.field}` : ''}`;
      throw new ConfigError([{ path, message: error.message }], options.source);
    }
  }
  return out;
}
