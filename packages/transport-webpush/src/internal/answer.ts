import type { DeliveryOutcome } from '@pushrelay/core';

function detail(status: number, body: unknown): string {
  // Push services answer errors as JSON ({code, errno, error, message}: Mozilla) or as text.
  if (typeof body === 'object' && body !== null) {
    const b = body as Record<string, unknown>;
    const text = [b['message'], b['error'], b['reason']].find((v) => typeof v === 'string' && v !== '');
    if (typeof text === 'string') return `${status} ${text}`;
  }
  return `HTTP ${status}`;
}

/** Maps one push service answer to exactly one outcome (the table in the README's Errors section). */
export function outcomeOf(
  status: number,
  body: unknown,
  retryAfterMs: number | undefined,
  location?: string,
): DeliveryOutcome {
  if (status >= 200 && status < 300) {
    return location ? { kind: 'delivered', providerId: location } : { kind: 'delivered' };
  }
  const reason = detail(status, body);
  // 404: no such subscription; 410: the user unsubscribed or it expired (RFC 8030 7.3).
  if (status === 404 || status === 410) return { kind: 'invalid-token', reason };
  // 401/403: the VAPID JWT was refused, or the subscription belongs to another application server key.
  if (status === 401 || status === 403) return { kind: 'auth-failed', reason };
  if (status === 429 || status >= 500) {
    return retryAfterMs === undefined ? { kind: 'retry', reason } : { kind: 'retry', reason, retryAfterMs };
  }
  // 400 malformed, 413 payload too large, anything else: sending it again cannot help.
  return { kind: 'rejected', reason };
}
