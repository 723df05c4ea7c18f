import {
  CodecError,
  payloadLimit,
  payloadSize,
  voipTopic,
  type CallNotification,
  type CallParty,
  type DeviceBinding,
  type PushRequest,
} from '@pushrelay/core';
import { CODEC_ID } from './header.js';

/** The `n*` data keys Mizutech apps read. */
export const MIZU_DATA_KEYS = ['ntype', 'nfromusername', 'nfrom', 'nmsg', 'ncallid', 'ntousr'] as const;
export type MizuDataKey = (typeof MIZU_DATA_KEYS)[number];

export interface MizuTexts {
  /** `aps.alert.title`, and `nmsg`. */
  title: (caller: string) => string;
  /** `aps.alert.body`. */
  body: (caller: string) => string;
}

export interface EncodeSettings {
  texts: MizuTexts;
  sound: string;
  badge: number;
  fcmDataKeys: readonly MizuDataKey[];
  fcmExpiry: 'deadline' | 'now-or-never';
}

/** `ntype` of an incoming call, the only value Mizutech's example shows. */
const NTYPE_INCOMING_CALL = 0;

function fail(path: string, message: string): never {
  throw new CodecError(CODEC_ID, message, { path });
}

/** `sip:1234@host` -> `1234`; anything else as it is. */
function userPart(uri: string): string {
  const m = /^sips?:([^@;>]+)@/i.exec(uri);
  return m ? decodeURIComponentSafe(m[1]!) : uri;
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function address(party: CallParty | undefined): string | undefined {
  if (!party) return undefined;
  return party.number ?? (party.uri !== undefined ? userPart(party.uri) : undefined);
}

export function encodeNotification(
  n: CallNotification,
  binding: DeviceBinding,
  settings: EncodeSettings,
): PushRequest | null {
  if (n.type === 'register_refresh') return encodeRegisterRefresh(n, binding);
  // Mizutech documents only the incoming-call push; a VoIP push must always ring (CallKit).
  if (n.type !== 'incoming_call') return null;
  if (!n.call) fail('call', 'is required for incoming_call');
  const caller = address(n.call.from) ?? n.call.from.displayName;
  if (caller === undefined) fail('call.from', 'must have a number, uri or displayName');
  const title = settings.texts.title(caller);
  const data = {
    ntype: NTYPE_INCOMING_CALL,
    nfromusername: n.call.from.displayName ?? caller,
    nfrom: caller,
    nmsg: title,
    ncallid: n.call.id,
    ntousr: address(n.call.to) ?? n.recipient,
  };

  let request: PushRequest;
  if (binding.provider === 'apns') {
    const voip = binding.pushKind === 'voip';
    request = {
      provider: 'apns',
      token: binding.token,
      app: binding.app,
      environment: binding.environment,
      pushType: voip ? 'voip' : 'alert',
      priority: 'high',
      // apns-expiration 0: a call push is delivered now or never.
      expiresAt: null,
      headers: { 'apns-topic': voip ? voipTopic(binding.app) : binding.app },
      payload: {
        aps: {
          alert: { title, body: settings.texts.body(caller) },
          'content-available': 1,
          sound: settings.sound,
          badge: settings.badge,
        },
        data,
      },
    };
  } else if (binding.provider === 'fcm') {
    const strings: Record<string, string> = {};
    for (const key of settings.fcmDataKeys) strings[key] = String(data[key]);
    const deadline = Date.parse(n.deadline);
    if (settings.fcmExpiry === 'deadline' && Number.isNaN(deadline)) fail('deadline', 'must be an ISO 8601 date-time');
    request = {
      provider: 'fcm',
      token: binding.token,
      app: binding.app,
      environment: binding.environment,
      pushType: 'background',
      priority: 'high',
      expiresAt: settings.fcmExpiry === 'deadline' ? deadline : null,
      payload: { android: { priority: 'high' }, data: strings },
    };
  } else {
    return fail('binding.provider', `Mizutech apps take APNs or FCM pushes, not ${binding.provider}`);
  }
  const size = payloadSize(request);
  const limit = payloadLimit(request);
  if (size > limit) {
    fail('call', `the ${binding.provider} payload would be ${size} bytes, over the ${limit}-byte limit`);
  }
  return request;
}

/** `nmsg` of a registration refresh; Mizutech apps re-REGISTER on any data push carrying `nmsg`. */
export const REGISTER_REFRESH_NMSG = 'register';

/**
 * A silent push that makes the app REGISTER again: FCM data with `nmsg`, or an APNs background
 * push to an alert token. A VoIP token gets nothing: PushKit pushes must report a call.
 */
function encodeRegisterRefresh(n: CallNotification, binding: DeviceBinding): PushRequest | null {
  const deadline = Date.parse(n.deadline);
  if (Number.isNaN(deadline)) fail('deadline', 'must be an ISO 8601 date-time');
  if (binding.provider === 'apns') {
    if (binding.pushKind === 'voip') return null;
    return {
      provider: 'apns',
      token: binding.token,
      app: binding.app,
      environment: binding.environment,
      pushType: 'background',
      // APNs throttles priority 10 background pushes; 5 is what it takes for content-available.
      priority: 'normal',
      expiresAt: deadline,
      headers: { 'apns-topic': binding.app },
      payload: { aps: { 'content-available': 1 }, data: { nmsg: REGISTER_REFRESH_NMSG } },
    };
  }
  if (binding.provider === 'fcm') {
    return {
      provider: 'fcm',
      token: binding.token,
      app: binding.app,
      environment: binding.environment,
      pushType: 'background',
      priority: 'high',
      expiresAt: deadline,
      payload: { android: { priority: 'high' }, data: { nmsg: REGISTER_REFRESH_NMSG } },
    };
  }
  return fail('binding.provider', `Mizutech apps take APNs or FCM pushes, not ${binding.provider}`);
}
