/** Why a request could not get an access token; `auth` means retrying will not help. */
export class TokenRequestError extends Error {
  constructor(
    readonly kind: 'auth' | 'retry',
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'TokenRequestError';
  }
}

/** Retry-After as delta-seconds or an HTTP date, in ms from `now`. */
export function parseRetryAfter(value: string | string[] | undefined, now: number): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (raw === undefined || raw.trim() === '') return undefined;
  if (/^\d+$/.test(raw.trim())) return Number(raw.trim()) * 1000;
  const at = Date.parse(raw);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

export function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A connection-level failure (reset, GOAWAY, timeout, refused) as a short reason. */
export function networkReason(error: unknown): string {
  const e = error as { code?: string; message?: string; name?: string };
  return `${e.code ?? e.name ?? 'error'}: ${e.message ?? String(error)}`;
}

/**
 * Whether a failed request never reached the provider's processing: the connection's GOAWAY
 * named a last stream below it, or the server refused the stream. Resending it cannot make a
 * second delivery. (undici reports both before any response header arrived.)
 */
export function neverProcessed(error: unknown): boolean {
  const e = error as { message?: string; code?: string };
  return /GOAWAY|REFUSED_STREAM/i.test(`${e.code ?? ''} ${e.message ?? ''}`);
}
