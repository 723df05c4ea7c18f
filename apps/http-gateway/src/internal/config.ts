import { createHash } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import {
  ConfigReader,
  LOG_LEVELS,
  applyEnvOverrides,
  isObject,
  readConfigFile,
  installedCodecPackages,
  readAppManifest,
  readEphemeral,
  readQueue,
  readSecret,
  readStore,
  redactedEngines,
  resolveSecretRefs,
  type EphemeralConfig,
  type Env,
  type QueueConfig,
  type SecretContext,
  type StoreConfig as EngineStoreConfig,
} from '@pushrelay/app-kit';

import { DEFAULT_ADMISSION_POLICY } from '@pushrelay/core';

export { ConfigError } from '@pushrelay/app-kit';
export type { EphemeralConfig, QueueConfig } from '@pushrelay/app-kit';

export interface TenantConfig {
  id: string;
  /** SHA-256 (hex) of each API key the tenant may use. */
  apiKeyHashes: string[];
  /** Shared secret of each vendor's webhook signatures (`kaleyra`...). */
  webhookSecrets: Record<string, string>;
  /** HS256 secret of the JWTs wazo-webhookd sends in push-proxy mode. */
  proxyJwtSecret?: string;
  /** Which binding format Wazo traffic of this tenant is encoded with. Default `wazo`. */
  wazoFormat: string;
  /** The tenant's notification rate (the top-level `rateLimit` unless it has its own). */
  rateLimit: RateLimitConfig;
  /** The tenant's bounds (the top-level `limits` unless it has its own). */
  limits: LimitsConfig;
}

/** Bounds on what a tenant holds in the store. */
export interface LimitsConfig {
  /** Registered devices past which a new one is refused with 429 `device_limit`; 0: no bound. */
  maxDevicesPerTenant: number;
}

/** A token bucket: `notificationsPerSecond` come back each second, up to `burst`; 0 per second: no limit. */
export interface RateLimitConfig {
  notificationsPerSecond: number;
  burst: number;
}

/** The store section as the gateway names its engine (`kind`); every other app says `engine`. */
export type StoreConfig =
  | { kind: 'memory' }
  | { kind: 'sqlite'; path: string }
  | { kind: 'postgres'; url: string; schema: string; poolSize: number };

/** Bounds on accepted but unsent work: past one, new notifications get 503 `overloaded`. */
export interface AdmissionConfig {
  /** Sends waiting or running in the queue (all processes of a shared queue); 0: no bound. */
  maxPendingJobs: number;
  /** Percent of that bound kept for call pushes: other types are refused first. */
  callReservePercent: number;
  /** Percent of that bound one tenant's sends may hold (counted per process). */
  maxTenantPercent: number;
  /** This process's resident memory (MB) past which new notifications are refused; 0: no bound. */
  maxRssMb: number;
  /** The `Retry-After` of a refusal. */
  retryAfterSeconds: number;
}

/** How long delivery reports and missed calls are kept, and how the purge is paced. */
export interface RetentionConfig {
  /** Days a delivery report is kept after it was accepted; also the missed calls' time to live. */
  reportsDays: number;
  /** Between two sweeps. */
  sweepIntervalMs: number;
  /** Rows one purge statement deletes. */
  batchSize: number;
}

export interface GatewayConfig {
  listen: { host: string; port: number };
  /** Public base URL, printed and used in the OpenAPI document. */
  publicUrl?: string;
  ringTimeoutMs: number;
  bodyLimitBytes: number;
  shutdownTimeoutMs: number;
  /** How long `?wait=true` holds a request for the report. */
  waitTimeoutMs: number;
  /** Accepted age of a signed webhook (both ways). */
  webhookWindowMs: number;
  store: StoreConfig;
  queue: QueueConfig;
  ephemeral: EphemeralConfig;
  retention: RetentionConfig;
  admission: AdmissionConfig;
  /** Every tenant's rate unless it sets its own. */
  rateLimit: RateLimitConfig;
  /** Every tenant's bounds unless it sets its own. */
  limits: LimitsConfig;
  codecs: string[];
  tenants: TenantConfig[];
  /**
   * Provider transports' options, passed to the transport packages with every `xxxFile` /
   * `xxxEnv` field replaced by the file's or variable's content under `xxx`.
   */
  providers: {
    apns?: Record<string, unknown>;
    fcm?: Record<string, unknown>;
    hms?: Record<string, unknown>;
    webpush?: Record<string, unknown>;
  };
  logLevel: string;
}

/** The gateway's package.json: its `@pushrelay/codec-*` dependencies are the codecs it offers. */
export const GATEWAY_MANIFEST = new URL('../../package.json', import.meta.url);

/**
 * The codec ids the gateway can enable: those of the codec packages it depends on, known from
 * their names; the packages themselves are imported when the gateway is composed.
 */
export const KNOWN_CODECS: readonly string[] = installedCodecPackages(readAppManifest(GATEWAY_MANIFEST)).map(
  (p) => p.id,
);

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/** The gateway's top-level settings: each may also be set as `PUSHRELAY_<SETTING>[__<OPTION>]`. */
const SETTINGS = [
  'listen',
  'publicUrl',
  'ringTimeoutMs',
  'bodyLimitBytes',
  'shutdownTimeoutMs',
  'waitTimeoutMs',
  'webhookWindowMs',
  'store',
  'queue',
  'ephemeral',
  'retention',
  'admission',
  'rateLimit',
  'limits',
  'codecs',
  'tenants',
  'providers',
  'logLevel',
] as const;

/** Names older than the `PUSHRELAY_<SETTING>__<OPTION>` rule, still read. */
const ENV_ALIASES = {
  PUSHRELAY_HOST: ['listen', 'host'],
  PUSHRELAY_PORT: ['listen', 'port'],
  PUSHRELAY_RETENTION_DAYS: ['retention', 'reportsDays'],
};

/** Reads a JSON or YAML file, applies `PUSHRELAY_*` env overrides and validates the result. */
export function loadConfigFile(path: string, env: Env = process.env): GatewayConfig {
  return parseConfig(readConfigFile(path), { env, baseDir: dirname(resolve(path)), source: path });
}

export interface ParseConfigOptions {
  env?: Env;
  /** Relative file paths (store, credentials) resolve against it. Default the working directory. */
  baseDir?: string;
  source?: string;
}

/**
 * Validates raw configuration, after the environment: `PUSHRELAY_<SETTING>__<OPTION_NAME>`
 * (`PUSHRELAY_LISTEN__PORT`, `PUSHRELAY_LOG_LEVEL`, `PUSHRELAY_CODECS` as a comma list...),
 * `PUSHRELAY_STORE` (`memory`, a postgres:// URL or a sqlite path), `PUSHRELAY_QUEUE` and
 * `PUSHRELAY_EPHEMERAL` (`memory` or a redis:// URL); PUSHRELAY_HOST, PUSHRELAY_PORT and
 * PUSHRELAY_RETENTION_DAYS as before.
 */
export function parseConfig(raw: unknown, options: ParseConfigOptions = {}): GatewayConfig {
  const env = options.env ?? process.env;
  const baseDir = options.baseDir ?? process.cwd();
  const r = new ConfigReader();
  const obj = isObject(raw)
    ? applyEnvOverrides(raw, env, { settings: SETTINGS, aliases: ENV_ALIASES })
    : (r.fail('', 'must be an object'), {});
  r.knownKeys(obj, '', SETTINGS);
  const secrets: SecretContext = { env, baseDir, fail: (path, message) => r.fail(path, message) };

  const listenRaw = r.object(obj.listen, 'listen');
  const listen = {
    host: r.optionalString(listenRaw.host, 'listen.host') ?? '127.0.0.1',
    port: r.int(listenRaw.port, 'listen.port', 8080, 0, 65535),
  };

  const store = gatewayStore(readStore(r, obj.store, { baseDir }));
  const queue = readQueue(r, obj.queue);
  const ephemeral = readEphemeral(r, obj.ephemeral);
  const retention = parseRetention(r, obj.retention);
  const admission = parseAdmission(r, obj.admission);
  const codecs = parseCodecs(r, obj.codecs);
  const rateLimit = parseRateLimit(r, obj.rateLimit, 'rateLimit', { notificationsPerSecond: 500, burst: 1000 });
  const limits = parseLimits(r, obj.limits, 'limits', DEFAULT_LIMITS);
  const tenants = parseTenants(r, obj.tenants, secrets, { rateLimit, limits });

  const providers: GatewayConfig['providers'] = {};
  if (obj.providers !== undefined) {
    if (!isObject(obj.providers)) r.fail('providers', 'must be an object');
    else {
      for (const [name, value] of Object.entries(obj.providers)) {
        if (name !== 'apns' && name !== 'fcm' && name !== 'hms' && name !== 'webpush') {
          r.fail(`providers.${name}`, 'must be apns, fcm, hms or webpush');
          continue;
        }
        if (!isObject(value)) {
          r.fail(`providers.${name}`, 'must be an object of transport options');
          continue;
        }
        providers[name] = resolveSecretRefs(value, `providers.${name}`, secrets) as Record<string, unknown>;
      }
    }
  }

  const publicUrl = r.optionalString(obj.publicUrl, 'publicUrl');
  const logLevel = r.optionalString(obj.logLevel, 'logLevel') ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) r.fail('logLevel', 'must be a pino level');

  const config: GatewayConfig = {
    listen,
    ringTimeoutMs: r.int(obj.ringTimeoutMs, 'ringTimeoutMs', 30_000, 1000, 600_000),
    bodyLimitBytes: r.int(obj.bodyLimitBytes, 'bodyLimitBytes', 64 * 1024, 1024, 1024 * 1024),
    shutdownTimeoutMs: r.int(obj.shutdownTimeoutMs, 'shutdownTimeoutMs', 10_000, 100, 120_000),
    waitTimeoutMs: r.int(obj.waitTimeoutMs, 'waitTimeoutMs', 30_000, 100, 120_000),
    webhookWindowMs: r.int(obj.webhookWindowMs, 'webhookWindowMs', 5 * 60_000, 1000, 3600_000),
    store,
    queue,
    ephemeral,
    retention,
    admission,
    rateLimit,
    limits,
    codecs,
    tenants,
    providers,
    logLevel,
  };
  if (publicUrl !== undefined) config.publicUrl = publicUrl;
  r.finish(options.source);
  return config;
}

function gatewayStore(store: EngineStoreConfig): StoreConfig {
  const { engine, ...rest } = store;
  return { kind: engine, ...rest } as StoreConfig;
}

/** The store section in the kernel's terms (`engine`), for the backends it opens. */
export function engineStore(store: StoreConfig): EngineStoreConfig {
  const { kind, ...rest } = store;
  return { engine: kind, ...rest } as EngineStoreConfig;
}

/** `codecs`: a list of codec ids, or a comma-separated string (as an environment value). */
function parseCodecs(r: ConfigReader, value: unknown): string[] {
  if (value === undefined) return [...KNOWN_CODECS];
  const list =
    typeof value === 'string'
      ? value
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : value;
  if (!Array.isArray(list)) {
    r.fail('codecs', 'must be a list of codec ids');
    return [...KNOWN_CODECS];
  }
  const codecs: string[] = [];
  list.forEach((c, i) => {
    if (typeof c !== 'string' || !KNOWN_CODECS.includes(c)) {
      r.fail(`codecs[${i}]`, `must be one of ${KNOWN_CODECS.join(', ')}`);
    } else codecs.push(c);
  });
  return codecs;
}

function parseTenants(
  r: ConfigReader,
  value: unknown,
  secrets: SecretContext,
  defaults: { rateLimit: RateLimitConfig; limits: LimitsConfig },
): TenantConfig[] {
  const tenants: TenantConfig[] = [];
  if (!Array.isArray(value) || value.length === 0) {
    r.fail('tenants', 'must be a non-empty list');
    return tenants;
  }
  const seenIds = new Set<string>();
  const seenKeys = new Set<string>();
  value.forEach((t, i) => {
    const path = `tenants[${i}]`;
    if (!isObject(t)) return void r.fail(path, 'must be an object');
    r.knownKeys(t, path, [
      'id',
      'apiKeySha256',
      'webhookSecrets',
      'proxyJwtSecret',
      'wazoFormat',
      'rateLimit',
      'limits',
    ]);
    const id = r.optionalString(t.id, `${path}.id`);
    if (t.id === undefined) r.fail(`${path}.id`, 'is required');
    if (id && !/^[A-Za-z0-9._-]{1,100}$/.test(id))
      r.fail(`${path}.id`, 'may only hold letters, digits and . _ - (1-100)');
    if (id && seenIds.has(id)) r.fail(`${path}.id`, `duplicates tenant "${id}"`);
    if (id) seenIds.add(id);
    const hashes: string[] = [];
    if (!Array.isArray(t.apiKeySha256) || t.apiKeySha256.length === 0) {
      r.fail(`${path}.apiKeySha256`, 'must be a non-empty list of SHA-256 hex digests of the API keys');
    } else {
      t.apiKeySha256.forEach((h, j) => {
        if (typeof h !== 'string' || !/^[0-9a-f]{64}$/i.test(h))
          r.fail(`${path}.apiKeySha256[${j}]`, 'must be 64 hex digits (sha256 of the key)');
        else if (seenKeys.has(h.toLowerCase())) r.fail(`${path}.apiKeySha256[${j}]`, 'is already used by another key');
        else {
          seenKeys.add(h.toLowerCase());
          hashes.push(h.toLowerCase());
        }
      });
    }
    const webhookSecrets: Record<string, string> = {};
    if (t.webhookSecrets !== undefined) {
      if (!isObject(t.webhookSecrets))
        r.fail(`${path}.webhookSecrets`, 'must be an object of vendor -> secret reference');
      else {
        for (const [vendor, ref] of Object.entries(t.webhookSecrets)) {
          const secret = readSecret(ref, `${path}.webhookSecrets.${vendor}`, secrets);
          if (secret !== undefined) webhookSecrets[vendor] = secret;
        }
      }
    }
    const proxyJwtSecret =
      t.proxyJwtSecret === undefined ? undefined : readSecret(t.proxyJwtSecret, `${path}.proxyJwtSecret`, secrets);
    const wazoFormat = r.optionalString(t.wazoFormat, `${path}.wazoFormat`) ?? 'wazo';
    const tenantRate =
      t.rateLimit === undefined
        ? defaults.rateLimit
        : parseRateLimit(r, t.rateLimit, `${path}.rateLimit`, defaults.rateLimit);
    const tenantLimits =
      t.limits === undefined ? defaults.limits : parseLimits(r, t.limits, `${path}.limits`, defaults.limits);
    if (id)
      tenants.push({
        id,
        apiKeyHashes: hashes,
        webhookSecrets,
        ...(proxyJwtSecret !== undefined ? { proxyJwtSecret } : {}),
        wazoFormat,
        rateLimit: tenantRate,
        limits: tenantLimits,
      });
  });
  return tenants;
}

/** `retention`, or PUSHRELAY_RETENTION_DAYS for `retention.reportsDays`. */
function parseRetention(r: ConfigReader, raw: unknown): RetentionConfig {
  const s = r.object(raw, 'retention');
  r.knownKeys(s, 'retention', ['reportsDays', 'sweepIntervalMs', 'batchSize']);
  return {
    reportsDays: r.int(s.reportsDays, 'retention.reportsDays', 7, 1, 3650),
    sweepIntervalMs: r.int(s.sweepIntervalMs, 'retention.sweepIntervalMs', 60_000, 1000, 24 * 3600_000),
    batchSize: r.int(s.batchSize, 'retention.batchSize', 500, 1, 100_000),
  };
}

function parseRateLimit(r: ConfigReader, raw: unknown, path: string, fallback: RateLimitConfig): RateLimitConfig {
  const s = r.object(raw, path);
  r.knownKeys(s, path, ['notificationsPerSecond', 'burst']);
  const notificationsPerSecond = r.int(
    s.notificationsPerSecond,
    `${path}.notificationsPerSecond`,
    fallback.notificationsPerSecond,
    0,
    1_000_000,
  );
  const burst = r.int(s.burst, `${path}.burst`, Math.max(fallback.burst, notificationsPerSecond), 1, 10_000_000);
  return { notificationsPerSecond, burst };
}

/** Room for a large tenant's users, yet one tenant (or a client registering in a loop) cannot fill the store. */
const DEFAULT_LIMITS: LimitsConfig = { maxDevicesPerTenant: 100_000 };

function parseLimits(r: ConfigReader, raw: unknown, path: string, fallback: LimitsConfig): LimitsConfig {
  const s = r.object(raw, path);
  r.knownKeys(s, path, ['maxDevicesPerTenant']);
  return {
    maxDevicesPerTenant: r.int(
      s.maxDevicesPerTenant,
      `${path}.maxDevicesPerTenant`,
      fallback.maxDevicesPerTenant,
      0,
      1_000_000_000,
    ),
  };
}

function parseAdmission(r: ConfigReader, raw: unknown): AdmissionConfig {
  const s = r.object(raw, 'admission');
  r.knownKeys(s, 'admission', [
    'maxPendingJobs',
    'callReservePercent',
    'maxTenantPercent',
    'maxRssMb',
    'retryAfterSeconds',
  ]);
  return {
    maxPendingJobs: r.int(
      s.maxPendingJobs,
      'admission.maxPendingJobs',
      DEFAULT_ADMISSION_POLICY.maxPendingJobs,
      0,
      10_000_000,
    ),
    callReservePercent: r.int(
      s.callReservePercent,
      'admission.callReservePercent',
      DEFAULT_ADMISSION_POLICY.callReservePercent,
      0,
      90,
    ),
    maxTenantPercent: r.int(s.maxTenantPercent, 'admission.maxTenantPercent', 50, 1, 100),
    maxRssMb: r.int(s.maxRssMb, 'admission.maxRssMb', 1024, 0, 1024 * 1024),
    retryAfterSeconds: r.int(
      s.retryAfterSeconds,
      'admission.retryAfterSeconds',
      DEFAULT_ADMISSION_POLICY.retryAfterMs / 1000,
      1,
      3600,
    ),
  };
}

/** Provider option names whose values are not secret; every other string is blanked. */
const PRINTABLE_PROVIDER_FIELDS = new Set([
  'bundleId',
  'appId',
  'projectId',
  'clientId',
  'keyId',
  'teamId',
  'type',
  'baseUrl',
  'tokenUrl',
  'address',
  'app',
  'subject',
  'publicKey',
]);

/** The configuration with secrets and key hashes replaced, safe to print. */
export function redactedConfig(config: GatewayConfig): unknown {
  const scrub = (v: unknown, key = ''): unknown => {
    if (Array.isArray(v)) return v.map((x) => scrub(x, key));
    if (isObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, scrub(x, k)]));
    if (typeof v === 'string' && !PRINTABLE_PROVIDER_FIELDS.has(key)) return '[redacted]';
    return v;
  };
  return {
    ...config,
    tenants: config.tenants.map((t) => ({
      id: t.id,
      apiKeys: t.apiKeyHashes.length,
      webhookSecrets: Object.keys(t.webhookSecrets),
      proxyJwt: t.proxyJwtSecret !== undefined,
      wazoFormat: t.wazoFormat,
      rateLimit: t.rateLimit,
      limits: t.limits,
    })),
    providers: scrub(config.providers),
    ...redactedEngines(config),
  };
}
