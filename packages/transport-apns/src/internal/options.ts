import { OptionsReader, definedOnly, optionPath, type Environment } from '@pushrelay/core';
import type { ApnsAppOptions, ApnsCredential, ApnsTransportOptions } from './transport.js';

const CREDENTIAL_TYPES = ['token', 'certificate', 'pkcs12'] as const;

function credential(r: OptionsReader, value: unknown, path: string): ApnsCredential | undefined {
  const c = r.object(value, path);
  if (!c) return undefined;
  const type = r.oneOf(c, 'type', path, CREDENTIAL_TYPES);
  if (c.type === undefined) return r.fail(optionPath(path, 'type'), 'must be one of token, certificate, pkcs12');
  const key = () => r.pem(c, 'key', path) ?? r.fail(optionPath(path, 'key'), 'is required');
  const passphrase = r.string(c, 'passphrase', path);
  switch (type) {
    case 'token': {
      const keyId = r.string(c, 'keyId', path, true);
      const teamId = r.string(c, 'teamId', path, true);
      const k = key();
      if (keyId === undefined || teamId === undefined || k === undefined || Array.isArray(k)) return undefined;
      return { type, key: k, keyId, teamId };
    }
    case 'certificate': {
      const cert = r.pem(c, 'cert', path) ?? r.fail(optionPath(path, 'cert'), 'is required');
      const k = key();
      if (cert === undefined || k === undefined || Array.isArray(cert) || Array.isArray(k)) return undefined;
      return definedOnly({ type, cert, key: k, passphrase });
    }
    case 'pkcs12': {
      const pfx = r.pem(c, 'pfx', path) ?? r.fail(optionPath(path, 'pfx'), 'is required');
      if (pfx === undefined || Array.isArray(pfx)) return undefined;
      return definedOnly({ type, pfx, passphrase });
    }
    default:
      return undefined;
  }
}

function app(r: OptionsReader, value: unknown, path: string): ApnsAppOptions | undefined {
  const a = r.object(value, path);
  if (!a) return undefined;
  const bundleId = r.string(a, 'bundleId', path, true);
  const read = (key: 'credential' | Environment) =>
    a[key] === undefined ? undefined : credential(r, a[key], optionPath(path, key));
  const credentials = { credential: read('credential'), production: read('production'), sandbox: read('sandbox') };
  if (a.credential === undefined && a.production === undefined && a.sandbox === undefined) {
    r.fail(optionPath(path, 'credential'), 'is required (or production / sandbox)');
  }
  if (bundleId === undefined) return undefined;
  return definedOnly({ bundleId, ...credentials });
}

/** A string or number for both environments, or `{production, sandbox}`. */
function perEnvironment<T extends string | number>(
  r: OptionsReader,
  record: Record<string, unknown>,
  key: string,
  path: string,
  read: (record: Record<string, unknown>, key: string, path: string) => T | undefined,
): T | Partial<Record<Environment, T>> | undefined {
  const value = record[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null) return read(record, key, path);
  const at = optionPath(path, key);
  const both = r.object(value, at);
  if (!both) return undefined;
  for (const k of Object.keys(both)) {
    if (k !== 'production' && k !== 'sandbox') r.fail(optionPath(at, k), 'must be production or sandbox');
  }
  return definedOnly({ production: read(both, 'production', at), sandbox: read(both, 'sandbox', at) });
}

/**
 * Reads an APNs transport's options from a configuration section (secrets already read into
 * `key`, `cert`, `pfx`, `ca`). Throws core's ValidationError listing every problem with its path
 * under `path`; what the options cannot say (a clock) is left to code.
 */
export function parseApnsTransportOptions(input: unknown, path = 'apns'): ApnsTransportOptions {
  const r = new OptionsReader('APNs transport options');
  const o = r.object(input, path);
  if (!o) return r.finish<ApnsTransportOptions>(undefined);
  const apps = r.list(o, 'apps', path, (value, at) => app(r, value, at));
  const options = definedOnly({
    apps: apps ?? [],
    address: perEnvironment(r, o, 'address', path, (rec, k, p) => r.string(rec, k, p)),
    port: perEnvironment(r, o, 'port', path, (rec, k, p) => {
      const port = r.number(rec, k, p, { min: 1 });
      return port !== undefined && port > 65_535 ? r.fail(optionPath(p, k), 'must be a port number') : port;
    }),
    ca: r.pem(o, 'ca', path),
    poolSize: r.number(o, 'poolSize', path, { min: 1 }),
    requestTimeoutMs: r.number(o, 'requestTimeoutMs', path, 'positive'),
    heartBeatMs: r.number(o, 'heartBeatMs', path, { min: 0 }),
    maxResends: r.number(o, 'maxResends', path, { min: 0 }),
    maxStreamsPerConnection: r.number(o, 'maxStreamsPerConnection', path, { min: 1 }),
  });
  return r.finish(options);
}
