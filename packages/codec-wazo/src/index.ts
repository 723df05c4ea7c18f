import type { CodecMetadata } from '@pushrelay/core';
import { createWazoCodec } from './internal/codec.js';

export { createWazoCodec } from './internal/codec.js';
export type { WazoCodecOptions } from './internal/codec.js';
export type { WazoBusEvent, WazoNotificationRequest, WazoVendorData } from './internal/types.js';
export { translateLegacyFcm, translateApnsProxy, PROXY_RECIPIENT } from './internal/proxy.js';
export type { LegacyFcmSend, ApnsProxySend, ProxyContext, LegacyFcmContext, ProxiedPush } from './internal/proxy.js';
export { pythonJsonDumps, pythonIsoformat } from './internal/python-json.js';
export { RESERVED_TYPES as WAZO_RESERVED_TYPES, BUS_EVENTS as WAZO_BUS_EVENTS } from './internal/constants.js';

/** The codec with Wazo's defaults: id `wazo`, topics `org.wazo-platform(.voip)`, timestamps from the send time. */
export const wazoCodec = createWazoCodec();

/** What this package offers an app: the \`wazo\` format, its providers, and whether devices need a push key. */
export const codecMetadata: CodecMetadata = {
  id: 'wazo',
  providers: wazoCodec.capabilities.providers,
  devicePushKey: false,
  create: () => createWazoCodec(),
};
