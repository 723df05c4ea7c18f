import { lookup } from 'node:dns/promises';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import type { ConnectionOptions, SecureContextOptions } from 'node:tls';
import { ConfigError } from '@pushrelay/app-kit';
import type { TlsConfig, TrunkConfig } from './config.js';
import type { ResolvedTrunk } from './trunk.js';

/** The TLS listener's certificate and key, and the CA for connections it opens, read from their files. */
export async function loadTlsCredentials(
  tls: TlsConfig,
): Promise<{ server: SecureContextOptions; client: ConnectionOptions }> {
  const read = async (path: string, field: string): Promise<string> => {
    try {
      return await readFile(path, 'utf8');
    } catch (error) {
      throw new ConfigError(
        [{ path: `tls.${field}`, message: `cannot read ${path}: ${(error as Error).message}` }],
        'sip-bridge config',
      );
    }
  };
  const [cert, key, ca] = await Promise.all([
    read(tls.certFile, 'certFile'),
    read(tls.keyFile, 'keyFile'),
    tls.caFile === undefined ? Promise.resolve(undefined) : read(tls.caFile, 'caFile'),
  ]);
  return { server: { cert, key }, client: ca === undefined ? {} : { ca } };
}

/**
 * The trunk's address, looked up once at start (the SIP stack takes IP addresses; no SRV or
 * NAPTR). Source addresses naming the trunk's host name are resolved the same way.
 */
export async function resolveTrunk(trunk: TrunkConfig): Promise<ResolvedTrunk> {
  const resolve = async (host: string, path: string): Promise<string> => {
    if (isIP(host)) return host;
    try {
      return (await lookup(host, { family: 4 })).address;
    } catch (error) {
      throw new ConfigError(
        [{ path, message: `cannot resolve ${host}: ${(error as Error).message}` }],
        'sip-bridge config',
      );
    }
  };
  const address = await resolve(trunk.host, 'trunk.uri');
  const sources = await Promise.all(
    trunk.sources.map(async (s, i) => ({ ...s, host: await resolve(s.host, `trunk.sources[${i}]`) })),
  );
  return { ...trunk, address, sources };
}
