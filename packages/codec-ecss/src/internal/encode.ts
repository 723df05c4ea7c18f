import {
  CodecError,
  payloadLimit,
  payloadSize,
  voipTopic,
  webCallPayload,
  webPushRequest,
  type CallNotification,
  type CallParty,
  type DeviceBinding,
  type MissedCall,
  type PushRequest,
} from '@pushrelay/core';
import { CODEC_ID } from './rfc8599.js';

export type DisplayNameKey = 'dispaly_name' | 'display_name';

export interface EncodeSettings {
  badge: number;
  badgeAsString: boolean;
  displayNameKeys: readonly DisplayNameKey[];
  emptyDisplayName: 'empty-list' | 'empty-string';
  inviteTtlSeconds: number;
  missedCallsTtlSeconds: number;
  missedCallsOverVoip: boolean;
}

function fail(path: string, message: string): never {
  throw new CodecError(CODEC_ID, message, { path });
}

const seconds = (ms: number): number => Math.floor(ms / 1000);

/** The remote party as ECSS writes it: the number (user part of the URI) or `anonymous`. */
function remote(party: CallParty): string {
  const fromUri = party.uri !== undefined ? /^sips?:([^@;>]+)@/i.exec(party.uri)?.[1] : undefined;
  const value = party.number ?? fromUri ?? party.uri;
  if (value === undefined || value.toLowerCase() === 'anonymous') return 'anonymous';
  return value;
}

/** The app's badge count: the notification's `vendor.badge` when set, else the configured one. */
function badgeOf(n: CallNotification, settings: EncodeSettings): string | number {
  const carried = n.vendor?.badge;
  if (carried !== undefined && (typeof carried !== 'number' || !Number.isInteger(carried) || carried < 0)) {
    fail('vendor.badge', 'must be a non-negative integer');
  }
  const badge = (carried as number | undefined) ?? settings.badge;
  // ECSS-10 sends the badge as a string in both aps and acme.
  return settings.badgeAsString ? String(badge) : badge;
}

function apnsTopic(binding: DeviceBinding): string {
  if (binding.pushKind !== 'voip') return binding.app;
  return voipTopic(binding.app);
}

function check(request: PushRequest, path: string): PushRequest {
  const limit = payloadLimit(request);
  const size = payloadSize(request);
  if (size > limit) fail(path, `the ${request.provider} payload would be ${size} bytes, over the ${limit}-byte limit`);
  return request;
}

export function encodeNotification(
  n: CallNotification,
  binding: DeviceBinding,
  now: number,
  settings: EncodeSettings,
): PushRequest | null {
  if (binding.provider === 'webpush') return encodeWeb(n, binding, now);
  if (binding.provider !== 'apns' && binding.provider !== 'fcm' && binding.provider !== 'hms') {
    fail('binding.provider', `ECSS-10 apps take APNs, FCM, HMS or Web Push pushes, not ${binding.provider}`);
  }
  let request: PushRequest | null = null;
  if (n.type === 'incoming_call') request = encodeInvite(n, binding, now, settings);
  else if (n.type === 'missed_calls') request = encodeMissedCalls(n, binding, now, settings);
  else if (n.type === 'register_refresh') request = encodeRegisterRefresh(n, binding, now);
  return request && binding.provider === 'hms' ? withHmsApi(request, binding) : request;
}

/**
 * A Huawei device whose binding names the Push Kit API in `params['hms-api']` (`v3` for
 * HarmonyOS NEXT) has it picked per push: transport-hms reads `headers['hms-api']`.
 */
function withHmsApi(request: PushRequest, binding: DeviceBinding): PushRequest {
  const api = binding.params?.['hms-api'];
  if (api === undefined) return request;
  if (api !== 'v1' && api !== 'v2' && api !== 'v3') fail('binding.params.hms-api', 'must be v1, v2 or v3');
  return { ...request, headers: { ...request.headers, 'hms-api': api } };
}

/**
 * A browser registered through RFC 8599 `pn-provider=webpush`: core's generic call payload,
 * which the example service worker shows, with the app data ECSS-10 sends beside it under
 * `vendor.ecss`. A browser shows every push, so there is no silent register refresh.
 */
function encodeWeb(n: CallNotification, binding: DeviceBinding, now: number): PushRequest | null {
  if (n.type === 'incoming_call') {
    if (!n.call) fail('call', 'is required for incoming_call');
    const ecss = { type: 'invite', date: seconds(now) };
    return check(webPushRequest(n, binding, { ...webCallPayload(n, { vendor: { ecss } }) }), 'call');
  }
  if (n.type === 'missed_calls') {
    if (!n.missed || n.missed.length === 0) fail('missed', 'is required for missed_calls');
    const ecss = { type: 'missed_calls', date: seconds(now) };
    return check(webPushRequest(n, binding, { ...webCallPayload(n, { vendor: { ecss } }) }), 'missed');
  }
  return null;
}

function encodeInvite(n: CallNotification, binding: DeviceBinding, now: number, settings: EncodeSettings): PushRequest {
  if (!n.call) fail('call', 'is required for incoming_call');
  const date = seconds(now);
  const expiresAt = now + settings.inviteTtlSeconds * 1000;
  const base = {
    token: binding.token,
    app: binding.app,
    environment: binding.environment,
    priority: 'high' as const,
    expiresAt,
  };
  if (binding.provider === 'fcm') {
    return check(
      {
        ...base,
        provider: 'fcm',
        pushType: 'background',
        payload: {
          android: { priority: 'high', ttl: `${settings.inviteTtlSeconds}s` },
          data: { type: 'invite', date: String(date) },
        },
      },
      'call',
    );
  }
  if (binding.provider === 'hms') {
    // The FCM data push as Huawei Push Kit carries it: the same data, HMS's android fields.
    return check(
      {
        ...base,
        provider: 'hms',
        pushType: 'background',
        payload: {
          android: { urgency: 'HIGH', ttl: `${settings.inviteTtlSeconds}s` },
          data: { type: 'invite', date: String(date) },
        },
      },
      'call',
    );
  }
  const badge = badgeOf(n, settings);
  const name = n.call.from.displayName;
  const acme: Record<string, unknown> = { badge, type: 'invite', date, number: remote(n.call.from) };
  for (const key of settings.displayNameKeys) {
    // ECSS-10 is Erlang: an absent name is the empty list, which it encodes as [].
    acme[key] = name ?? (settings.emptyDisplayName === 'empty-list' ? [] : '');
  }
  return check(
    {
      ...base,
      provider: 'apns',
      pushType: binding.pushKind === 'voip' ? 'voip' : 'alert',
      headers: { 'apns-topic': apnsTopic(binding) },
      payload: { aps: { badge }, acme },
    },
    'call',
  );
}

function callsOf(missed: readonly MissedCall[]): Array<{ id: number; remote_uri: string; date: number }> {
  return missed.map((m, i) => {
    const at = Date.parse(m.at);
    if (Number.isNaN(at)) fail(`missed[${i}].at`, 'must be an ISO 8601 date-time');
    return { id: i, remote_uri: remote(m.from), date: seconds(at) };
  });
}

function encodeMissedCalls(
  n: CallNotification,
  binding: DeviceBinding,
  now: number,
  settings: EncodeSettings,
): PushRequest | null {
  if (!n.missed || n.missed.length === 0) fail('missed', 'is required for missed_calls');
  // A PushKit push must report a call to CallKit; a summary is not one.
  if (binding.provider === 'apns' && binding.pushKind === 'voip' && !settings.missedCallsOverVoip) return null;
  const date = seconds(now);
  let missed = n.missed;
  // A long absence can gather more calls than one push holds: keep the newest that fit.
  for (;;) {
    const request = buildMissed(n, binding, now, date, callsOf(missed), settings);
    if (payloadSize(request) <= payloadLimit(request) || missed.length === 1) return check(request, 'missed');
    missed = missed.slice(1);
  }
}

function buildMissed(
  n: CallNotification,
  binding: DeviceBinding,
  now: number,
  date: number,
  calls: Array<{ id: number; remote_uri: string; date: number }>,
  settings: EncodeSettings,
): PushRequest {
  const base = { token: binding.token, app: binding.app, environment: binding.environment, priority: 'high' as const };
  if (binding.provider === 'fcm' || binding.provider === 'hms') {
    const deadline = Date.parse(n.deadline);
    if (Number.isNaN(deadline)) fail('deadline', 'must be an ISO 8601 date-time');
    // FCM v1 data values are strings; the device got the legacy API's nested list as this JSON string too.
    const data = { type: 'missed_calls', date: String(date), calls: JSON.stringify(calls) };
    if (binding.provider === 'hms') {
      return { ...base, provider: 'hms', pushType: 'background', expiresAt: deadline, payload: { data } };
    }
    return {
      ...base,
      provider: 'fcm',
      pushType: 'background',
      expiresAt: deadline,
      payload: { android: { priority: 'high' }, data },
    };
  }
  const badge = badgeOf(n, settings);
  return {
    ...base,
    provider: 'apns',
    pushType: binding.pushKind === 'voip' ? 'voip' : 'alert',
    expiresAt: now + settings.missedCallsTtlSeconds * 1000,
    headers: { 'apns-topic': apnsTopic(binding) },
    payload: {
      aps: { badge },
      acme: { type: 'missed_calls', date, calls },
      time_to_live: settings.missedCallsTtlSeconds,
    },
  };
}

/**
 * A silent push asking the app to REGISTER again (RFC 8599 §5.4): FCM data `{type: register,
 * date}`, or an APNs background push to an alert token. A VoIP token gets nothing: PushKit pushes
 * must report a call.
 */
function encodeRegisterRefresh(n: CallNotification, binding: DeviceBinding, now: number): PushRequest | null {
  const deadline = Date.parse(n.deadline);
  if (Number.isNaN(deadline)) fail('deadline', 'must be an ISO 8601 date-time');
  const date = seconds(now);
  const base = { token: binding.token, app: binding.app, environment: binding.environment, expiresAt: deadline };
  if (binding.provider === 'fcm') {
    return check(
      {
        ...base,
        provider: 'fcm',
        pushType: 'background',
        priority: 'high',
        payload: { android: { priority: 'high' }, data: { type: 'register', date: String(date) } },
      },
      'deadline',
    );
  }
  if (binding.pushKind === 'voip') return null;
  return check(
    {
      ...base,
      provider: 'apns',
      pushType: 'background',
      // APNs throttles priority 10 background pushes; 5 is what it takes for content-available.
      priority: 'normal',
      headers: { 'apns-topic': binding.app },
      payload: { aps: { 'content-available': 1 }, acme: { type: 'register', date } },
    },
    'deadline',
  );
}
