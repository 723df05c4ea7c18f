import { dirname, resolve } from 'node:path';
import { ConfigReader, LOG_LEVELS, isObject, readConfigFile, readSecret } from '@pushrelay/app-kit';
import { readEphemeral, readQueue, readStore, redactedEngines } from '@pushrelay/app-kit';
import { applyEnvOverrides as applyKernelEnvOverrides, type ConfigWarning } from '@pushrelay/app-kit';
import type { EphemeralConfig, QueueConfig, StoreConfig as EngineStoreConfig } from '@pushrelay/app-kit';
import type { Environment } from '@pushrelay/core';
import type { DigestAlgorithm } from '@pushrelay/sip';
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
    providers: PushProvider[];
    /**
     * RFC 8599 `pn-provider` names accepted, each with the provider that sends to it; the names
     * whose provider is served are advertised in Feature-Caps. Default `{ apns: apns, fcm: fcm,
     * webpush: webpush }`; e.g. add `hms: hms` for Huawei devices (FCM-like: `pn-param` is the HMS
     * app id).
     */
    pnProviders: Record<string, PushProvider>;
    /**
     * The VAPID key set (`webpush.vapid[].app`) of browsers registering with
     * `pn-provider=webpush`; its public key is advertised as `+sip.vapid`. Default: the first set.
     */
    webpushApp?: string;
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
  /**
   * Web Push transport options as @pushrelay/transport-webpush takes them (`vapid` key sets; a
   * set's `privateKey` may be given as `privateKeyFile`, `ca` as `caFile`).
   */
  webpush?: Record<string, unknown>;
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

/** The bridge keeps its bindings in memory or PostgreSQL (SQLite serves one process only). */
export type StoreConfig = Exclude<EngineStoreConfig, { engine: 'sqlite' }>;
export type { EphemeralConfig, QueueConfig };

/**
 * Everything optional: what a config file or a test supplies. `store`, `queue` and `ephemeral`
 * may also be a string: `memory`, or the URL of a postgres store / a Redis for BullMQ or missed calls.
 */
export type BridgeConfigInput = Omit<DeepPartial<BridgeConfig>, 'store' | 'queue' | 'ephemeral' | 'edge'> & {
  edge?: EdgeConfigInput | null;
  store?: DeepPartial<StoreConfig> | string | null;
  queue?: DeepPartial<QueueConfig> | string | null;
  ephemeral?: DeepPartial<EphemeralConfig> | string | null;
  /** Transport options by provider (the place of the old top-level `apns`, `fcm` and `hms`). */
  providers?: { apns?: Record<string, unknown>; fcm?: Record<string, unknown>; hms?: Record<string, unknown> };
};
type DeepPartial<T> = T extends (infer U)[]
  ? U[]
  : T extends object
    ? { [K in keyof T]?: DeepPartial<T[K]> | null }
    : T;

/** The prefix the bridge's variables had before `PUSHRELAY_<SETTING>__<OPTION>`; still read, with a warning. */
export const ENV_PREFIX = 'PUSHRELAY_SIP_BRIDGE__';

const ALGORITHMS = ['SHA-256', 'MD5'] as const;
const PROVIDERS = ['apns', 'fcm', 'hms', 'webpush'] as const;
export type PushProvider = (typeof PROVIDERS)[number];
const HOSTNAME = /^[A-Za-z0-9.:-]+$/;
const STORE_ENGINES = ['memory', 'postgres'] as const;

/** The bridge's top-level options. */
const SETTINGS = [
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
  'providers',
  'apns',
  'fcm',
  'webpush',
  'store',
  'queue',
  'ephemeral',
  ...REGISTRAR_SECTIONS,
  'mode',
  'edge',
];

/** Provider sections the bridge reads under `providers`, as the HTTP gateway does. */
const PROVIDER_SECTIONS = ['apns', 'fcm', 'hms', 'webpush'] as const;
/** The provider sections that were read at the top level before `providers` existed. */
const LEGACY_PROVIDER_SECTIONS = ['apns', 'fcm', 'hms'] as const;

export interface ResolveConfigOptions {
  /** Told of every old option name still read. */
  onWarning?: (warning: ConfigWarning) => void;
  /** Where `{env: NAME}` passwords are read. Default the process environment. */
  env?: Record<string, string | undefined>;
  /** Relative `{file: path}` passwords resolve against it. Default the working directory. */
  baseDir?: string;
}

/**
 * The provider sections under `providers` (their new place), moved to where the bridge reads
 * them; the old top-level `apns`, `fcm` and `hms` still work, each with a warning.
 */
function normalizeProviders(root: Record<string, unknown>, r: ConfigReader): Record<string, unknown> {
  const out = { ...root };
  for (const name of LEGACY_PROVIDER_SECTIONS)
    if (root[name] != null) r.warn(name, `is read for one more release: move it to providers.${name}`);
  if (root['providers'] == null) return out;
  delete out['providers'];
  const providers = r.object(root['providers'], 'providers', 'must be an object of apns, fcm, hms and webpush options');
  r.knownKeys(providers, 'providers', PROVIDER_SECTIONS);
  for (const name of PROVIDER_SECTIONS) {
    if (providers[name] == null) continue;
    if (root[name] != null) r.fail(name, `is also given as providers.${name}: keep one`);
    out[name] = providers[name];
  }
  return out;
}

/** Passwords given as `{env: NAME}` or `{file: path}` replaced by their value; inline ones stay. */
function readPasswords(root: Record<string, unknown>, r: ConfigReader, options: ResolveConfigOptions) {
  const ctx = {
    env: options.env ?? process.env,
    baseDir: options.baseDir ?? process.cwd(),
    fail: (path: string, message: string) => r.fail(path, message),
  };
  const resolveIn = (holder: unknown, path: string): unknown => {
    if (!isObject(holder) || !isObject(holder['password'])) return holder;
    return { ...holder, password: readSecret(holder['password'], `${path}.password`, ctx) ?? '' };
  };
  const out = { ...root };
  if (Array.isArray(root['users'])) out['users'] = root['users'].map((u, i) => resolveIn(u, `users[${i}]`));
  if (isObject(root['trunk'])) {
    const trunk = resolveIn(root['trunk'], 'trunk') as Record<string, unknown>;
    out['trunk'] = {
      ...trunk,
      ...(trunk['inbound'] != null ? { inbound: resolveIn(trunk['inbound'], 'trunk.inbound') } : {}),
    };
  }
  return out;
}

/**
 * Validates a config object and fills in the defaults. Every problem is reported at once,
 * each with its path, as one ConfigError (a core ValidationError).
 */
export function resolveConfig(input: unknown, options: ResolveConfigOptions = {}): BridgeConfig {
  const r = new ConfigReader({ unknownKey: 'is not a known option' });
  const fail = (path: string, message: string): void => r.fail(path, message);
  const given = isObject(input) ? input : (fail('', 'must be a JSON object'), {});
  r.knownKeys(given, '', SETTINGS);
  const root = readPasswords(normalizeProviders(given, r), r, options);
  const section = (name: string): Record<string, unknown> => r.object(root[name], name);
  const str = r.string.bind(r);
  const int = r.int.bind(r);
  const bool = r.bool.bind(r);
  const oneOf = r.oneOf.bind(r);
  const listOf = r.listOf.bind(r);

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
      r.knownKeys(u, `users[${i}]`, ['username', 'password', 'ha1Md5', 'ha1Sha256']);
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
    pnProviders: { apns: 'apns', fcm: 'fcm', webpush: 'webpush' },
  };
  if (pushIn['apnsApp'] != null) push.apnsApp = str(pushIn['apnsApp'], 'push.apnsApp', undefined);
  if (pushIn['fcmProject'] != null) push.fcmProject = str(pushIn['fcmProject'], 'push.fcmProject', undefined);
  if (pushIn['hmsApp'] != null) push.hmsApp = str(pushIn['hmsApp'], 'push.hmsApp', undefined, /^[0-9]{6,20}$/);
  if (pushIn['webpushApp'] != null) push.webpushApp = str(pushIn['webpushApp'], 'push.webpushApp', undefined);
  if (pushIn['pnProviders'] != null) {
    const names = pushIn['pnProviders'];
    if (!isObject(names) || Object.keys(names).length === 0)
      fail('push.pnProviders', 'must map pn-provider names to apns, fcm, hms or webpush');
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

  let webpush: Record<string, unknown> | undefined;
  if (root['webpush'] != null) {
    webpush = section('webpush');
    const sets = webpush['vapid'];
    if (!Array.isArray(sets) || sets.length === 0) fail('webpush.vapid', 'must list at least one VAPID key set');
    else {
      const apps = sets.map((v: unknown) => (isObject(v) ? v['app'] : undefined));
      if (push.webpushApp === undefined && typeof apps[0] === 'string') push.webpushApp = apps[0];
      if (push.webpushApp !== undefined && !apps.includes(push.webpushApp))
        fail('push.webpushApp', 'must be the app of a webpush.vapid key set');
    }
  }
  if (push.providers.includes('webpush') && !webpush)
    fail('webpush', 'is required when push.providers lists webpush (its VAPID key goes in Feature-Caps)');

  // The kernel's engine sections: the same fields, defaults and messages as the HTTP gateway's.
  const engines = { storeEngines: STORE_ENGINES, shortcuts: true };
  const read = readStore(r, root['store'], engines);
  const store: StoreConfig = read.engine === 'sqlite' ? { engine: 'memory' } : read;
  const queue = readQueue(r, root['queue'], engines);
  const ephemeral = readEphemeral(r, root['ephemeral'], engines);

  // Registrar mode: request authentication, the trunk, where users come from, TLS, HMS, limits.
  const registrar = resolveRegistrarOptions(root, { fail, section, str, int, bool, oneOf }, store.engine);
  if (!usersListed && mode !== 'edge' && registrar.auth.users !== 'postgres')
    fail('users', 'must be a list of { username, password }');
  if (registrar.trunk?.inbound && users.some((u) => u.username === registrar.trunk!.inbound!.username))
    fail('trunk.inbound.username', 'is also a user; the trunk needs an account of its own');
  if (registrar.hms && !push.providers.includes('hms')) fail('push.providers', 'must list hms when hms is configured');

  r.finish('sip-bridge config');
  for (const warning of r.warnings) options.onWarning?.(warning);
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
  if (webpush) config.webpush = webpush;
  return config;
}

/**
 * Applies the environment over a config object: `PUSHRELAY_<SECTION>__<OPTION_NAME>=value` for
 * the bridge's options (`__` separates path segments, SNAKE_CASE becomes camelCase, values are
 * JSON when they parse, strings otherwise), and the old `PUSHRELAY_SIP_BRIDGE__...` names before
 * them, each with a warning. `PUSHRELAY_STORE`, `PUSHRELAY_QUEUE` and `PUSHRELAY_EPHEMERAL` take
 * `memory` or a URL (postgres:// for the store, redis:// for the others) and keep the section's
 * other options from the file.
 */
export function applyEnvOverrides(
  input: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
  onWarning?: (warning: ConfigWarning) => void,
): Record<string, unknown> {
  return applyKernelEnvOverrides(input, env, {
    settings: SETTINGS,
    legacyPrefixes: [ENV_PREFIX],
    storeEngines: STORE_ENGINES,
    ...(onWarning ? { onWarning } : {}),
  });
}

/** The config with the passwords of its database and Redis URLs replaced, safe to log. */
export function redactedConfig(config: BridgeConfig): BridgeConfig {
  return {
    ...config,
    users: config.users.map((u) => ({ username: u.username, password: '[redacted]' })),
    ...(config.trunk ? { trunk: redactedTrunk(config.trunk) } : {}),
    ...redactedEngines(config),
  };
}

function redactedTrunk(trunk: NonNullable<BridgeConfig['trunk']>): NonNullable<BridgeConfig['trunk']> {
  const out = { ...trunk };
  if (out.password !== undefined) out.password = '[redacted]';
  if (out.inbound) out.inbound = { ...out.inbound, password: '[redacted]' };
  return out;
}

/** Reads the JSON or YAML file (when given), applies the environment, validates. */
export async function loadConfig(
  file: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  onWarning?: (warning: ConfigWarning) => void,
): Promise<BridgeConfig> {
  const base = file === undefined ? {} : readConfigFile(file, 'sip-bridge config');
  const warn = onWarning ? { onWarning } : {};
  return resolveConfig(applyEnvOverrides(base, env, onWarning), {
    ...warn,
    env,
    ...(file !== undefined ? { baseDir: dirname(resolve(file)) } : {}),
  });
}
