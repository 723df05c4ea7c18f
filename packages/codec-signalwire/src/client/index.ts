/**
 * Decoder for the device side: turns a received SignalWire push back into the verto invite.
 * Runs in browsers and React Native: WebCrypto and pako only, no Node built-ins.
 */
export { decodeSignalWirePush, extractSignalWirePayload, readPushKey } from './internal/decode.js';
export type { DecodeSignalWirePushOptions, DecodedSignalWirePush, SubtleCryptoLike } from './internal/decode.js';
export { SignalWirePushError } from './internal/errors.js';
export type { SignalWirePushErrorCode } from './internal/errors.js';
export { DEFAULT_MAX_INVITE_BYTES } from './internal/types.js';
export type { SignalWirePushPayload, VertoInvite, VertoInviteParams } from './internal/types.js';
