import { OptionsReader, definedOnly, readUrl } from '@pushrelay/core';
import { readConnectionOptions } from '@pushrelay/provider-http';
import type { FcmProjectCredential, FcmTransportOptions } from './transport.js';

function credential(r: OptionsReader, value: unknown, path: string): FcmProjectCredential | undefined {
  const c = r.object(value, path);
  if (!c) return undefined;
  const projectId = r.string(c, 'projectId', path);
  const sa = c.serviceAccount;
  if (sa === undefined) return r.fail(`${path}.serviceAccount`, 'is required (the key file, or serviceAccountFile)');
  if (!(typeof sa === 'string' && sa !== '') && (typeof sa !== 'object' || sa === null || Array.isArray(sa))) {
    return r.fail(`${path}.serviceAccount`, 'must be the key file JSON, as text or an object');
  }
  return definedOnly({ serviceAccount: sa, projectId });
}

/**
 * Reads an FCM transport's options from a configuration section (a key file already read into
 * `serviceAccount`). Throws core's ValidationError listing every problem with its path under
 * `path`. The key file's own fields are checked when the transport is built; a token provider
 * and a clock are given in code.
 */
export function parseFcmTransportOptions(input: unknown, path = 'fcm'): FcmTransportOptions {
  const r = new OptionsReader('FCM transport options');
  const o = r.object(input, path);
  if (!o) return r.finish<FcmTransportOptions>(undefined);
  const credentials = r.list(o, 'credentials', path, (value, at) => credential(r, value, at));
  const options = definedOnly({
    ...readConnectionOptions(r, o, path),
    credentials: credentials ?? [],
    baseUrl: readUrl(r, o, 'baseUrl', path),
    tokenUrl: readUrl(r, o, 'tokenUrl', path),
  });
  return r.finish(options);
}
