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
