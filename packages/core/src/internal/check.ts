import type { Issue } from '../errors.js';

/** Collects issues while walking untrusted JSON; every reader returns undefined on a problem. */
export class Checker {
  readonly issues: Issue[] = [];

  fail(path: string, message: string): undefined {
    this.issues.push({ path, message });
    return undefined;
  }

  object(value: unknown, path: string): Record<string, unknown> | undefined {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      return this.fail(path, 'must be an object');
    }
    return value as Record<string, unknown>;
  }

  onlyKeys(obj: Record<string, unknown>, path: string, allowed: readonly string[]): void {
    for (const key of Object.keys(obj)) {
      if (!allowed.includes(key)) this.fail(join(path, key), 'is not a known field');
    }
  }

  string(
    value: unknown,
    path: string,
    opts: { required?: boolean; max?: number; pattern?: RegExp; patternText?: string } = {},
  ): string | undefined {
    if (value === undefined || value === null) {
      return opts.required ? this.fail(path, 'is required') : undefined;
    }
    if (typeof value !== 'string') return this.fail(path, 'must be a string');
    if (value.length === 0) return this.fail(path, 'must not be empty');
    if (opts.max !== undefined && value.length > opts.max) {
      return this.fail(path, `must be at most ${opts.max} characters`);
    }
    if (opts.pattern && !opts.pattern.test(value)) {
      return this.fail(path, opts.patternText ?? `must match ${String(opts.pattern)}`);
    }
    return value;
  }

  oneOf<T extends string>(value: unknown, path: string, allowed: readonly T[], required = false): T | undefined {
    if (value === undefined || value === null) {
      return required ? this.fail(path, 'is required') : undefined;
    }
    if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
      return this.fail(path, `must be one of ${allowed.join(', ')}`);
    }
    return value as T;
  }

  boolean(value: unknown, path: string): boolean | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'boolean') return this.fail(path, 'must be a boolean');
    return value;
  }

  /** An ISO 8601 date-time with a zone; returns epoch ms. */
  dateTime(value: unknown, path: string, required = false): number | undefined {
    if (value === undefined || value === null) {
      return required ? this.fail(path, 'is required') : undefined;
    }
    if (typeof value !== 'string' || !ISO_DATE_TIME.test(value)) {
      return this.fail(path, 'must be an ISO 8601 date-time with a time zone');
    }
    const ms = Date.parse(value);
    if (Number.isNaN(ms)) return this.fail(path, 'must be an ISO 8601 date-time with a time zone');
    return ms;
  }
}

export const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

export function join(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path ? `${path}.${key}` : key;
}
