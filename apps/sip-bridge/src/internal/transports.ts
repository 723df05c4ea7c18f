import { ConfigReader, createTransports, resolveSecretRefs, type TransportFactories } from '@pushrelay/app-kit';
import type { Provider, Transport } from '@pushrelay/core';
import type { BridgeConfig } from './config.js';

/** The options with every `xxxFile` / `xxxEnv` field read into `xxx`; what cannot be read is a ConfigError. */
function withSecrets(value: Record<string, unknown>, path: string, r: ConfigReader): Record<string, unknown> {
  const ctx = { env: process.env, baseDir: process.cwd(), fail: (p: string, m: string) => r.fail(p, m) };
  return resolveSecretRefs(value, path, ctx) as Record<string, unknown>;
}

/** The push transports the config asks for; a transport's own validation error names its field. */
export function transportsFromConfig(
  config: BridgeConfig,
  factories: TransportFactories,
): Partial<Record<Provider, Transport>> {
  const r = new ConfigReader();
  const sections = {
    ...(config.apns ? { apns: withSecrets(config.apns, 'apns', r) } : {}),
    ...(config.fcm ? { fcm: withSecrets(config.fcm, 'fcm', r) } : {}),
    ...(config.hms ? { hms: withSecrets(config.hms, 'hms', r) } : {}),
    ...(config.webpush ? { webpush: withSecrets(config.webpush, 'webpush', r) } : {}),
  };
  r.finish('sip-bridge config');
  return createTransports(sections, { path: (provider) => provider, factories, source: 'sip-bridge config' });
}
