import type { Issue } from '@pushrelay/core';
import { ConfigError, type ConfigWarning } from './config-error.js';

export type Raw = Record<string, unknown>;

export function isObject(value: unknown): value is Raw {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export interface ConfigReaderOptions {
  /** What an unknown key is told. Default `is not a known setting`. */
  unknownKey?: string;
}

/**
 * Reads the fields of a raw configuration and collects every problem with its path instead of
 * stopping at the first; `finish` throws them together as one ConfigError. Absent (`undefined` or
 * `null`) fields take their default.
 */
export class ConfigReader {
  readonly issues: Issue[] = [];
  readonly warnings: ConfigWarning[] = [];
  private readonly unknownKey: string;

  constructor(options: ConfigReaderOptions = {}) {
    this.unknownKey = options.unknownKey ?? 'is not a known setting';
  }

  fail(path: string, message: string): void {
    this.issues.push({ path, message });
  }

  warn(path: string, message: string): void {
    this.warnings.push({ path, message });
  }

  /** Reports every key of `value` that is not in `known`. */
  knownKeys(value: Raw, prefix: string, known: readonly string[]): void {
    for (const key of Object.keys(value))
      if (!known.includes(key)) this.fail(prefix ? `${prefix}.${key}` : key, this.unknownKey);
  }

  /** The object at `path`, `{}` when absent, `{}` and an issue when it is something else. */
  object(value: unknown, path: string, message = 'must be an object'): Raw {
    if (value === undefined || value === null) return {};
    if (!isObject(value)) {
      this.fail(path, message);
      return {};
    }
    return value;
  }

  /** An integer within bounds; a string of digits (an environment value) counts as one. */
  int(value: unknown, path: string, fallback: number, min: number, max: number): number {
    if (value === undefined || value === null) return fallback;
    const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
      this.fail(path, `must be an integer from ${min} to ${max}`);
      return fallback;
    }
    return n;
  }

  /** A non-empty string, or undefined when absent. */
  optionalString(value: unknown, path: string, pattern?: RegExp): string | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string' || value.trim() === '') {
      this.fail(path, 'must be a non-empty string');
      return undefined;
    }
    if (pattern && !pattern.test(value)) this.fail(path, `"${value.slice(0, 64)}" is not valid`);
    return value;
  }

  /** A non-empty string; `is required` when absent and there is no fallback. */
  string(value: unknown, path: string, fallback: string | undefined, pattern?: RegExp): string {
    if (value === undefined || value === null) {
      if (fallback === undefined) this.fail(path, 'is required');
      return fallback ?? '';
    }
    return this.optionalString(value, path, pattern) ?? fallback ?? '';
  }

  bool(value: unknown, path: string, fallback: boolean): boolean {
    if (value === undefined || value === null) return fallback;
    if (typeof value !== 'boolean') {
      this.fail(path, 'must be true or false');
      return fallback;
    }
    return value;
  }

  oneOf<T extends string>(value: unknown, path: string, allowed: readonly T[], fallback: T): T {
    if (value === undefined || value === null) return fallback;
    if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
      this.fail(path, `must be one of ${allowed.join(', ')}`);
      return fallback;
    }
    return value as T;
  }

  listOf<T extends string>(value: unknown, path: string, allowed: readonly T[], fallback: T[]): T[] {
    if (value === undefined || value === null) return fallback;
    if (!Array.isArray(value) || value.length === 0) {
      this.fail(path, `must be a non-empty list of ${allowed.join(', ')}`);
      return fallback;
    }
    return value.map((v, i) => this.oneOf(v, `${path}[${i}]`, allowed, allowed[0]!));
  }

  /** Throws every issue found so far as one ConfigError. */
  finish(source?: string): void {
    if (this.issues.length > 0) throw new ConfigError(this.issues, source);
  }
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
