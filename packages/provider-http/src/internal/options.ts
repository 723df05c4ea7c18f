import type { OptionsReader } from '@pushrelay/core';
import type { ProviderConnectionOptions } from './agent.js';

/** The connection options every HTTP provider transport shares, read from a configuration section. */
export function readConnectionOptions(
  r: OptionsReader,
  record: Record<string, unknown>,
  path: string,
): Omit<ProviderConnectionOptions, 'clock'> {
  return {
    ca: r.pem(record, 'ca', path),
    refreshMarginMs: r.number(record, 'refreshMarginMs', path, { min: 0 }),
    requestTimeoutMs: r.number(record, 'requestTimeoutMs', path, 'positive'),
    connections: r.number(record, 'connections', path, { min: 1 }),
    maxConcurrentStreams: r.number(record, 'maxConcurrentStreams', path, { min: 1 }),
  };
}
