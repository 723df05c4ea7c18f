import { ConfigurationError, type Codec, type Provider, type Transport } from '@pushrelay/core';
import { createEcssCodec } from '@pushrelay/codec-ecss';
import { createKaleyraCodec } from '@pushrelay/codec-kaleyra';
import { createMizutechCodec } from '@pushrelay/codec-mizutech';
import { createSignalWireCodec } from '@pushrelay/codec-signalwire';
import { createWazoCodec } from '@pushrelay/codec-wazo';
import { createApnsTransport, type ApnsTransportOptions } from '@pushrelay/transport-apns';
import { createFcmTransport, type FcmTransportOptions } from '@pushrelay/transport-fcm';
import { createHmsTransport, type HmsTransportOptions } from '@pushrelay/transport-hms';
import { createWebPushTransport, type WebPushTransportOptions } from '@pushrelay/transport-webpush';
import type { GatewayConfig } from './config.js';

/** The codecs the gateway can enable by id. */
export const CODEC_FACTORIES: Record<string, () => Codec> = {
  wazo: () => createWazoCodec(),
  kaleyra: () => createKaleyraCodec(),
  signalwire: () => createSignalWireCodec(),
  mizutech: () => createMizutechCodec(),
  ecss: () => createEcssCodec(),
};

/** Formats whose devices get a per-device key the app must be given (kept in binding.secrets). */
export const FORMATS_WITH_PUSH_KEY = new Set(['signalwire']);

export function createCodecs(ids: readonly string[]): Codec[] {
  return ids.map((id) => {
    const factory = CODEC_FACTORIES[id];
    if (!factory) throw new ConfigurationError(`unknown codec "${id}"`);
    return factory();
  });
}

/** Builds the transports the configuration has options for; their own checks name the bad field. */
export function createTransports(providers: GatewayConfig['providers']): Partial<Record<Provider, Transport>> {
  const out: Partial<Record<Provider, Transport>> = {};
  if (providers.apns) out.apns = createApnsTransport(providers.apns as unknown as ApnsTransportOptions);
  if (providers.fcm) out.fcm = createFcmTransport(providers.fcm as unknown as FcmTransportOptions);
  if (providers.hms) out.hms = createHmsTransport(providers.hms as unknown as HmsTransportOptions);
  if (providers.webpush) {
    out.webpush = createWebPushTransport(providers.webpush as unknown as WebPushTransportOptions);
  }
  return out;
}

/** What the device API needs to know of the Web Push configuration. */
export interface WebPushPolicy {
  /** The VAPID key sets by app: a subscription names one in `app`. Empty when webpush is not configured. */
  keys: Map<string, string>;
  allowInsecureEndpoints: boolean;
}

export function webPushPolicy(providers: GatewayConfig['providers']): WebPushPolicy {
  const options = providers.webpush;
  const keys = new Map<string, string>();
  const sets = Array.isArray(options?.['vapid']) ? (options['vapid'] as unknown[]) : [];
  for (const set of sets) {
    const { app, publicKey } = (set ?? {}) as { app?: unknown; publicKey?: unknown };
    if (typeof app === 'string' && typeof publicKey === 'string') keys.set(app, publicKey);
  }
  return { keys, allowInsecureEndpoints: options?.['allowInsecureEndpoints'] === true };
}
