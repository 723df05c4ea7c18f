import { CodecError } from '@pushrelay/core';

export const CODEC_ID = 'kaleyra';

export function fail(path: string, message: string): never {
  throw new CodecError(CODEC_ID, message, { path });
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function readObject(value: unknown, path: string): Record<string, unknown> {
  if (!isRecord(value)) fail(path, 'must be an object');
  return value;
}

export function readString(value: unknown, path: string): string {
  if (typeof value !== 'string') fail(path, value === undefined ? 'is required' : 'must be a string');
  if (value.length === 0) fail(path, 'must not be empty');
  return value;
}

export function readOptionalString(value: unknown, path: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  return readString(value, path);
}

export function readArray(value: unknown, path: string): unknown[] {
  if (!Array.isArray(value)) fail(path, value === undefined ? 'is required' : 'must be an array');
  return value;
}

const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * Webhook dates are ISO 8601 with a zone; anything else (or a date without a zone, which would
 * be read in the server's local time) is ignored in favour of the receive time.
 */
export function isoOrUndefined(value: unknown): string | undefined {
  if (typeof value !== 'string' || !ISO_WITH_ZONE.test(value)) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}
