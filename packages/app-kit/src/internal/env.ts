import { expandEngineShortcut, mergeEngineOverride, type EngineSection, type StoreEngine } from './engines.js';
import { isObject, type Raw } from './reader.js';
import type { ConfigWarning } from './config-error.js';
import type { Env } from './secrets.js';

/** The prefix of every environment override: `PUSHRELAY_<SECTION>__<OPTION_NAME>=value`. */
export const ENV_PREFIX = 'PUSHRELAY_';

const ENGINE_SECTIONS: readonly EngineSection[] = ['store', 'queue', 'ephemeral'];

export interface EnvOverrideOptions {
  /** The top-level settings of the app: a `PUSHRELAY_` variable naming none of them is not for it. */
  settings: readonly string[];
  /** Old single names kept working, each with the path it sets (`PUSHRELAY_PORT` -> listen.port). */
  aliases?: Record<string, readonly string[]>;
  /**
   * Old prefixes still read (before `PUSHRELAY_`, so the new names win), each with a warning.
   * Variables under them apply whatever they name.
   */
  legacyPrefixes?: readonly string[];
  storeEngines?: readonly StoreEngine[];
  onWarning?: (warning: ConfigWarning) => void;
}

interface Override {
  name: string;
  path: string[];
  raw: string;
}

/**
 * Applies `PUSHRELAY_SECTION__OPTION_NAME=value` variables over a raw configuration: `__`
 * separates path segments, SNAKE_CASE becomes camelCase, and values are read as JSON when they
 * parse (numbers, booleans, lists, null), as strings otherwise. `PUSHRELAY_STORE`,
 * `PUSHRELAY_QUEUE` and `PUSHRELAY_EPHEMERAL` take `memory` or a URL (postgres:// for the store,
 * or a SQLite path where the app has one; redis:// for the others) and keep the section's other
 * options from the file.
 */
export function applyEnvOverrides(input: Raw, env: Env, options: EnvOverrideOptions): Raw {
  const out = structuredClone(input);
  const groups: Override[][] = [];
  for (const prefix of options.legacyPrefixes ?? []) {
    const found = collect(env, prefix, () => true);
    for (const o of found)
      options.onWarning?.({
        path: o.path.join('.'),
        message: `${o.name} is read for one more release: name it ${ENV_PREFIX}${o.name.slice(prefix.length)}`,
      });
    groups.push(found);
  }
  const aliases = options.aliases ?? {};
  groups.push(
    [
      ...collect(env, ENV_PREFIX, (name, path) => !(name in aliases) && options.settings.includes(path[0]!)),
      ...Object.entries(aliases)
        .filter(([name]) => env[name] !== undefined)
        .map(([name, path]) => ({ name, path: [...path], raw: env[name]! })),
    ].sort((a, b) => a.path.length - b.path.length),
  );
  for (const group of groups) for (const o of group) apply(out, o, options.storeEngines);
  return out;
}

function collect(env: Env, prefix: string, keep: (name: string, path: string[]) => boolean): Override[] {
  return (
    Object.entries(env)
      .filter((e): e is [string, string] => e[0].startsWith(prefix) && e[1] !== undefined)
      .map(([name, raw]) => ({ name, raw, path: name.slice(prefix.length).split('__').filter(Boolean).map(camel) }))
      .filter(({ name, path }) => path.length > 0 && keep(name, path))
      // Whole sections first, so `..._QUEUE=redis://...` and `..._QUEUE__PREFIX=x` combine in any order.
      .sort((a, b) => a.path.length - b.path.length)
  );
}

function apply(out: Raw, { path, raw }: Override, storeEngines?: readonly StoreEngine[]): void {
  const head = path[0]!;
  const engine = (ENGINE_SECTIONS as readonly string[]).includes(head) ? (head as EngineSection) : undefined;
  if (engine && path.length === 1) {
    out[head] = mergeEngineOverride(engine, out[head], expandEngineShortcut(engine, parseEnvValue(raw), storeEngines));
    return;
  }
  if (engine && typeof out[head] === 'string') out[head] = expandEngineShortcut(engine, out[head], storeEngines);
  let target: Raw = out;
  for (const segment of path.slice(0, -1)) {
    if (!isObject(target[segment])) target[segment] = {};
    target = target[segment] as Raw;
  }
  target[path[path.length - 1]!] = parseEnvValue(raw);
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
