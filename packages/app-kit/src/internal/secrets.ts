import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { isObject } from './reader.js';

export type Env = Record<string, string | undefined>;

export interface SecretContext {
  env: Env;
  /** Relative file paths resolve against it. */
  baseDir: string;
  fail(path: string, message: string): void;
}

/** Secrets read from a file whose surrounding whitespace (the final newline) is not part of the value. */
const TRIMMED = new Set(['clientSecret', 'privateKey']);

/**
 * A secret is never written in the configuration itself: `{file: path}` or `{env: NAME}`
 * (a plain string is accepted only as `env:NAME` or `file:path`).
 */
export function readSecret(ref: unknown, path: string, ctx: SecretContext): string | undefined {
  let kind: 'file' | 'env' | undefined;
  let target: unknown;
  if (typeof ref === 'string' && /^(env|file):/.test(ref)) {
    kind = ref.startsWith('env:') ? 'env' : 'file';
    target = ref.slice(ref.indexOf(':') + 1);
  } else if (isObject(ref) && typeof ref['env'] === 'string') {
    kind = 'env';
    target = ref['env'];
  } else if (isObject(ref) && typeof ref['file'] === 'string') {
    kind = 'file';
    target = ref['file'];
  }
  if (!kind || typeof target !== 'string' || target === '') {
    ctx.fail(path, 'must be {env: NAME}, {file: path}, "env:NAME" or "file:path" (secrets are never inline)');
    return undefined;
  }
  if (kind === 'env') {
    const v = ctx.env[target];
    if (v === undefined || v === '') ctx.fail(path, `environment variable ${target} is not set`);
    return v || undefined;
  }
  try {
    return readFileSync(isAbsolute(target) ? target : resolve(ctx.baseDir, target), 'utf8');
  } catch (error) {
    ctx.fail(path, `cannot read file ${target}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    return undefined;
  }
}

/**
 * Transport options with every `xxxFile` / `xxxEnv` field replaced by `xxx` holding the file's or
 * the variable's content, recursively.
 */
export function resolveSecretRefs(value: unknown, path: string, ctx: SecretContext): unknown {
  if (Array.isArray(value)) return value.map((v, i) => resolveSecretRefs(v, `${path}[${i}]`, ctx));
  if (!isObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const m = /^(.+)(File|Env)$/.exec(k);
    if (m && typeof v === 'string') {
      const secret = readSecret(m[2] === 'File' ? { file: v } : { env: v }, `${path}.${k}`, ctx);
      if (secret !== undefined) out[m[1]!] = TRIMMED.has(m[1]!) ? secret.trim() : secret;
    } else out[k] = resolveSecretRefs(v, `${path}.${k}`, ctx);
  }
  return out;
}
