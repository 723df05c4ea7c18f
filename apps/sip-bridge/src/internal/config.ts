import { readFile } from 'node:fs/promises';
import { ValidationError, type Environment, type Issue } from '@pushrelay/core';
import type { DigestAlgorithm } from '@pushrelay/sip';
import { redisUrlProblem } from '@pushrelay/store-redis';
import { REGISTRAR_SECTIONS, resolveRegistrarOptions, type RegistrarOptions } from './config-registrar.js';
import { resolveEdgeConfig, type EdgeConfig, type EdgeConfigInput } from './edge/edge-config.js';

export type { RegistrarOptions, TlsConfig, TrunkConfig } from './config-registrar.js';

/** A user of the `users` list: a password, or the digest HA1s (lower-case hex) in its place. */
export interface SipUser {
  username: string;
  password?: string;
  /** MD5(username:realm:password). */
  ha1Md5?: string;
  /** SHA-256(username:realm:password). */
  ha1Sha256?: string;
}

export interface BridgeConfig extends RegistrarOptions {
  /** The SIP domain this registrar serves; also the digest realm unless `realm` is set. */
  domain: string;
  realm: string;
  /** Tenant that users' devices and notifications belong to in the relay. */
  tenant: string;
  listen: { host: string; port: number; udp: boolean; tcp: boolean };
  /** Host written into Via and Record-Route; defaults to listen.host. */
  publicHost: string;
  users: SipUser[];
  digest: { algorithms: DigestAlgorithm[]; allowNoQop: boolean; allowUriMismatch: boolean; nonceTtlMs: number };
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
    /** Push services served; a Contact asking for another gets 555. */
    providers: ('apns' | 'fcm' | 'hms')[];
    /**
     * RFC 8599 `pn-provider` names accepted, each with the provider that sends to it; the names
     * whose provider is served are advertised in Feature-Caps. Default `{ apns: apns, fcm: fcm }`;
     * e.g. add `hms: hms` for Huawei devices (FCM-like: `pn-param` is the HMS app id).
     */
    pnProviders: Record<string, 'apns' | 'fcm' | 'hms'>;
    /** HMS app id for contacts of an HMS `pn-provider` whose pn-param carries none. */
    hmsApp?: string;
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
  /** Where bindings and delivery reports live (and missed calls, unless `ephemeral` is Redis). */
  store: StoreConfig;
  /** Where delivery jobs wait: in this process, or in Redis shared by every process (BullMQ). */
  queue: QueueConfig;
  /** Where missed calls wait for their device: in this process, or in Redis. */
  ephemeral: EphemeralConfig;

  // --- Edge mode -----------------------------------------------------------------------------
  /**
   * `registrar` (default): the bridge is the registrar of its domain, users in `users`.
   * `edge`: it stands in front of the registrar/PBX in `edge.upstream`, where the users live.
   */
  mode: 'registrar' | 'edge';
  /** Set in edge mode only. */
  edge?: EdgeConfig;
}

export type StoreConfig = { engine: 'memory' } | { engine: 'postgres'; url: string; schema: string; poolSize: number };
export type QueueConfig =
  | { engine: 'memory' }
  | {
      engine: 'bullmq';
      redis: string;
      prefix: string;
      concurrency: number;
      lockDurationMs: number;
      stalledIntervalMs: number;
      scheduleTimeoutMs: number;
      closeGraceMs: number;
    };
export type EphemeralConfig = { engine: 'memory' } | { engine: 'redis'; redis: string; prefix: string };

/**
 * Everything optional: what a config file or a test supplies. `store`, `queue` and `ephemeral`
 * may also be a string: `memory`, or the URL of a postgres store / a Redis for BullMQ or missed calls.
 */
export type BridgeConfigInput = Omit<DeepPartial<BridgeConfig>, 'store' | 'queue' | 'ephemeral' | 'edge'> & {
  edge?: EdgeConfigInput | null;
  store?: DeepPartial<StoreConfig> | string | null;
  queue?: DeepPartial<QueueConfig> | string | null;
  ephemeral?: DeepPartial<EphemeralConfig> | string | null;
};
type DeepPartial<T> = T extends (infer U)[]
  ? U[]
  : T extends object
    ? { [K in keyof T]?: DeepPartial<T[K]> | null }
    : T;

export const ENV_PREFIX = 'PUSHRELAY_SIP_BRIDGE__';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const ALGORITHMS = ['SHA-256', 'MD5'] as const;
const PROVIDERS = ['apns', 'fcm', 'hms'] as const;
const HOSTNAME = /^[A-Za-z0-9.:-]+$/;
const REDIS_URL = /^rediss?:\/\/[^\s]+$/;
const POSTGRES_URL = /^postgres(ql)?:\/\/[^\s]+$/;
const SCHEMA = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
const PREFIX = /^[A-Za-z0-9._:{}-]{1,100}$/;
/** Sections whose string form is a shortcut, in the file and as `PUSHRELAY_SIP_BRIDGE__<SECTION>`. */
const ENGINE_SECTIONS = ['store', 'queue', 'ephemeral'] as const;

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
  const known = [
    'domain',
    'realm',
    'tenant',
    'listen',
    'publicHost',
    'users',
    'digest',
    'registration',
    'calls',
    'push',
    'metrics',
    'log',
    'shutdownTimeoutMs',
    'apns',
    'fcm',
    ...ENGINE_SECTIONS,
    ...REGISTRAR_SECTIONS,
    'mode',
    'edge',
  ];
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

  // Edge mode: users and passwords live upstream, and the domain defaults to the upstream's.
  const mode = oneOf(root['mode'], 'mode', ['registrar', 'edge'] as const, 'registrar');
  const edge = mode === 'edge' ? resolveEdgeConfig(root['edge'], fail) : undefined;
  if (mode !== 'edge' && root['edge'] != null) fail('edge', 'is only read with mode: edge');

  const domain = str(root['domain'], 'domain', edge?.upstream.host || undefined, HOSTNAME);
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
  const publicHost = str(
    root['publicHost'],
    'publicHost',
    listen.host === '0.0.0.0' ? undefined : listen.host,
    HOSTNAME,
  );

  const users: SipUser[] = [];
  const usersIn = root['users'];
  // Without a list, users may come from postgres (auth.users); checked once that is read.
  const usersListed = usersIn !== undefined && usersIn !== null;
  if (usersListed && !Array.isArray(usersIn)) fail('users', 'must be a list of { username, password }');
  else if (Array.isArray(usersIn)) {
    const seen = new Set<string>();
    usersIn.forEach((u, i) => {
      if (!isObject(u)) return fail(`users[${i}]`, 'must be an object');
      const username = str(u['username'], `users[${i}].username`, undefined, /^[A-Za-z0-9._~+-]+$/);
      const user: SipUser = { username };
      if (u['ha1Md5'] != null) user.ha1Md5 = str(u['ha1Md5'], `users[${i}].ha1Md5`, undefined, /^[0-9a-fA-F]{32}$/);
      if (u['ha1Sha256'] != null)
        user.ha1Sha256 = str(u['ha1Sha256'], `users[${i}].ha1Sha256`, undefined, /^[0-9a-fA-F]{64}$/);
      if (u['password'] != null || (user.ha1Md5 === undefined && user.ha1Sha256 === undefined))
        user.password = str(u['password'], `users[${i}].password`, undefined);
      for (const key of Object.keys(u))
        if (!['username', 'password', 'ha1Md5', 'ha1Sha256'].includes(key))
          fail(`users[${i}].${key}`, 'is not a known option');
      if (seen.has(username)) fail(`users[${i}].username`, `"${username}" is listed twice`);
      seen.add(username);
      users.push(user);
    });
  }

  const digestIn = section('digest');
  const digest = {
    algorithms: listOf(digestIn['algorithms'], 'digest.algorithms', ALGORITHMS, ['SHA-256', 'MD5']),
    allowNoQop: bool(digestIn['allowNoQop'], 'digest.allowNoQop', false),
    allowUriMismatch: bool(digestIn['allowUriMismatch'], 'digest.allowUriMismatch', false),
    nonceTtlMs: int(digestIn['nonceTtlMs'], 'digest.nonceTtlMs', 300_000, 1000, 3_600_000),
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
    missedCallTtlMs: int(
      callsIn['missedCallTtlMs'],
      'calls.missedCallTtlMs',
      7 * 24 * 3600_000,
      1000,
      28 * 24 * 3600_000,
    ),
  };
  if (calls.pushWaitMs > ringTimeoutMs) fail('calls.pushWaitMs', 'must not exceed calls.ringTimeoutMs');

  const pushIn = section('push');
  const push: BridgeConfig['push'] = {
    providers: listOf(pushIn['providers'], 'push.providers', PROVIDERS, ['apns', 'fcm']),
    environment: oneOf(pushIn['environment'], 'push.environment', ['production', 'sandbox'] as const, 'production'),
    pnProviders: { apns: 'apns', fcm: 'fcm' },
  };
  if (pushIn['apnsApp'] != null) push.apnsApp = str(pushIn['apnsApp'], 'push.apnsApp', undefined);
  if (pushIn['fcmProject'] != null) push.fcmProject = str(pushIn['fcmProject'], 'push.fcmProject', undefined);
  if (pushIn['hmsApp'] != null) push.hmsApp = str(pushIn['hmsApp'], 'push.hmsApp', undefined, /^[0-9]{6,20}$/);
  if (pushIn['pnProviders'] != null) {
    const names = pushIn['pnProviders'];
    if (!isObject(names) || Object.keys(names).length === 0)
      fail('push.pnProviders', 'must map pn-provider names to apns, fcm or hms');
    else
      push.pnProviders = Object.fromEntries(
        Object.entries(names).map(([name, provider]) => {
          if (!/^[A-Za-z0-9._-]{1,32}$/.test(name)) fail(`push.pnProviders.${name}`, 'is not a pn-provider name');
          return [name.toLowerCase(), oneOf(provider, `push.pnProviders.${name}`, PROVIDERS, 'fcm')];
        }),
      );
  }

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
    if (!Array.isArray(fcm['credentials']) || fcm['credentials'].length === 0)
      fail('fcm.credentials', 'must list at least one project credential');
  }

  // The same fields, defaults and messages as the HTTP gateway's, so one deployment reads alike.
  const engineSection = (
    name: (typeof ENGINE_SECTIONS)[number],
    known: string[],
  ): Record<string, unknown> | undefined => {
    const value = expandShortcut(name, root[name]);
    if (value === undefined || value === null) return undefined;
    if (!isObject(value)) {
      fail(name, typeof value === 'string' ? shortcutMessage(name) : 'must be an object with an engine');
      return undefined;
    }
    for (const key of Object.keys(value))
      if (key !== 'engine' && !known.includes(key)) fail(`${name}.${key}`, 'is not a known option');
    return value;
  };
  const redisUrl = (value: unknown, path: string): string => {
    if (value === undefined || value === null) {
      fail(path, 'is required (redis://host:port/db)');
      return '';
    }
    const url = str(value, path, '');
    const problem = url === '' ? undefined : redisUrlProblem(url);
    if (problem) fail(path, problem);
    return url;
  };
  const prefixOf = (value: unknown, path: string): string => {
    const prefix = str(value, path, 'pushrelay');
    if (!PREFIX.test(prefix)) fail(path, 'may only hold letters, digits and . _ : { } - (1-100)');
    return prefix;
  };

  let store: StoreConfig = { engine: 'memory' };
  const storeIn = engineSection('store', ['url', 'schema', 'poolSize']);
  if (storeIn && storeIn['engine'] === 'postgres') {
    let url = '';
    if (storeIn['url'] === undefined || storeIn['url'] === null)
      fail('store.url', 'is required for a postgres store (postgres://user@host:5432/db)');
    else {
      url = str(storeIn['url'], 'store.url', '');
      if (url !== '' && !POSTGRES_URL.test(url)) fail('store.url', 'must be a postgres:// or postgresql:// URL');
    }
    const schema = str(storeIn['schema'], 'store.schema', 'pushrelay');
    if (!SCHEMA.test(schema))
      fail('store.schema', 'must be a plain SQL identifier (letters, digits, _; not starting with a digit)');
    store = { engine: 'postgres', url, schema, poolSize: int(storeIn['poolSize'], 'store.poolSize', 10, 1, 1000) };
  } else if (storeIn && storeIn['engine'] !== 'memory') fail('store.engine', 'must be "memory" or "postgres"');

  let queue: QueueConfig = { engine: 'memory' };
  const queueIn = engineSection('queue', [
    'redis',
    'prefix',
    'concurrency',
    'lockDurationMs',
    'stalledIntervalMs',
    'scheduleTimeoutMs',
    'closeGraceMs',
  ]);
  if (queueIn && queueIn['engine'] === 'bullmq') {
    queue = {
      engine: 'bullmq',
      redis: redisUrl(queueIn['redis'], 'queue.redis'),
      prefix: prefixOf(queueIn['prefix'], 'queue.prefix'),
      concurrency: int(queueIn['concurrency'], 'queue.concurrency', 64, 1, 10_000),
      lockDurationMs: int(queueIn['lockDurationMs'], 'queue.lockDurationMs', 30_000, 1000, 600_000),
      stalledIntervalMs: int(queueIn['stalledIntervalMs'], 'queue.stalledIntervalMs', 30_000, 1000, 600_000),
      scheduleTimeoutMs: int(queueIn['scheduleTimeoutMs'], 'queue.scheduleTimeoutMs', 5000, 100, 60_000),
      closeGraceMs: int(queueIn['closeGraceMs'], 'queue.closeGraceMs', 5000, 100, 120_000),
    };
  } else if (queueIn && queueIn['engine'] !== 'memory') fail('queue.engine', 'must be "memory" or "bullmq"');

  let ephemeral: EphemeralConfig = { engine: 'memory' };
  const ephemeralIn = engineSection('ephemeral', ['redis', 'prefix']);
  if (ephemeralIn && ephemeralIn['engine'] === 'redis') {
    ephemeral = {
      engine: 'redis',
      redis: redisUrl(ephemeralIn['redis'], 'ephemeral.redis'),
      prefix: prefixOf(ephemeralIn['prefix'], 'ephemeral.prefix'),
    };
  } else if (ephemeralIn && ephemeralIn['engine'] !== 'memory') fail('ephemeral.engine', 'must be "memory" or "redis"');

  // Registrar mode: request authentication, the trunk, where users come from, TLS, HMS, limits.
  const registrar = resolveRegistrarOptions(root, { fail, section, str, int, bool, oneOf }, store.engine);
  if (!usersListed && mode !== 'edge' && registrar.auth.users !== 'postgres')
    fail('users', 'must be a list of { username, password }');
  if (registrar.trunk?.inbound && users.some((u) => u.username === registrar.trunk!.inbound!.username))
    fail('trunk.inbound.username', 'is also a user; the trunk needs an account of its own');
  if (registrar.hms && !push.providers.includes('hms')) fail('push.providers', 'must list hms when hms is configured');

  if (issues.length > 0) throw new ValidationError(issues, 'sip-bridge config');
  const config: BridgeConfig = {
    ...registrar,
    domain,
    realm,
    tenant,
    listen,
    publicHost,
    users,
    digest,
    registration,
    calls,
    push,
    metrics,
    log,
    shutdownTimeoutMs,
    store,
    queue,
    ephemeral,
    mode,
  };
  if (edge) config.edge = edge;
  if (apns) config.apns = apns;
  if (fcm) config.fcm = fcm;
  return config;
}

/**
 * Applies `PUSHRELAY_SIP_BRIDGE__SECTION__OPTION_NAME=value` variables over a config object:
 * `__` separates path segments, SNAKE_CASE becomes camelCase, and values are read as JSON when
 * they parse (numbers, booleans, lists), as strings otherwise. `..._STORE`, `..._QUEUE` and
 * `..._EPHEMERAL` take `memory` or a URL (postgres:// for the store, redis:// for the others) and
 * keep the section's other options from the file.
 */
export function applyEnvOverrides(input: Record<string, unknown>, env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out = structuredClone(input);
  const overrides = Object.entries(env)
    .filter((entry): entry is [string, string] => entry[0].startsWith(ENV_PREFIX) && entry[1] !== undefined)
    .map(([name, raw]) => ({ path: name.slice(ENV_PREFIX.length).split('__').filter(Boolean).map(camel), raw }))
    .filter(({ path }) => path.length > 0)
    // Whole sections first, so `..._QUEUE=redis://...` and `..._QUEUE__PREFIX=x` combine in any order.
    .sort((a, b) => a.path.length - b.path.length);
  for (const { path, raw } of overrides) {
    const [head] = path;
    if (path.length === 1 && isEngineSection(head!)) {
      // A URL shortcut keeps the section's other options from the file, as the gateway's does.
      const expanded = expandShortcut(head, parseEnvValue(raw));
      const before = out[head];
      const keep =
        isObject(before) &&
        isObject(expanded) &&
        expanded['engine'] !== 'memory' &&
        (head !== 'store' || before['engine'] === 'postgres');
      out[head] = keep ? { ...before, ...expanded } : expanded;
      continue;
    }
    if (isEngineSection(head!) && typeof out[head] === 'string') out[head] = expandShortcut(head, out[head]);
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

function isEngineSection(name: string): name is (typeof ENGINE_SECTIONS)[number] {
  return (ENGINE_SECTIONS as readonly string[]).includes(name);
}

/**
 * `memory`, a postgres:// URL (store) or a redis:// URL (queue: BullMQ, ephemeral: Redis) as
 * the section they stand for; anything else is returned as it is.
 */
function expandShortcut(section: (typeof ENGINE_SECTIONS)[number], value: unknown): unknown {
  if (typeof value !== 'string') return value;
  if (value === 'memory') return { engine: 'memory' };
  if (section === 'store') return POSTGRES_URL.test(value) ? { engine: 'postgres', url: value } : value;
  if (!REDIS_URL.test(value)) return value;
  return section === 'queue' ? { engine: 'bullmq', redis: value } : { engine: 'redis', redis: value };
}

function shortcutMessage(section: (typeof ENGINE_SECTIONS)[number]): string {
  return section === 'store'
    ? 'must be "memory", a postgres:// URL or an object with an engine'
    : 'must be "memory", a redis:// URL or an object with an engine';
}

/** The config with the passwords of its database and Redis URLs replaced, safe to log. */
export function redactedConfig(config: BridgeConfig): BridgeConfig {
  const { store, queue, ephemeral } = config;
  return {
    ...config,
    users: config.users.map((u) => ({ username: u.username, password: '[redacted]' })),
    ...(config.trunk ? { trunk: redactedTrunk(config.trunk) } : {}),
    store: store.engine === 'postgres' ? { ...store, url: withoutPassword(store.url) } : store,
    queue: queue.engine === 'bullmq' ? { ...queue, redis: withoutPassword(queue.redis) } : queue,
    ephemeral: ephemeral.engine === 'redis' ? { ...ephemeral, redis: withoutPassword(ephemeral.redis) } : ephemeral,
  };
}

function redactedTrunk(trunk: NonNullable<BridgeConfig['trunk']>): NonNullable<BridgeConfig['trunk']> {
  const out = { ...trunk };
  if (out.password !== undefined) out.password = '[redacted]';
  if (out.inbound) out.inbound = { ...out.inbound, password: '[redacted]' };
  return out;
}

function withoutPassword(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = 'redacted';
    // pg also reads a password from the query string.
    for (const name of [...u.searchParams.keys()]) if (/pass/i.test(name)) u.searchParams.set(name, 'redacted');
    return u.toString();
  } catch {
    return '[redacted]';
  }
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
export async function loadConfig(
  file: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Promise<BridgeConfig> {
  let base: Record<string, unknown> = {};
  if (file !== undefined) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      throw new ValidationError(
        [{ path: '', message: `cannot read ${file}: ${(error as Error).message}` }],
        'sip-bridge config',
      );
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new ValidationError(
        [{ path: '', message: `${file} is not JSON: ${(error as Error).message}` }],
        'sip-bridge config',
      );
    }
    if (!isObject(parsed))
      throw new ValidationError([{ path: '', message: `${file} must hold a JSON object` }], 'sip-bridge config');
    base = parsed;
  }
  return resolveConfig(applyEnvOverrides(base, env));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
