import { OptionsReader, definedOnly } from '@pushrelay/core';
import type { WebPushTransportOptions } from './transport.js';
import type { VapidKeySet } from './vapid.js';

function keySet(r: OptionsReader, value: unknown, path: string): VapidKeySet | undefined {
  const k = r.object(value, path);
  if (!k) return undefined;
  const app = r.string(k, 'app', path, true);
  const subject = r.string(k, 'subject', path, true);
  if (subject !== undefined && !/^(mailto:|https:)/.test(subject))
    r.fail(`${path}.subject`, 'must be a mailto: or https: URL');
  const publicKey = r.string(k, 'publicKey', path, true);
  const privateKey = r.string(k, 'privateKey', path, true);
  if (app === undefined || subject === undefined || publicKey === undefined || privateKey === undefined)
    return undefined;
  return { app, subject, publicKey, privateKey };
}

/**
 * Reads a Web Push transport's options from a configuration section (private keys already read
 * into `privateKey`). Throws core's ValidationError listing every problem with its path under
 * `path`; whether each key is a valid P-256 key is checked when the transport is built.
 */
export function parseWebPushTransportOptions(input: unknown, path = 'webpush'): WebPushTransportOptions {
  const r = new OptionsReader('Web Push transport options');
  const o = r.object(input, path);
  if (!o) return r.finish<WebPushTransportOptions>(undefined);
  const vapid = r.list(o, 'vapid', path, (value, at) => keySet(r, value, at));
  const options = definedOnly({
    vapid: vapid ?? [],
    ca: r.pem(o, 'ca', path),
    requestTimeoutMs: r.number(o, 'requestTimeoutMs', path, 'positive'),
    maxConcurrentStreams: r.number(o, 'maxConcurrentStreams', path, { min: 1 }),
    connections: r.number(o, 'connections', path, { min: 1 }),
    allowInsecureEndpoints: r.boolean(o, 'allowInsecureEndpoints', path),
    vapidLifetimeS: r.number(o, 'vapidLifetimeS', path, { min: 1 }),
  });
  return r.finish(options);
}
