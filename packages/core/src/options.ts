import { ValidationError, type Issue } from './errors.js';

function join(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path ? `${path}.${key}` : key;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value);
}

/**
 * Reads an adapter's options from untrusted input (a configuration section) and collects every
 * problem with its path, so one ValidationError lists them all. Each `read*` returns undefined
 * when the value is absent or wrong; `finish` throws when anything was wrong.
 */
export class OptionsReader {
  readonly issues: Issue[] = [];

  constructor(private readonly what: string) {}

  fail(path: string, message: string): undefined {
    this.issues.push({ path, message });
    return undefined;
  }

  /** The value as an object, or a problem at `path` (a missing value only when `required`). */
  object(value: unknown, path: string, required = true): Record<string, unknown> | undefined {
    if (value === undefined && !required) return undefined;
    if (!isRecord(value)) return this.fail(path, 'must be an object');
    return value;
  }

  string(record: Record<string, unknown>, key: string, path: string, required = false): string | undefined {
    const value = record[key];
    if (value === undefined && !required) return undefined;
    if (typeof value !== 'string' || value === '') return this.fail(join(path, key), 'must be a non-empty string');
    return value;
  }

  boolean(record: Record<string, unknown>, key: string, path: string): boolean | undefined {
    const value = record[key];
    if (value === undefined) return undefined;
    if (typeof value !== 'boolean') return this.fail(join(path, key), 'must be true or false');
    return value;
  }

  /** A whole number at least `min`, or (`positive`) any number above 0. */
  number(
    record: Record<string, unknown>,
    key: string,
    path: string,
    rule: { min: number } | 'positive',
  ): number | undefined {
    const value = record[key];
    if (value === undefined) return undefined;
    if (rule === 'positive') {
      if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value))
        return this.fail(join(path, key), 'must be a number > 0');
      return value;
    }
    if (typeof value !== 'number' || !Number.isInteger(value) || value < rule.min)
      return this.fail(join(path, key), `must be an integer >= ${rule.min}`);
    return value;
  }

  oneOf<T extends string>(
    record: Record<string, unknown>,
    key: string,
    path: string,
    values: readonly T[],
  ): T | undefined {
    const value = record[key];
    if (value === undefined) return undefined;
    const found = values.find((v) => v === value);
    if (found === undefined) return this.fail(join(path, key), `must be one of ${values.join(', ')}`);
    return found;
  }

  /** A non-empty list, each entry read by `entry` at its own path. */
  list<T>(
    record: Record<string, unknown>,
    key: string,
    path: string,
    entry: (value: unknown, path: string) => T | undefined,
  ): T[] | undefined {
    const value = record[key];
    const at = join(path, key);
    if (!Array.isArray(value) || value.length === 0) return this.fail(at, 'must be a non-empty list');
    const out: T[] = [];
    value.forEach((item, i) => {
      const read = entry(item, join(at, i));
      if (read !== undefined) out.push(read);
    });
    return out.length === value.length ? out : undefined;
  }

  /** PEM text (or bytes, when given in code), one or a list. */
  pem(record: Record<string, unknown>, key: string, path: string): string | Buffer | (string | Buffer)[] | undefined {
    const value = record[key];
    if (value === undefined) return undefined;
    const ok = (v: unknown): v is string | Buffer => (typeof v === 'string' && v !== '') || Buffer.isBuffer(v);
    if (ok(value)) return value;
    if (Array.isArray(value) && value.every(ok)) return [...value];
    return this.fail(join(path, key), 'must be PEM text or a list of them');
  }

  /** Throws ValidationError listing every problem found; returns `value` when there was none. */
  finish<T>(value: T | undefined): T {
    if (this.issues.length > 0 || value === undefined) {
      throw new ValidationError(
        this.issues.length > 0 ? this.issues : [{ path: '', message: 'is invalid' }],
        this.what,
      );
    }
    return value;
  }
}

/** A URL, or a problem at its path. */
export function readUrl(r: OptionsReader, record: Record<string, unknown>, key: string, path: string) {
  const value = r.string(record, key, path);
  if (value === undefined) return undefined;
  try {
    new URL(value);
    return value;
  } catch {
    return r.fail(join(path, key), 'must be a URL');
  }
}

/** `value` without its undefined keys: options read from a configuration give only what it sets. */
export function definedOnly<T extends object>(value: T): T {
  for (const key of Object.keys(value) as (keyof T)[]) if (value[key] === undefined) delete value[key];
  return value;
}

export { join as optionPath };
