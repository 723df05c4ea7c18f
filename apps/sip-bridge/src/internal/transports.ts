import { ConfigError, ConfigReader, resolveSecretRefs } from '@pushrelay/app-kit';
import { TransportError, type Provider, type Transport } from '@pushrelay/core';
import { createApnsTransport, type ApnsTransportOptions } from '@pushrelay/transport-apns';
import { createFcmTransport, type FcmTransportOptions } from '@pushrelay/transport-fcm';
import { createHmsTransport, type HmsTransportOptions } from '@pushrelay/transport-hms';
import type { BridgeConfig } from './config.js';

/** The options with every `xxxFile` / `xxxEnv` field read into `xxx`; what cannot be read is a ConfigError. */
function withSecrets(value: Record<string, unknown>, path: string): Record<string, unknown> {
  const r = new ConfigReader();
  const out = resolveSecretRefs(value, path, {
    env: process.env,
    baseDir: process.cwd(),
    fail: (p, m) => r.fail(p, m),
  }) as Record<string, unknown>;
  r.finish('sip-bridge config');
  return out;
}

/** The push transports the config asks for; a transport's own validation error names its field. */
export function transportsFromConfig(config: BridgeConfig): Partial<Record<Provider, Transport>> {
  const transports: Partial<Record<Provider, Transport>> = {};
  if (config.apns)
    transports.apns = build('apns', () =>
      createApnsTransport(withSecrets(config.apns!, 'apns') as unknown as ApnsTransportOptions),
    );
  if (config.fcm)
    transports.fcm = build('fcm', () =>
      createFcmTransport(withSecrets(config.fcm!, 'fcm') as unknown as FcmTransportOptions),
    );
  if (config.hms)
    transports.hms = build('hms', () =>
      createHmsTransport(withSecrets(config.hms!, 'hms') as unknown as HmsTransportOptions),
    );
  return transports;
}

function build(section: string, make: () => Transport): Transport {
  try {
    return make();
  } catch (error) {
    if (error instanceof TransportError) {
      throw new ConfigError(
        [{ path: `${section}${error.field ? `.${error.field}` : ''}`, message: error.message }],
        'sip-bridge config',
      );
    }
    throw error;
  }
}
