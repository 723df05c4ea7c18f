import { CodecError } from '@pushrelay/core';
import { decodeBase64 } from '../client/internal/base64.js';
import { SignalWirePushError } from '../client/internal/errors.js';
import { extractSignalWirePayload } from '../client/internal/decode.js';
import { DEFAULT_MAX_INVITE_BYTES, type SignalWirePushPayload, type VertoInvite } from '../client/internal/types.js';
import { CODEC_NAME } from './constants.js';
import { inflateInvite, openInvite } from './crypto.js';

export interface OpenSignalWirePushOptions {
  /** Largest inflated invite accepted, in bytes. Default 256 KiB. */
  maxInviteBytes?: number;
}

function bytes(text: string, path: string): Buffer {
  const b = decodeBase64(text);
  if (!b) throw new CodecError(CODEC_NAME, 'is not valid base64', { path });
  return Buffer.from(b);
}

/**
 * Server-side inverse of the encoder (node:crypto and node:zlib): reads a SignalWire push as a
 * device receives it and returns the verto invite. For simulators, tests and gateways that
 * inspect what they relay. Throws only CodecError.
 */
export function openSignalWirePush(
  push: unknown,
  key: string | undefined,
  options: OpenSignalWirePushOptions = {},
): { payload: SignalWirePushPayload; invite: VertoInvite } {
  let payload: SignalWirePushPayload;
  try {
    payload = extractSignalWirePayload(push);
  } catch (error) {
    if (error instanceof SignalWirePushError) {
      throw new CodecError(CODEC_NAME, error.message, { cause: error });
    }
    throw error;
  }
  let compressed = bytes(payload.invite, 'invite');
  if (payload.encryption_type === 'aes_256_gcm') {
    if (key === undefined)
      throw new CodecError(CODEC_NAME, 'the push is encrypted and no key was given', { path: 'key' });
    const rawKey = bytes(key, 'key');
    if (![16, 24, 32].includes(rawKey.length))
      throw new CodecError(CODEC_NAME, 'must be a 16, 24 or 32-byte key', { path: 'key' });
    const iv = bytes(payload.iv, 'iv');
    const tag = bytes(payload.tag, 'tag');
    if (iv.length === 0 || ![4, 8, 12, 13, 14, 15, 16].includes(tag.length)) {
      throw new CodecError(CODEC_NAME, 'iv or tag has an impossible length', { path: 'tag' });
    }
    try {
      compressed = openInvite(compressed, rawKey, iv, tag);
    } catch (error) {
      throw new CodecError(CODEC_NAME, 'authentication failed (wrong key or altered payload)', {
        path: 'invite',
        cause: error,
      });
    }
  }
  const limit = options.maxInviteBytes ?? DEFAULT_MAX_INVITE_BYTES;
  let text: string;
  try {
    text = inflateInvite(compressed, limit).toString('utf8');
  } catch (error) {
    const tooLarge = (error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE';
    throw new CodecError(CODEC_NAME, tooLarge ? `inflates to more than ${limit} bytes` : 'is not a zlib stream', {
      path: 'invite',
      cause: error,
    });
  }
  let invite: unknown;
  try {
    invite = JSON.parse(text);
  } catch (error) {
    throw new CodecError(CODEC_NAME, 'does not inflate to JSON', { path: 'invite', cause: error });
  }
  const v = invite as { params?: { params?: unknown } };
  if (typeof v !== 'object' || v === null || typeof v.params?.params !== 'object' || v.params.params === null) {
    throw new CodecError(CODEC_NAME, 'is no verto invite (params.params missing)', { path: 'invite' });
  }
  return { payload, invite: invite as VertoInvite };
}
