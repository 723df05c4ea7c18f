import { CodecError, type Environment } from '@pushrelay/core';

export const CODEC_ID = 'mizutech';

export type MizuPushHeaderProblem = 'malformed' | 'unknown_provider';

/** An X-MPUSH header the registrar cannot turn into a device binding. */
export class MizuPushHeaderError extends CodecError {
  readonly problem: MizuPushHeaderProblem;
  constructor(problem: MizuPushHeaderProblem, message: string, path: string) {
    super(CODEC_ID, message, { path });
    this.problem = problem;
  }
}

/** What an X-MPUSH header says about a device; add tenant and user to get a DeviceBindingInput. */
export interface MizuPushBinding {
  provider: 'apns' | 'fcm';
  /** The PACKAGE part: the iOS bundle id or the Android package name. */
  app: string;
  token: string;
  /** APNs tokens from Mizutech apps are PushKit tokens; Android gets data messages. */
  pushKind: 'voip' | 'data';
  environment: Environment;
  format: 'mizutech';
  origin: 'sip-x-mpush';
}

export interface ParseMizuPushHeaderOptions {
  /** The header does not say whether an APNs token is a sandbox one. Default `production`. */
  environment?: Environment;
}

const PROVIDERS: Record<string, 'apns' | 'fcm'> = { i: 'apns', a: 'fcm' };
const PACKAGE_PATTERN = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;
// Tokens are opaque but printable: APNs hex, FCM `<instance>:<secret>`.
const TOKEN_PATTERN = /^[\x21-\x7e]+$/;
const MAX_TOKEN = 4096;

/**
 * Reads `X-MPUSH: PROVIDER:PACKAGE:TOKEN` (the value after the colon of the header name).
 * Splits on the first two colons only: FCM tokens, and some APNs tokens Mizutech apps send,
 * hold colons themselves.
 */
export function parseMizuPushHeader(value: string, options: ParseMizuPushHeaderOptions = {}): MizuPushBinding {
  if (typeof value !== 'string') {
    throw new MizuPushHeaderError('malformed', 'must be a string', 'X-MPUSH');
  }
  const text = value.trim();
  const first = text.indexOf(':');
  const second = first < 0 ? -1 : text.indexOf(':', first + 1);
  if (first < 0 || second < 0) {
    throw new MizuPushHeaderError('malformed', 'must be PROVIDER:PACKAGE:TOKEN', 'X-MPUSH');
  }
  const letter = text.slice(0, first).trim();
  const app = text.slice(first + 1, second).trim();
  const token = text.slice(second + 1).trim();
  const provider = PROVIDERS[letter.toLowerCase()];
  if (provider === undefined) {
    throw new MizuPushHeaderError(
      'unknown_provider',
      `unknown provider "${letter.slice(0, 16)}" (i = APNs, a = Android FCM)`,
      'X-MPUSH.provider',
    );
  }
  if (!PACKAGE_PATTERN.test(app) || app.length > 255) {
    throw new MizuPushHeaderError('malformed', 'must be a bundle id or package name', 'X-MPUSH.package');
  }
  if (token.length === 0 || token.length > MAX_TOKEN || !TOKEN_PATTERN.test(token)) {
    throw new MizuPushHeaderError(
      'malformed',
      `must be 1 to ${MAX_TOKEN} printable characters without spaces`,
      'X-MPUSH.token',
    );
  }
  return {
    provider,
    app,
    token,
    pushKind: provider === 'apns' ? 'voip' : 'data',
    environment: options.environment ?? 'production',
    format: 'mizutech',
    origin: 'sip-x-mpush',
  };
}
