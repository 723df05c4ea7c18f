import { OptionsReader, definedOnly, readUrl } from '@pushrelay/core';
import { readConnectionOptions } from '@pushrelay/provider-http';
import { HMS_APIS, type HmsAppCredential } from './credentials.js';
import type { HmsTransportOptions } from './transport.js';

function credential(r: OptionsReader, value: unknown, path: string): HmsAppCredential | undefined {
  const c = r.object(value, path);
  if (!c) return undefined;
  const appId = r.string(c, 'appId', path, true);
  const sa = c.serviceAccount;
  let serviceAccount: HmsAppCredential['serviceAccount'];
  if (sa !== undefined) {
    if (typeof sa === 'string' && sa !== '') serviceAccount = sa;
    else {
      const record = r.object(sa, `${path}.serviceAccount`);
      if (record) {
        for (const key of Object.keys(record)) r.string(record, key, `${path}.serviceAccount`);
        serviceAccount = record;
      }
    }
  }
  const read = definedOnly({
    clientSecret: r.string(c, 'clientSecret', path),
    clientId: r.string(c, 'clientId', path),
    projectId: r.string(c, 'projectId', path),
    serviceAccount,
    api: r.oneOf(c, 'api', path, HMS_APIS),
    testMessage: r.boolean(c, 'testMessage', path),
  });
  if (read.clientSecret === undefined && sa === undefined) {
    r.fail(`${path}.clientSecret`, 'is required (or serviceAccount for v3)');
  }
  return appId === undefined ? undefined : { appId, ...read };
}

/**
 * Reads an HMS transport's options from a configuration section (secrets already read into
 * `clientSecret` / `serviceAccount`). Throws core's ValidationError listing every problem with
 * its path under `path`; a clock is given in code.
 */
export function parseHmsTransportOptions(input: unknown, path = 'hms'): HmsTransportOptions {
  const r = new OptionsReader('HMS transport options');
  const o = r.object(input, path);
  if (!o) return r.finish<HmsTransportOptions>(undefined);
  const credentials = r.list(o, 'credentials', path, (value, at) => credential(r, value, at));
  const options = definedOnly({
    ...readConnectionOptions(r, o, path),
    credentials: credentials ?? [],
    baseUrl: readUrl(r, o, 'baseUrl', path),
    tokenUrl: readUrl(r, o, 'tokenUrl', path),
    unprovenInvalidTokenLimit: r.number(o, 'unprovenInvalidTokenLimit', path, { min: 0 }),
  });
  return r.finish(options);
}
