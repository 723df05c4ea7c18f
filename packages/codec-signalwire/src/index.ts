import type { CodecMetadata } from '@pushrelay/core';
import { createSignalWireCodec } from './internal/codec.js';

export { createSignalWireCodec } from './internal/codec.js';
export type { SignalWireCodecOptions, SignalWireCallInput } from './internal/codec.js';
export { generatePushKey } from './internal/crypto.js';
export type { RandomBytes } from './internal/crypto.js';
export { openSignalWirePush } from './internal/open.js';
export type { OpenSignalWirePushOptions } from './internal/open.js';
export type { SignalWirePushPayload, VertoInvite, VertoInviteParams } from './client/internal/types.js';

/** The codec with its defaults: id `signalwire`, random IVs, key in `binding.secrets.pushKey`. */
export const signalWireCodec = createSignalWireCodec();

/** What this package offers an app: the \`signalwire\` format, its providers, and whether devices need a push key. */
export const codecMetadata: CodecMetadata = {
  id: 'signalwire',
  providers: signalWireCodec.capabilities.providers,
  devicePushKey: true,
  create: () => createSignalWireCodec(),
};
