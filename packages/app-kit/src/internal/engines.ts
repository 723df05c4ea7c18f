import { isAbsolute, resolve } from 'node:path';
import { redisUrlProblem } from '@pushrelay/store-redis/url';
import { isObject, type ConfigReader, type Raw } from './reader.js';

/** Where bindings, delivery reports and (unless `ephemeral` is Redis) missed calls live. */
export type StoreConfig =
  | { engine: 'memory' }
  | { engine: 'sqlite'; path: string }
  | { engine: 'postgres'; url: string; schema: string; poolSize: number };

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

/** Where short-lived state lives (missed calls, replay keys, SIP locations): here, or in Redis. */
export type EphemeralConfig = { engine: 'memory' } | { engine: 'redis'; redis: string; prefix: string };

export type EngineSection = 'store' | 'queue' | 'ephemeral';
export type StoreEngine = StoreConfig['engine'];

/**
 * The one table of defaults and bounds of the engine sections, shared by every app:
 * `[default, min, max]` for numbers.
 */
export const ENGINE_DEFAULTS = {
  store: { schema: 'pushrelay', poolSize: [10, 1, 1000] },
  queue: {
    prefix: 'pushrelay',
    concurrency: [64, 1, 10_000],
    lockDurationMs: [30_000, 1000, 600_000],
    stalledIntervalMs: [30_000, 1000, 600_000],
    scheduleTimeoutMs: [5000, 100, 60_000],
    closeGraceMs: [5000, 100, 120_000],
  },
  ephemeral: { prefix: 'pushrelay' },
} as const;

const KNOWN_KEYS: Record<EngineSection, readonly string[]> = {
  store: ['path', 'url', 'schema', 'poolSize'],
  queue: ['redis', 'prefix', ...(Object.keys(ENGINE_DEFAULTS.queue).filter((k) => k !== 'prefix') as string[])],
  ephemeral: ['redis', 'prefix'],
};

export const POSTGRES_URL = /^postgres(ql)?:\/\/[^\s]+$/;
const REDIS_URL = /^rediss?:\/\/[^\s]+$/;
const SCHEMA = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
const PREFIX = /^[A-Za-z0-9._:{}-]{1,100}$/;

export interface EngineOptions {
  /** Store engines this app offers. Default memory, sqlite and postgres. */
  storeEngines?: readonly StoreEngine[];
  /** Relative SQLite paths resolve against it. Default the working directory. */
  baseDir?: string;
  /**
   * Whether a string stands for its section in the file (`memory` or a URL). Environment values
   * always do (see `expandEngineShortcut`).
   */
  shortcuts?: boolean;
}

/**
 * `memory`, a postgres:// URL (store), a redis:// URL (queue: BullMQ, ephemeral: Redis) or, for a
 * store that offers SQLite, a file path, as the section they stand for; anything else as it is.
 */
export function expandEngineShortcut(
  section: EngineSection,
  value: unknown,
  storeEngines: readonly StoreEngine[] = ['memory', 'sqlite', 'postgres'],
): unknown {
  if (typeof value !== 'string') return value;
  if (value === 'memory') return { engine: 'memory' };
  if (section === 'store') {
    if (POSTGRES_URL.test(value)) return { engine: 'postgres', url: value };
    return storeEngines.includes('sqlite') && value.trim() !== '' ? { engine: 'sqlite', path: value } : value;
  }
  if (!REDIS_URL.test(value)) return value;
  return section === 'queue' ? { engine: 'bullmq', redis: value } : { engine: 'redis', redis: value };
}

/**
 * A section switched to another engine by a whole-section value (an environment variable) keeps
 * the file's other options of that section when they still apply.
 */
export function mergeEngineOverride(section: EngineSection, before: unknown, expanded: unknown): unknown {
  if (!isObject(before) || !isObject(expanded) || expanded['engine'] === 'memory') return expanded;
  if (section === 'store' && (before['engine'] ?? before['kind']) !== expanded['engine']) return expanded;
  const { kind: _kind, ...rest } = before;
  return { ...rest, ...expanded };
}

function quoted(names: readonly string[]): string {
  const q = names.map((n) => `"${n}"`);
  return q.length === 1 ? q[0]! : `${q.slice(0, -1).join(', ')} or ${q.at(-1)}`;
}

function shortcutMessage(section: EngineSection): string {
  return section === 'store'
    ? 'must be "memory", a postgres:// URL or an object with an engine'
    : 'must be "memory", a redis:// URL or an object with an engine';
}

/** The section's object and its engine, or undefined when absent or not an object (with an issue). */
function sectionOf(
  r: ConfigReader,
  section: EngineSection,
  raw: unknown,
  path: string,
  options: EngineOptions,
): { s: Raw; engine: unknown; enginePath: string } | undefined {
  const value = options.shortcuts ? expandEngineShortcut(section, raw, options.storeEngines) : raw;
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) {
    r.fail(
      path,
      options.shortcuts && typeof value === 'string' ? shortcutMessage(section) : 'must be an object with an engine',
    );
    return undefined;
  }
  r.knownKeys(value, path, ['engine', 'kind', ...KNOWN_KEYS[section]]);
  const engine = value['engine'] ?? value['kind'];
  const enginePath = `${path}.${value['engine'] === undefined && value['kind'] !== undefined ? 'kind' : 'engine'}`;
  return { s: value, engine, enginePath };
}

function redisUrl(r: ConfigReader, value: unknown, path: string): string {
  if (value === undefined || value === null) {
    r.fail(path, 'is required (redis://host:port/db)');
    return '';
  }
  const url = r.optionalString(value, path);
  const problem = url === undefined ? undefined : redisUrlProblem(url);
  if (problem) r.fail(path, problem);
  return url ?? '';
}

function prefixOf(r: ConfigReader, value: unknown, path: string, fallback: string): string {
  const prefix = r.optionalString(value, path) ?? fallback;
  if (!PREFIX.test(prefix)) r.fail(path, 'may only hold letters, digits and . _ : { } - (1-100)');
  return prefix;
}

/** `store`: memory (the default), a SQLite file or PostgreSQL. */
export function readStore(r: ConfigReader, raw: unknown, options: EngineOptions = {}, path = 'store'): StoreConfig {
  const engines = options.storeEngines ?? ['memory', 'sqlite', 'postgres'];
  const found = sectionOf(r, 'store', raw, path, options);
  if (!found) return { engine: 'memory' };
  const { s, engine, enginePath } = found;
  const d = ENGINE_DEFAULTS.store;
  if (engine === 'memory' && engines.includes('memory')) return { engine: 'memory' };
  if (engine === 'sqlite' && engines.includes('sqlite')) {
    const p = r.optionalString(s['path'], `${path}.path`);
    if (s['path'] === undefined) r.fail(`${path}.path`, 'is required for a sqlite store');
    const baseDir = options.baseDir ?? process.cwd();
    return p ? { engine: 'sqlite', path: isAbsolute(p) ? p : resolve(baseDir, p) } : { engine: 'memory' };
  }
  if (engine === 'postgres' && engines.includes('postgres')) {
    let url: string | undefined;
    if (s['url'] === undefined || s['url'] === null)
      r.fail(`${path}.url`, 'is required for a postgres store (postgres://user@host:5432/db)');
    else {
      url = r.optionalString(s['url'], `${path}.url`);
      if (url !== undefined && !POSTGRES_URL.test(url))
        r.fail(`${path}.url`, 'must be a postgres:// or postgresql:// URL');
    }
    const schema = r.optionalString(s['schema'], `${path}.schema`) ?? d.schema;
    if (!SCHEMA.test(schema))
      r.fail(`${path}.schema`, 'must be a plain SQL identifier (letters, digits, _; not starting with a digit)');
    const poolSize = r.int(s['poolSize'], `${path}.poolSize`, ...d.poolSize);
    return { engine: 'postgres', url: url ?? '', schema, poolSize };
  }
  r.fail(enginePath, `must be ${quoted(engines)}`);
  return { engine: 'memory' };
}

/** `queue`: in this process (the default) or BullMQ on Redis. */
export function readQueue(r: ConfigReader, raw: unknown, options: EngineOptions = {}, path = 'queue'): QueueConfig {
  const found = sectionOf(r, 'queue', raw, path, options);
  if (!found) return { engine: 'memory' };
  const { s, engine, enginePath } = found;
  const d = ENGINE_DEFAULTS.queue;
  if (engine === 'memory') return { engine: 'memory' };
  if (engine === 'bullmq')
    return {
      engine: 'bullmq',
      redis: redisUrl(r, s['redis'], `${path}.redis`),
      prefix: prefixOf(r, s['prefix'], `${path}.prefix`, d.prefix),
      concurrency: r.int(s['concurrency'], `${path}.concurrency`, ...d.concurrency),
      lockDurationMs: r.int(s['lockDurationMs'], `${path}.lockDurationMs`, ...d.lockDurationMs),
      stalledIntervalMs: r.int(s['stalledIntervalMs'], `${path}.stalledIntervalMs`, ...d.stalledIntervalMs),
      scheduleTimeoutMs: r.int(s['scheduleTimeoutMs'], `${path}.scheduleTimeoutMs`, ...d.scheduleTimeoutMs),
      closeGraceMs: r.int(s['closeGraceMs'], `${path}.closeGraceMs`, ...d.closeGraceMs),
    };
  r.fail(enginePath, `must be ${quoted(['memory', 'bullmq'])}`);
  return { engine: 'memory' };
}

/** `ephemeral`: in this process (the default) or Redis. */
export function readEphemeral(
  r: ConfigReader,
  raw: unknown,
  options: EngineOptions = {},
  path = 'ephemeral',
): EphemeralConfig {
  const found = sectionOf(r, 'ephemeral', raw, path, options);
  if (!found) return { engine: 'memory' };
  const { s, engine, enginePath } = found;
  if (engine === 'memory') return { engine: 'memory' };
  if (engine === 'redis')
    return {
      engine: 'redis',
      redis: redisUrl(r, s['redis'], `${path}.redis`),
      prefix: prefixOf(r, s['prefix'], `${path}.prefix`, ENGINE_DEFAULTS.ephemeral.prefix),
    };
  r.fail(enginePath, `must be ${quoted(['memory', 'redis'])}`);
  return { engine: 'memory' };
}
