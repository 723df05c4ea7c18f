import {
  CodecError,
  ValidationError,
  bundleIdOfTopic,
  isVoipTopic,
  parseWebPushSubscription,
  webPushToken,
  type Environment,
} from '@pushrelay/core';

export const CODEC_ID = 'ecss';

export type Rfc8599Problem = 'unsupported_provider' | 'missing_param' | 'invalid_param' | 'capability_query';

/**
 * Contact push parameters the registrar cannot bind. `sipStatus` is the answer RFC 8599 asks
 * for: 555 (Push Notification Service Not Supported) for an unknown `pn-provider`, 400 for
 * broken parameters, none for a valueless `pn-provider` (a query for the supported services).
 */
export class Rfc8599ParamsError extends CodecError {
  readonly problem: Rfc8599Problem;
  readonly sipStatus: 555 | 400 | undefined;
  readonly param: string;
  constructor(problem: Rfc8599Problem, param: string, message: string) {
    super(CODEC_ID, message, { path: param });
    this.problem = problem;
    this.param = param;
    this.sipStatus = problem === 'unsupported_provider' ? 555 : problem === 'capability_query' ? undefined : 400;
  }
}

/** The provider a `pn-provider` name stands for. */
export type Rfc8599Provider = 'apns' | 'fcm' | 'hms' | 'webpush';

/** What a Contact's push parameters say about a device; add tenant and user for a DeviceBindingInput. */
export interface Rfc8599Binding {
  provider: Rfc8599Provider;
  /** APNs bundle id (without `.voip`), FCM project id, HMS app id, or the VAPID key set of a web subscription. */
  app: string;
  token: string;
  pushKind: 'voip' | 'alert' | 'data';
  environment: Environment;
  format: 'ecss';
  origin: 'sip-rfc8599';
  /** `pn-param` as the device sent it (under either spelling), for matching re-REGISTERs. */
  params: Record<string, string>;
}

export interface ParseRfc8599Options {
  /** RFC 8599 does not say whether an APNs token is a sandbox one. Default `production`. */
  environment?: Environment;
  /** Bundle id for APNs contacts whose pn-param is absent or no topic (ECSS uses it for matching only). */
  apnsApp?: string;
  /** Push kind for APNs contacts bound through `apnsApp`. Default `voip`. */
  apnsPushKind?: 'voip' | 'alert';
  /** FCM project id for contacts whose pn-param is absent or no project id. */
  fcmProject?: string;
  /**
   * `pn-provider` names accepted, each with the provider that sends to it. Default
   * `{ apns: 'apns', fcm: 'fcm' }`. Names mapped to `fcm` or `hms` are read like `fcm` (`pn-param`
   * is the project or app id); e.g. `{ apns: 'apns', fcm: 'fcm', hms: 'hms' }` for Huawei devices.
   */
  providers?: Readonly<Record<string, Rfc8599Provider>>;
  /** HMS app id for contacts of an `hms` name whose pn-param is absent or no app id. */
  hmsApp?: string;
  /**
   * The VAPID key set (transport-webpush `app`) of `webpush` contacts: the key the registrar
   * advertises in `+sip.vapid`, which the browser subscribed with. Required for `webpush`.
   */
  webpushApp?: string;
}

export type ContactParams = string | Readonly<Record<string, string | null | undefined>>;

const DEFAULT_PROVIDERS: Readonly<Record<string, Rfc8599Provider>> = { apns: 'apns', fcm: 'fcm' };
const TOKEN_PATTERN = /^[\x21-\x7e]+$/;
const TOPIC_PATTERN = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;
const TEAM_TOPIC = /^([A-Z0-9]{4,12})\.(.+)$/;
// A project id, or the numeric project number (sender id) Linphone-style clients send.
const PROJECT_PATTERN = /^(?:[a-z][a-z0-9-]{3,62}|[0-9]{6,20})$/;
const MAX_VALUE = 4096;

/**
 * Reads the push parameters of a REGISTER Contact: `pn-provider`, `pn-prid` and `pn-param`
 * (RFC 8599) or `pn-params` (ECSS-10's spelling). Takes the Contact's URI parameters as a
 * `;name=value` string or as a map of names to values. Returns null when the Contact asks for
 * no push (no `pn-provider`).
 */
export function parseRfc8599Params(
  contactParams: ContactParams,
  options: ParseRfc8599Options = {},
): Rfc8599Binding | null {
  const params = normalise(contactParams);
  const providerRaw = params.get('pn-provider');
  if (providerRaw === undefined) {
    for (const name of ['pn-prid', 'pn-param', 'pn-params']) {
      if (params.has(name)) throw new Rfc8599ParamsError('missing_param', 'pn-provider', `is required with ${name}`);
    }
    return null;
  }
  if (providerRaw === '') {
    throw new Rfc8599ParamsError(
      'capability_query',
      'pn-provider',
      'has no value: the device asks which push services are supported',
    );
  }
  const names = options.providers ?? DEFAULT_PROVIDERS;
  const name = providerRaw.toLowerCase();
  const provider = Object.prototype.hasOwnProperty.call(names, name) ? names[name] : undefined;
  if (provider === undefined) {
    throw new Rfc8599ParamsError(
      'unsupported_provider',
      'pn-provider',
      `"${providerRaw.slice(0, 32)}" is not supported (${Object.keys(names).join(', ')})`,
    );
  }
  const token = params.get('pn-prid');
  if (token === undefined || token === '') throw new Rfc8599ParamsError('missing_param', 'pn-prid', 'is required');
  if (token.length > MAX_VALUE || !TOKEN_PATTERN.test(token)) {
    throw new Rfc8599ParamsError(
      'invalid_param',
      'pn-prid',
      `must be 1 to ${MAX_VALUE} printable characters without spaces`,
    );
  }
  const rfcParam = params.get('pn-param');
  const ecssParam = params.get('pn-params');
  if (rfcParam !== undefined && ecssParam !== undefined && rfcParam !== ecssParam) {
    throw new Rfc8599ParamsError('invalid_param', 'pn-params', 'differs from pn-param');
  }
  const param = rfcParam || ecssParam || undefined;
  const paramName = rfcParam ? 'pn-param' : 'pn-params';
  if (param !== undefined && param.length > MAX_VALUE) {
    throw new Rfc8599ParamsError('invalid_param', paramName, `must be at most ${MAX_VALUE} characters`);
  }
  const kept: Record<string, string> = {};
  if (param !== undefined) kept['pn-param'] = param;
  const base = {
    token,
    environment: options.environment ?? 'production',
    format: 'ecss' as const,
    origin: 'sip-rfc8599' as const,
    params: kept,
  };

  if (provider === 'apns') {
    // RFC 8599: pn-param = <Team ID>.<topic>, the topic ending in .voip for PushKit tokens.
    const topic = param === undefined ? undefined : (TEAM_TOPIC.exec(param)?.[2] ?? param);
    if (topic !== undefined && TOPIC_PATTERN.test(topic) && topic !== 'voip') {
      const voip = isVoipTopic(topic);
      return { ...base, provider: 'apns', app: bundleIdOfTopic(topic), pushKind: voip ? 'voip' : 'alert' };
    }
    if (options.apnsApp) {
      return { ...base, provider: 'apns', app: options.apnsApp, pushKind: options.apnsPushKind ?? 'voip' };
    }
    if (param === undefined)
      throw new Rfc8599ParamsError('missing_param', 'pn-param', 'is required for apns (<TeamID>.<bundle id>[.voip])');
    throw new Rfc8599ParamsError('invalid_param', paramName, 'must be <TeamID>.<bundle id>[.voip]');
  }

  if (provider === 'webpush') {
    // RFC 8599 (IANA "webpush", RFC 8030): pn-prid is the push subscription. The encryption
    // keys travel with it, so it is the subscription's JSON (%-escaped in the URI) or that
    // JSON in base64url.
    const json = token.startsWith('{') ? token : Buffer.from(token, 'base64url').toString('utf8');
    let subscription;
    try {
      subscription = parseWebPushSubscription(JSON.parse(json) as unknown, 'pn-prid');
    } catch (error) {
      const detail =
        error instanceof ValidationError ? error.issues.map((i) => `${i.path} ${i.message}`).join('; ') : 'not JSON';
      throw new Rfc8599ParamsError(
        'invalid_param',
        'pn-prid',
        `must be a push subscription ({endpoint, keys}): ${detail}`,
      );
    }
    if (!options.webpushApp) {
      throw new Rfc8599ParamsError('unsupported_provider', 'pn-provider', 'webpush has no VAPID key set here');
    }
    return { ...base, token: webPushToken(subscription), provider, app: options.webpushApp, pushKind: 'alert' };
  }

  if (provider === 'hms') {
    // Huawei app ids are numbers (`107000001`); a v2 project id is a number too.
    if (param !== undefined && /^[0-9]{6,20}$/.test(param)) return { ...base, provider, app: param, pushKind: 'data' };
    if (options.hmsApp) return { ...base, provider, app: options.hmsApp, pushKind: 'data' };
    if (param === undefined)
      throw new Rfc8599ParamsError('missing_param', 'pn-param', `is required for ${name} (the HMS app id)`);
    throw new Rfc8599ParamsError('invalid_param', paramName, 'must be an HMS app id (digits)');
  }
  if (param !== undefined && PROJECT_PATTERN.test(param)) {
    return { ...base, provider: 'fcm', app: param, pushKind: 'data' };
  }
  if (options.fcmProject) return { ...base, provider: 'fcm', app: options.fcmProject, pushKind: 'data' };
  if (param === undefined)
    throw new Rfc8599ParamsError('missing_param', 'pn-param', `is required for ${name} (the project id)`);
  throw new Rfc8599ParamsError('invalid_param', paramName, 'must be an FCM project id');
}

function normalise(input: ContactParams): Map<string, string> {
  const out = new Map<string, string>();
  const put = (rawName: string, rawValue: string | null | undefined): void => {
    const name = rawName.trim().toLowerCase();
    if (!name.startsWith('pn-')) return;
    const value = rawValue == null ? '' : unescape(name, unquote(rawValue.trim()));
    const previous = out.get(name);
    if (previous !== undefined && previous !== value) {
      throw new Rfc8599ParamsError('invalid_param', name, 'appears twice with different values');
    }
    out.set(name, value);
  };
  if (typeof input === 'string') {
    for (const part of input.split(';')) {
      if (part.trim() === '') continue;
      const eq = part.indexOf('=');
      if (eq < 0) put(part, undefined);
      else put(part.slice(0, eq), part.slice(eq + 1));
    }
  } else if (typeof input === 'object' && input !== null) {
    for (const [name, value] of Object.entries(input)) {
      if (value !== undefined && value !== null && typeof value !== 'string') {
        throw new Rfc8599ParamsError('invalid_param', name, 'must be a string');
      }
      put(name, value);
    }
  } else {
    throw new Rfc8599ParamsError('invalid_param', 'Contact', 'parameters must be a string or an object');
  }
  return out;
}

function unquote(value: string): string {
  return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
}

/** SIP URI parameters may be %-escaped (RFC 3261 §25.1). */
function unescape(name: string, value: string): string {
  if (!value.includes('%')) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    throw new Rfc8599ParamsError('invalid_param', name, 'has a broken %-escape');
  }
}
