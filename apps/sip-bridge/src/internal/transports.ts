import { readFileSync } from 'node:fs';
import { TransportError, ValidationError, type Provider, type Transport } from '@pushrelay/core';
import { createApnsTransport, type ApnsTransportOptions } from '@pushrelay/transport-apns';
import { createFcmTransport, type FcmTransportOptions } from '@pushrelay/transport-fcm';
import { createHmsTransport, type HmsTransportOptions } from '@pushrelay/transport-hms';
import { createWebPushTransport, type WebPushTransportOptions } from '@pushrelay/transport-webpush';
import type { BridgeConfig } from './config.js';

const FILE_FIELDS = ['key', 'cert', 'pfx', 'ca', 'serviceAccount', 'clientSecret', 'privateKey'] as const;
/** Fields read from a file whose surrounding whitespace (the final newline) is not part of the value. */
const TRIMMED = new Set<string>(['clientSecret', 'privateKey']);

/** Replaces `<field>File` entries by the file's content, anywhere in the options. */
function inlineFiles(value: unknown, path: string): unknown {
  if (Array.isArray(value)) return value.map((v, i) => inlineFiles(v, `${path}[${i}]`));
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [name, v] of Object.entries(value)) {
    const field = FILE_FIELDS.find((f) => name === `${f}File`);
    if (field && typeof v === 'string') {
      try {
        const text = readFileSync(v, 'utf8');
        out[field] = TRIMMED.has(field) ? text.trim() : text;
      } catch (error) {
        throw new ValidationError(
          [{ path: `${path}.${name}`, message: `cannot read ${v}: ${(error as Error).message}` }],
          'sip-bridge config',
        );
      }
    } else out[name] = inlineFiles(v, `${path}.${name}`);
  }
  return out;
}

/** The push transports the config asks for; a transport's own validation error names its field. */
export function transportsFromConfig(config: BridgeConfig): Partial<Record<Provider, Transport>> {
  const transports: Partial<Record<Provider, Transport>> = {};
  if (config.apns)
    transports.apns = build('apns', () =>
      createApnsTransport(inlineFiles(config.apns, 'apns') as unknown as ApnsTransportOptions),
    );
  if (config.fcm)
    transports.fcm = build('fcm', () =>
      createFcmTransport(inlineFiles(config.fcm, 'fcm') as unknown as FcmTransportOptions),
    );
  if (config.hms)
    transports.hms = build('hms', () =>
      createHmsTransport(inlineFiles(config.hms, 'hms') as unknown as HmsTransportOptions),
    );
  if (config.webpush)
    transports.webpush = build('webpush', () =>
      createWebPushTransport(inlineFiles(config.webpush, 'webpush') as unknown as WebPushTransportOptions),
    );
  return transports;
}

function build(section: string, make: () => Transport): Transport {
  try {
    return make();
  } catch (error) {
    if (error instanceof TransportError) {
      throw new ValidationError(
        [{ path: `${section}${error.field ? `.${error.field}` : ''}`, message: error.message }],
        'sip-bridge config',
      );
    }
    throw error;
  }
}
