import { readFile } from 'node:fs/promises';
import { ValidationError, type Environment, type Issue } from '@pushrelay/core';
import type { DigestAlgorithm } from '@pushrelay/sip';

export interface SipUser {
  username: string;
  password: string;
}

export interface BridgeConfig {
  /** The SIP domain this registrar serves; also the digest realm unless `realm` is set. */
  domain: string;
  realm: string;
  /** Tenant that users' devices and notifications belong to in the relay. */
  tenant: string;
  listen: { host: string; port: number; udp: boolean; tcp: boolean };
  /** Host written into Via and Record-Route; defaults to listen.host. */
  publicHost: string;
  users: SipUser[];
  digest: { algorithms: DigestAlgorithm[]; allowNoQop: boolean; allowUriMismatch: boolean };
  registration: { defaultExpires: number; minExpires: number; maxExpires: number };
  calls: {
    /** How long a call may ring; also the deadline of its pushes. */
    ringTimeoutMs: number;
    /** How long an INVITE is held for a pushed device to re-register before 480. */
    pushWaitMs: number;
    /** How long a missed call waits for its device to come back. */
    missedCallTtlMs: number;
  };
  push: {
    /** Push services advertised in Feature-Caps; a Contact asking for another gets 555. */
    providers: ('apns' | 'fcm')[];
    environment: Environment;
    /** Bundle id for RFC 8599 APNs contacts whose pn-param carries no topic. */
    apnsApp?: string;
    /** FCM project for RFC 8599 FCM contacts whose pn-param carries no project id. */
    fcmProject?: string;
  };
  /**
   * APNs transport options as @pushrelay/transport-apns takes them; a credential's `key`, `cert`
   * or `pfx` may be given as `keyFile`, `certFile`, `pfxFile`, and `ca` as `caFile`.
   */
  apns?: Record<string, unknown>;
  /** FCM transport options as @pushrelay/transport-fcm takes them; `serviceAccountFile` and `caFile` are read from disk. */
  fcm?: Record<string, unknown>;
  /** null: no metrics endpoint. */
  metrics: { host: string; port: number } | null;
  log: { level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent' };
  /** Upper bound for a graceful shutdown; the process exits after it either way. */
  shutdownTimeoutMs: number;
}

/** Everything optional: what a config file or a test supplies. */
export type BridgeConfigInput = DeepPartial<BridgeConfig>;
type DeepPartial<T> = T extends (infer U)[] ? U[] : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> | null } : T;

export const ENV_PREFIX = 'PUSHRELAY_SIP_BRIDGE__';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const ALGORITHMS = ['SHA-256', 'MD5'] as const;
const PROVIDERS = ['apns', 'fcm'] as const;
const HOSTNAME = /^[A-Za-z0-9.:-]+$/;

/**
 * Validates a config object and fills in the defaults. Every problem is reported at once,
 * each with its path, as a core ValidationError.
 */
export function resolveConfig(input: unknown): BridgeConfig {
  const issues: Issue[] = [];
  const fail = (path: string, message: string): void => void issues.push({ path, message });
  const root = isObject(input) ? input : (fail('', 'must be a JSON object'), {});
  const section = (name: string): Record<string, unknown> => {
    const value = root[name];
    if (value === undefined || value === null) return {};
    if (!isObject(value)) {
      fail(name, 'must be an object');
      return {};
    }
    return value;
  };
  const known = ['domain', 'realm', 'tenant', 'listen', 'publicHost', 'users', 'digest', 'registration', 'calls', 'push', 'metrics', 'log', 'shutdownTimeoutMs', 'apns', 'fcm'];
  for (const key of Object.keys(root)) if (!known.includes(key)) fail(key, 'is not a known option');

  const str = (value: unknown, path: string, fallback: string | undefined, pattern?: RegExp): string => {
    if (value === undefined || value === null) {
      if (fallback === undefined) fail(path, 'is required');
      return fallback ?? '';
    }
    if (typeof value !== 'string' || value.trim() === '') {
      fail(path, 'must be a non-empty string');
      return fallback ?? '';
    }
    if (pattern && !pattern.test(value)) fail(path, `"${value.slice(0, 64)}" is not valid`);
    return value;
  };
  const int = (value: unknown, path: string, fallback: number, min: number, max: number): number => {
    if (value === undefined || value === null) return fallback;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      fail(path, `must be an integer from ${min} to ${max}`);
      return fallback;
    }
    return value;
  };
  const bool = (value: unknown, path: string, fallback: boolean): boolean => {
    if (value === undefined || value === null) return fallback;
    if (typeof value !== 'boolean') {
      fail(path, 'must be true or false');
      return fallback;
    }
    return value;
  };
  const oneOf = <T extends string>(value: unknown, path: string, allowed: readonly T[], fallback: T): T => {
    if (value === undefined || value === null) return fallback;
    if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
      fail(path, `must be one of ${allowed.join(', ')}`);
      return fallback;
    }
    return value as T;
  };
  const listOf = <T extends string>(value: unknown, path: string, allowed: readonly T[], fallback: T[]): T[] => {
    if (value === undefined || value === null) return fallback;
    if (!Array.isArray(value) || value.length === 0) {
      fail(path, `must be a non-empty list of ${allowed.join(', ')}`);
      return fallback;
    }
    return value.map((v, i) => oneOf(v, `${path}[${i}]`, allowed, allowed[0]!));
  };

  const domain = str(root['domain'], 'domain', undefined, HOSTNAME);
  const realm = str(root['realm'], 'realm', domain);
  const tenant = str(root['tenant'], 'tenant', 'default');

  const listenIn = section('listen');
  const listen = {
    host: str(listenIn['host'], 'listen.host', '127.0.0.1', HOSTNAME),
    port: int(listenIn['port'], 'listen.port', 5060, 0, 65535),
    udp: bool(listenIn['udp'], 'listen.udp', true),
    tcp: bool(listenIn['tcp'], 'listen.tcp', true),
  };
  if (!listen.udp && !listen.tcp) fail('listen', 'needs udp or tcp');
  const publicHost = str(root['publicHost'], 'publicHost', listen.host === '0.0.0.0' ? undefined : listen.host, HOSTNAME);

  const users: SipUser[] = [];
  const usersIn = root['users'];
  if (!Array.isArray(usersIn)) fail('users', 'must be a list of { username, password }');
  else {
    const seen = new Set<string>();
    usersIn.forEach((u, i) => {
      if (!isObject(u)) return fail(`users[${i}]`, 'must be an object');
      const username = str(u['username'], `users[${i}].username`, undefined, /^[A-Za-z0-9._~+-]+$/);
      const password = str(u['password'], `users[${i}].password`, undefined);
      for (const key of Object.keys(u)) if (key !== 'username' && key !== 'password') fail(`users[${i}].${key}`, 'is not a known option');
      if (seen.has(username)) fail(`users[${i}].username`, `"${username}" is listed twice`);
      seen.add(username);
      users.push({ username, password });
    });
  }

  const digestIn = section('digest');
  const digest = {
    algorithms: listOf(digestIn['algorithms'], 'digest.algorithms', ALGORITHMS, ['SHA-256', 'MD5']),
    allowNoQop: bool(digestIn['allowNoQop'], 'digest.allowNoQop', false),
    allowUriMismatch: bool(digestIn['allowUriMismatch'], 'digest.allowUriMismatch', false),
  };

  const regIn = section('registration');
  const registration = {
    defaultExpires: int(regIn['defaultExpires'], 'registration.defaultExpires', 3600, 1, 604800),
    minExpires: int(regIn['minExpires'], 'registration.minExpires', 60, 1, 604800),
    maxExpires: int(regIn['maxExpires'], 'registration.maxExpires', 7200, 1, 604800),
  };
  if (registration.minExpires > registration.maxExpires) fail('registration.minExpires', 'must not exceed maxExpires');

  const callsIn = section('calls');
  const ringTimeoutMs = int(callsIn['ringTimeoutMs'], 'calls.ringTimeoutMs', 30_000, 1000, 300_000);
  const calls = {
    ringTimeoutMs,
    pushWaitMs: int(callsIn['pushWaitMs'], 'calls.pushWaitMs', ringTimeoutMs, 100, 300_000),
    missedCallTtlMs: int(callsIn['missedCallTtlMs'], 'calls.missedCallTtlMs', 7 * 24 * 3600_000, 1000, 28 * 24 * 3600_000),
  };
  if (calls.pushWaitMs > ringTimeoutMs) fail('calls.pushWaitMs', 'must not exceed calls.ringTimeoutMs');

  const pushIn = section('push');
  const push: BridgeConfig['push'] = {
    providers: listOf(pushIn['providers'], 'push.providers', PROVIDERS, ['apns', 'fcm']),
    environment: oneOf(pushIn['environment'], 'push.environment', ['production', 'sandbox'] as const, 'production'),
  };
  if (pushIn['apnsApp'] != null) push.apnsApp = str(pushIn['apnsApp'], 'push.apnsApp', undefined);
  if (pushIn['fcmProject'] != null) push.fcmProject = str(pushIn['fcmProject'], 'push.fcmProject', undefined);

  let metrics: BridgeConfig['metrics'] = { host: '127.0.0.1', port: 9464 };
  if (root['metrics'] === null || root['metrics'] === false) metrics = null;
  else {
    const metricsIn = section('metrics');
    metrics = {
      host: str(metricsIn['host'], 'metrics.host', '127.0.0.1', HOSTNAME),
      port: int(metricsIn['port'], 'metrics.port', 9464, 0, 65535),
    };
  }
  const logIn = section('log');
  const log = { level: oneOf(logIn['level'], 'log.level', LOG_LEVELS, 'info') };
  const shutdownTimeoutMs = int(root['shutdownTimeoutMs'], 'shutdownTimeoutMs', 5000, 0, 120_000);

  let apns: Record<string, unknown> | undefined;
  if (root['apns'] != null) {
    apns = section('apns');
    if (!Array.isArray(apns['apps']) || apns['apps'].length === 0) fail('apns.apps', 'must list at least one app');
  }

  let fcm: Record<string, unknown> | undefined;
  if (root['fcm'] != null) {
    fcm = section('fcm');
    if (!Array.isArray(fcm['credentials']) || fcm['credentials'].length === 0) fail('fcm.credentials', 'must list at least one project credential');
  }

  if (issues.length > 0) throw new ValidationError(issues, 'sip-bridge config');
  const config: BridgeConfig = { domain, realm, tenant, listen, publicHost, users, digest, registration, calls, push, metrics, log, shutdownTimeoutMs };
  if (apns) config.apns = apns;
  if (fcm) config.fcm = fcm;
  return config;
}

/**
 * Applies `PUSHRELAY_SIP_BRIDGE__SECTION__OPTION_NAME=value` variables over a config object:
 * `__` separates path segments, SNAKE_CASE becomes camelCase, and values are read as JSON when
 * they parse (numbers, booleans, lists), as strings otherwise.
 */
export function applyEnvOverrides(input: Record<string, unknown>, env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out = structuredClone(input);
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || raw === undefined) continue;
    const path = name.slice(ENV_PREFIX.length).split('__').filter(Boolean).map(camel);
    if (path.length === 0) continue;
    let target: Record<string, unknown> = out;
    for (const segment of path.slice(0, -1)) {
      const next = target[segment];
      if (!isObject(next)) target[segment] = {};
      target = target[segment] as Record<string, unknown>;
    }
    target[path[path.length - 1]!] = parseEnvValue(raw);
  }
  return out;
}

function parseEnvValue(raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}

function camel(segment: string): string {
  return segment.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** Reads the JSON file (when given), applies the environment, validates. */
export async function loadConfig(file: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<BridgeConfig> {
  let base: Record<string, unknown> = {};
  if (file !== undefined) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      throw new ValidationError([{ path: '', message: `cannot read ${file}: ${(error as Error).message}` }], 'sip-bridge config');
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new ValidationError([{ path: '', message: `${file} is not JSON: ${(error as Error).message}` }], 'sip-bridge config');
    }
    if (!isObject(parsed)) throw new ValidationError([{ path: '', message: `${file} must hold a JSON object` }], 'sip-bridge config');
    base = parsed;
  }
  return resolveConfig(applyEnvOverrides(base, env));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
