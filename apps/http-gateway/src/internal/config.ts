import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { PushRelayError, formatIssues, type Issue } from '@pushrelay/core';
import { redisUrlProblem } from '@pushrelay/store-redis';
import { parse as parseYaml } from 'yaml';

/** Every problem of a configuration, each with its path, found in one pass. */
export class ConfigError extends PushRelayError {
  readonly issues: Issue[];
  constructor(issues: Issue[], source = 'configuration') {
    super('config_invalid', `invalid ${source}: ${formatIssues(issues)}`);
    this.issues = issues;
  }
}

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
}

export type StoreConfig =
  | { kind: 'memory' }
  | { kind: 'sqlite'; path: string }
  | { kind: 'postgres'; url: string; schema: string; poolSize: number };

/** Where delivery jobs wait: in this process, or in Redis shared by every process (BullMQ). */
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

/** Where short-lived state lives (missed calls, webhook replay keys). */
export type EphemeralConfig = { engine: 'memory' } | { engine: 'redis'; redis: string; prefix: string };

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

export const KNOWN_CODECS = ['wazo', 'kaleyra', 'signalwire', 'mizutech', 'ecss'] as const;

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

type Env = Record<string, string | undefined>;

/** Reads a JSON or YAML file, applies `PUSHRELAY_*` env overrides and validates the result. */
export function loadConfigFile(path: string, env: Env = process.env): GatewayConfig {
  let raw: unknown;
  try {
    const text = readFileSync(path, 'utf8');
    raw = /\.ya?ml$/i.test(path) ? parseYaml(text) : JSON.parse(text);
  } catch (error) {
    throw new ConfigError([{ path: '', message: `cannot read ${path}: ${(error as Error).message}` }], path);
  }
  return parseConfig(raw, { env, baseDir: dirname(resolve(path)), source: path });
}

export interface ParseConfigOptions {
  env?: Env;
  /** Relative file paths (store, credentials) resolve against it. Default the working directory. */
  baseDir?: string;
  source?: string;
}

/**
 * Validates raw configuration. Env overrides: PUSHRELAY_HOST, PUSHRELAY_PORT, PUSHRELAY_STORE
 * (`memory`, a postgres:// URL or a sqlite path), PUSHRELAY_QUEUE and PUSHRELAY_EPHEMERAL
 * (`memory` or a redis:// URL), PUSHRELAY_RING_TIMEOUT_MS, PUSHRELAY_LOG_LEVEL, PUSHRELAY_CODECS
 * (comma list), PUSHRELAY_PUBLIC_URL, PUSHRELAY_RETENTION_DAYS.
 */
export function parseConfig(raw: unknown, options: ParseConfigOptions = {}): GatewayConfig {
  const env = options.env ?? process.env;
  const baseDir = options.baseDir ?? process.cwd();
  const issues: Issue[] = [];
  const fail = (path: string, message: string) => issues.push({ path, message });
  const obj = isObject(raw) ? raw : (fail('', 'must be an object'), {});
  const known = [
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
    'codecs',
    'tenants',
    'providers',
    'logLevel',
  ];
  for (const k of Object.keys(obj)) if (!known.includes(k)) fail(k, 'is not a known setting');

  const int = (value: unknown, path: string, def: number, min: number, max: number): number => {
    if (value === undefined) return def;
    const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
      fail(path, `must be an integer from ${min} to ${max}`);
      return def;
    }
    return n;
  };
  const str = (value: unknown, path: string): string | undefined => {
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || value === '') {
      fail(path, 'must be a non-empty string');
      return undefined;
    }
    return value;
  };

  const listenRaw = isObject(obj.listen)
    ? obj.listen
    : obj.listen === undefined
      ? {}
      : (fail('listen', 'must be an object'), {});
  const listen = {
    host:
      str(env.PUSHRELAY_HOST ?? listenRaw.host, env.PUSHRELAY_HOST ? 'env.PUSHRELAY_HOST' : 'listen.host') ??
      '127.0.0.1',
    port: int(
      env.PUSHRELAY_PORT ?? listenRaw.port,
      env.PUSHRELAY_PORT ? 'env.PUSHRELAY_PORT' : 'listen.port',
      8080,
      0,
      65535,
    ),
  };

  const store = parseStore(env, obj.store, baseDir, { int, str, fail });
  const queue = parseQueue(env, obj.queue, { int, str, fail });
  const ephemeral = parseEphemeral(env, obj.ephemeral, { str, fail });
  const retention = parseRetention(env, obj.retention, { int, str, fail });

  let codecs: string[] = [...KNOWN_CODECS];
  const codecsRaw =
    env.PUSHRELAY_CODECS !== undefined
      ? env.PUSHRELAY_CODECS.split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : obj.codecs;
  if (codecsRaw !== undefined) {
    if (!Array.isArray(codecsRaw)) fail('codecs', 'must be a list of codec ids');
    else {
      codecs = [];
      codecsRaw.forEach((c, i) => {
        if (typeof c !== 'string' || !(KNOWN_CODECS as readonly string[]).includes(c)) {
          fail(`codecs[${i}]`, `must be one of ${KNOWN_CODECS.join(', ')}`);
        } else codecs.push(c);
      });
    }
  }

  const tenants: TenantConfig[] = [];
  if (!Array.isArray(obj.tenants) || obj.tenants.length === 0) {
    fail('tenants', 'must be a non-empty list');
  } else {
    const seenIds = new Set<string>();
    const seenKeys = new Set<string>();
    obj.tenants.forEach((t, i) => {
      const path = `tenants[${i}]`;
      if (!isObject(t)) return void fail(path, 'must be an object');
      for (const k of Object.keys(t)) {
        if (!['id', 'apiKeySha256', 'webhookSecrets', 'proxyJwtSecret', 'wazoFormat'].includes(k))
          fail(`${path}.${k}`, 'is not a known setting');
      }
      const id = str(t.id, `${path}.id`);
      if (t.id === undefined) fail(`${path}.id`, 'is required');
      if (id && !/^[A-Za-z0-9._-]{1,100}$/.test(id))
        fail(`${path}.id`, 'may only hold letters, digits and . _ - (1-100)');
      if (id && seenIds.has(id)) fail(`${path}.id`, `duplicates tenant "${id}"`);
      if (id) seenIds.add(id);
      const hashes: string[] = [];
      if (!Array.isArray(t.apiKeySha256) || t.apiKeySha256.length === 0) {
        fail(`${path}.apiKeySha256`, 'must be a non-empty list of SHA-256 hex digests of the API keys');
      } else {
        t.apiKeySha256.forEach((h, j) => {
          if (typeof h !== 'string' || !/^[0-9a-f]{64}$/i.test(h))
            fail(`${path}.apiKeySha256[${j}]`, 'must be 64 hex digits (sha256 of the key)');
          else if (seenKeys.has(h.toLowerCase())) fail(`${path}.apiKeySha256[${j}]`, 'is already used by another key');
          else {
            seenKeys.add(h.toLowerCase());
            hashes.push(h.toLowerCase());
          }
        });
      }
      const webhookSecrets: Record<string, string> = {};
      if (t.webhookSecrets !== undefined) {
        if (!isObject(t.webhookSecrets))
          fail(`${path}.webhookSecrets`, 'must be an object of vendor -> secret reference');
        else {
          for (const [vendor, ref] of Object.entries(t.webhookSecrets)) {
            const secret = readSecret(ref, `${path}.webhookSecrets.${vendor}`, env, baseDir, fail);
            if (secret !== undefined) webhookSecrets[vendor] = secret;
          }
        }
      }
      const proxyJwtSecret =
        t.proxyJwtSecret === undefined
          ? undefined
          : readSecret(t.proxyJwtSecret, `${path}.proxyJwtSecret`, env, baseDir, fail);
      const wazoFormat = str(t.wazoFormat, `${path}.wazoFormat`) ?? 'wazo';
      if (id)
        tenants.push({
          id,
          apiKeyHashes: hashes,
          webhookSecrets,
          ...(proxyJwtSecret !== undefined ? { proxyJwtSecret } : {}),
          wazoFormat,
        });
    });
  }

  const providers: GatewayConfig['providers'] = {};
  if (obj.providers !== undefined) {
    if (!isObject(obj.providers)) fail('providers', 'must be an object');
    else {
      for (const [name, value] of Object.entries(obj.providers)) {
        if (name !== 'apns' && name !== 'fcm' && name !== 'hms' && name !== 'webpush') {
          fail(`providers.${name}`, 'must be apns, fcm, hms or webpush');
          continue;
        }
        if (!isObject(value)) {
          fail(`providers.${name}`, 'must be an object of transport options');
          continue;
        }
        providers[name] = resolveSecretRefs(value, `providers.${name}`, env, baseDir, fail) as Record<string, unknown>;
      }
    }
  }

  const publicUrl = str(env.PUSHRELAY_PUBLIC_URL ?? obj.publicUrl, 'publicUrl');
  const logLevel = str(env.PUSHRELAY_LOG_LEVEL ?? obj.logLevel, 'logLevel') ?? 'info';
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel))
    fail('logLevel', 'must be a pino level');

  const config: GatewayConfig = {
    listen,
    ringTimeoutMs: int(env.PUSHRELAY_RING_TIMEOUT_MS ?? obj.ringTimeoutMs, 'ringTimeoutMs', 30_000, 1000, 600_000),
    bodyLimitBytes: int(obj.bodyLimitBytes, 'bodyLimitBytes', 64 * 1024, 1024, 1024 * 1024),
    shutdownTimeoutMs: int(obj.shutdownTimeoutMs, 'shutdownTimeoutMs', 10_000, 100, 120_000),
    waitTimeoutMs: int(obj.waitTimeoutMs, 'waitTimeoutMs', 30_000, 100, 120_000),
    webhookWindowMs: int(obj.webhookWindowMs, 'webhookWindowMs', 5 * 60_000, 1000, 3600_000),
    store,
    queue,
    ephemeral,
    retention,
    codecs,
    tenants,
    providers,
    logLevel,
  };
  if (publicUrl !== undefined) config.publicUrl = publicUrl;
  if (issues.length > 0) throw new ConfigError(issues, options.source);
  return config;
}

interface FieldReaders {
  int: (value: unknown, path: string, def: number, min: number, max: number) => number;
  str: (value: unknown, path: string) => string | undefined;
  fail: (path: string, message: string) => void;
}

const POSTGRES_URL = /^postgres(ql)?:\/\/[^\s]+$/;
const SCHEMA = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
const PREFIX = /^[A-Za-z0-9._:{}-]{1,100}$/;

/** The block's object, or undefined (with an issue) when it is not one; `engine` falls back to `kind`. */
function section(
  raw: unknown,
  path: string,
  fail: FieldReaders['fail'],
  known: string[],
): Record<string, unknown> | undefined {
  if (!isObject(raw)) {
    fail(path, 'must be an object with an engine');
    return undefined;
  }
  for (const k of Object.keys(raw))
    if (!['engine', 'kind', ...known].includes(k)) fail(`${path}.${k}`, 'is not a known setting');
  return raw;
}

function redisUrl(value: unknown, path: string, r: Pick<FieldReaders, 'str' | 'fail'>): string | undefined {
  if (value === undefined) {
    r.fail(path, 'is required (redis://host:port/db)');
    return undefined;
  }
  const url = r.str(value, path);
  const problem = url === undefined ? undefined : redisUrlProblem(url);
  if (problem) r.fail(path, problem);
  return url;
}

function prefixOf(value: unknown, path: string, r: Pick<FieldReaders, 'str' | 'fail'>): string {
  const prefix = r.str(value, path) ?? 'pushrelay';
  if (!PREFIX.test(prefix)) r.fail(path, 'may only hold letters, digits and . _ : { } - (1-100)');
  return prefix;
}

/** `store`, or PUSHRELAY_STORE: `memory`, a postgres:// URL or a SQLite path. */
function parseStore(env: Env, raw: unknown, baseDir: string, r: FieldReaders): StoreConfig {
  let value = raw;
  let path = 'store';
  const fromEnv = env.PUSHRELAY_STORE;
  if (fromEnv !== undefined) {
    path = 'env.PUSHRELAY_STORE';
    value =
      fromEnv === 'memory'
        ? { engine: 'memory' }
        : POSTGRES_URL.test(fromEnv)
          ? {
              ...(isObject(raw) && (raw.engine ?? raw.kind) === 'postgres' ? raw : {}),
              engine: 'postgres',
              url: fromEnv,
            }
          : { engine: 'sqlite', path: fromEnv };
  }
  if (value === undefined) return { kind: 'memory' };
  const s = section(value, path, r.fail, ['path', 'url', 'schema', 'poolSize']);
  if (!s) return { kind: 'memory' };
  const engine = s.engine ?? s.kind;
  if (engine === 'memory') return { kind: 'memory' };
  if (engine === 'sqlite') {
    const p = r.str(s.path, `${path}.path`);
    if (s.path === undefined) r.fail(`${path}.path`, 'is required for a sqlite store');
    return p ? { kind: 'sqlite', path: isAbsolute(p) ? p : resolve(baseDir, p) } : { kind: 'memory' };
  }
  if (engine === 'postgres') {
    const url = r.str(s.url, `${path}.url`);
    if (s.url === undefined) r.fail(`${path}.url`, 'is required for a postgres store (postgres://user@host:5432/db)');
    else if (url !== undefined && !POSTGRES_URL.test(url))
      r.fail(`${path}.url`, 'must be a postgres:// or postgresql:// URL');
    const schema = r.str(s.schema, `${path}.schema`) ?? 'pushrelay';
    if (!SCHEMA.test(schema))
      r.fail(`${path}.schema`, 'must be a plain SQL identifier (letters, digits, _; not starting with a digit)');
    const poolSize = r.int(s.poolSize, `${path}.poolSize`, 10, 1, 1000);
    return { kind: 'postgres', url: url ?? '', schema, poolSize };
  }
  r.fail(
    `${path}.${s.engine === undefined && s.kind !== undefined ? 'kind' : 'engine'}`,
    'must be "memory", "sqlite" or "postgres"',
  );
  return { kind: 'memory' };
}

/** `queue`, or PUSHRELAY_QUEUE: `memory` or a redis:// URL (BullMQ). */
function parseQueue(env: Env, raw: unknown, r: FieldReaders): QueueConfig {
  let value = raw;
  let path = 'queue';
  const fromEnv = env.PUSHRELAY_QUEUE;
  if (fromEnv !== undefined) {
    path = 'env.PUSHRELAY_QUEUE';
    value =
      fromEnv === 'memory' ? { engine: 'memory' } : { ...(isObject(raw) ? raw : {}), engine: 'bullmq', redis: fromEnv };
  }
  if (value === undefined) return { engine: 'memory' };
  const s = section(value, path, r.fail, [
    'redis',
    'prefix',
    'concurrency',
    'lockDurationMs',
    'stalledIntervalMs',
    'scheduleTimeoutMs',
    'closeGraceMs',
  ]);
  if (!s) return { engine: 'memory' };
  if (s.engine === 'memory') return { engine: 'memory' };
  if (s.engine === 'bullmq') {
    return {
      engine: 'bullmq',
      redis: redisUrl(s.redis, `${path}.redis`, r) ?? '',
      prefix: prefixOf(s.prefix, `${path}.prefix`, r),
      concurrency: r.int(s.concurrency, `${path}.concurrency`, 64, 1, 10_000),
      lockDurationMs: r.int(s.lockDurationMs, `${path}.lockDurationMs`, 30_000, 1000, 600_000),
      stalledIntervalMs: r.int(s.stalledIntervalMs, `${path}.stalledIntervalMs`, 30_000, 1000, 600_000),
      scheduleTimeoutMs: r.int(s.scheduleTimeoutMs, `${path}.scheduleTimeoutMs`, 5000, 100, 60_000),
      closeGraceMs: r.int(s.closeGraceMs, `${path}.closeGraceMs`, 5000, 100, 120_000),
    };
  }
  r.fail(`${path}.engine`, 'must be "memory" or "bullmq"');
  return { engine: 'memory' };
}

/** `ephemeral`, or PUSHRELAY_EPHEMERAL: `memory` or a redis:// URL. */
function parseEphemeral(env: Env, raw: unknown, r: Pick<FieldReaders, 'str' | 'fail'>): EphemeralConfig {
  let value = raw;
  let path = 'ephemeral';
  const fromEnv = env.PUSHRELAY_EPHEMERAL;
  if (fromEnv !== undefined) {
    path = 'env.PUSHRELAY_EPHEMERAL';
    value =
      fromEnv === 'memory' ? { engine: 'memory' } : { ...(isObject(raw) ? raw : {}), engine: 'redis', redis: fromEnv };
  }
  if (value === undefined) return { engine: 'memory' };
  const s = section(value, path, r.fail, ['redis', 'prefix']);
  if (!s) return { engine: 'memory' };
  if (s.engine === 'memory') return { engine: 'memory' };
  if (s.engine === 'redis')
    return {
      engine: 'redis',
      redis: redisUrl(s.redis, `${path}.redis`, r) ?? '',
      prefix: prefixOf(s.prefix, `${path}.prefix`, r),
    };
  r.fail(`${path}.engine`, 'must be "memory" or "redis"');
  return { engine: 'memory' };
}

/** `retention`, or PUSHRELAY_RETENTION_DAYS for `retention.reportsDays`. */
function parseRetention(env: Env, raw: unknown, r: FieldReaders): RetentionConfig {
  let s: Record<string, unknown> = {};
  if (raw !== undefined) {
    if (!isObject(raw)) r.fail('retention', 'must be an object');
    else s = raw;
  }
  for (const k of Object.keys(s))
    if (!['reportsDays', 'sweepIntervalMs', 'batchSize'].includes(k))
      r.fail(`retention.${k}`, 'is not a known setting');
  const days = env.PUSHRELAY_RETENTION_DAYS;
  return {
    reportsDays: r.int(
      days ?? s.reportsDays,
      days !== undefined ? 'env.PUSHRELAY_RETENTION_DAYS' : 'retention.reportsDays',
      7,
      1,
      3650,
    ),
    sweepIntervalMs: r.int(s.sweepIntervalMs, 'retention.sweepIntervalMs', 60_000, 1000, 24 * 3600_000),
    batchSize: r.int(s.batchSize, 'retention.batchSize', 500, 1, 100_000),
  };
}

/**
 * A secret is never written in the configuration itself: `{file: path}` or `{env: NAME}`
 * (a plain string is accepted only as `env:NAME` or `file:path`).
 */
function readSecret(
  ref: unknown,
  path: string,
  env: Env,
  baseDir: string,
  fail: (p: string, m: string) => void,
): string | undefined {
  let kind: 'file' | 'env' | undefined;
  let target: unknown;
  if (typeof ref === 'string' && /^(env|file):/.test(ref)) {
    kind = ref.startsWith('env:') ? 'env' : 'file';
    target = ref.slice(ref.indexOf(':') + 1);
  } else if (isObject(ref) && typeof ref.env === 'string') {
    kind = 'env';
    target = ref.env;
  } else if (isObject(ref) && typeof ref.file === 'string') {
    kind = 'file';
    target = ref.file;
  }
  if (!kind || typeof target !== 'string' || target === '') {
    fail(path, 'must be {env: NAME}, {file: path}, "env:NAME" or "file:path" (secrets are never inline)');
    return undefined;
  }
  if (kind === 'env') {
    const v = env[target];
    if (v === undefined || v === '') fail(path, `environment variable ${target} is not set`);
    return v || undefined;
  }
  try {
    return readFileSync(isAbsolute(target) ? target : resolve(baseDir, target), 'utf8');
  } catch (error) {
    fail(path, `cannot read file ${target}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    return undefined;
  }
}

/** Replaces every `xxxFile` / `xxxEnv` field by `xxx` with the content, recursively. */
function resolveSecretRefs(
  value: unknown,
  path: string,
  env: Env,
  baseDir: string,
  fail: (p: string, m: string) => void,
): unknown {
  if (Array.isArray(value)) return value.map((v, i) => resolveSecretRefs(v, `${path}[${i}]`, env, baseDir, fail));
  if (!isObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const m = /^(.+)(File|Env)$/.exec(k);
    if (m && typeof v === 'string') {
      const secret = readSecret(m[2] === 'File' ? { file: v } : { env: v }, `${path}.${k}`, env, baseDir, fail);
      if (secret !== undefined) out[m[1]!] = secret;
    } else out[k] = resolveSecretRefs(v, `${path}.${k}`, env, baseDir, fail);
  }
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
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
    })),
    providers: scrub(config.providers),
    store:
      config.store.kind === 'postgres' ? { ...config.store, url: withoutPassword(config.store.url) } : config.store,
    queue:
      config.queue.engine === 'bullmq' ? { ...config.queue, redis: withoutPassword(config.queue.redis) } : config.queue,
    ephemeral:
      config.ephemeral.engine === 'redis'
        ? { ...config.ephemeral, redis: withoutPassword(config.ephemeral.redis) }
        : config.ephemeral,
  };
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
