import { TransportError, ValidationError, type Provider, type Transport } from '@pushrelay/core';
import { createApnsTransport, parseApnsTransportOptions } from '@pushrelay/transport-apns';
import { createFcmTransport, parseFcmTransportOptions } from '@pushrelay/transport-fcm';
import { createHmsTransport, parseHmsTransportOptions } from '@pushrelay/transport-hms';
import { createWebPushTransport, parseWebPushTransportOptions } from '@pushrelay/transport-webpush';
import { ConfigError } from './config-error.js';

/** Transport options by provider, as a configuration holds them (secrets already read). */
export type ProviderSections = Partial<Record<Provider, Record<string, unknown>>>;

/**
 * Each transport package reads its own section (a ValidationError with the path of every
 * problem) and then checks what only building it can (keys, certificates: a TransportError).
 */
const FACTORIES: Record<Provider, (section: unknown, path: string) => Transport> = {
  apns: (section, path) => createApnsTransport(parseApnsTransportOptions(section, path)),
  fcm: (section, path) => createFcmTransport(parseFcmTransportOptions(section, path)),
  hms: (section, path) => createHmsTransport(parseHmsTransportOptions(section, path)),
  webpush: (section, path) => createWebPushTransport(parseWebPushTransportOptions(section, path)),
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
    const at = options.path(provider);
    try {
      out[provider] = FACTORIES[provider](section, at);
    } catch (error) {
      for (const t of Object.values(out)) void t.close();
      if (error instanceof ValidationError) throw new ConfigError(error.issues, options.source);
      if (!(error instanceof TransportError)) throw error;
      const path = `${at}${error.field ? `.${error.field}` : ''}`;
      throw new ConfigError([{ path, message: error.message }], options.source);
    }
  }
  return out;
}
