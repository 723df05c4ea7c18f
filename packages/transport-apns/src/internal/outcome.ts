import type { DeliveryOutcome } from '@pushrelay/core';

/** What came back for one request, as seen on its HTTP/2 stream. */
export interface ApnsAnswer {
  status: number;
  reason?: string;
  /** 410: when APNs saw the token stop being valid (epoch ms). */
  timestamp?: number;
  retryAfter?: string;
  apnsId?: string;
}

/** Seconds (or an HTTP date) to milliseconds; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * One APNs answer to exactly one outcome. Dead tokens are dropped; what a new attempt can fix
 * is retried; credentials problems stop that credential; anything else about the request is
 * final for this push.
 */
export function outcomeOf(answer: ApnsAnswer, now: number): DeliveryOutcome {
  const { status } = answer;
  const reason = answer.reason ?? `HTTP ${status}`;
  if (status === 200) return answer.apnsId ? { kind: 'delivered', providerId: answer.apnsId } : { kind: 'delivered' };
  if (status === 410) {
    return answer.timestamp !== undefined && Number.isFinite(answer.timestamp)
      ? { kind: 'invalid-token', reason, since: new Date(answer.timestamp).toISOString() }
      : { kind: 'invalid-token', reason };
  }
  if (status === 400 && reason === 'BadDeviceToken') return { kind: 'invalid-token', reason };
  const retryAfterMs = parseRetryAfter(answer.retryAfter, now);
  const retry = (scope?: 'device' | 'credential'): DeliveryOutcome => ({
    kind: 'retry',
    reason,
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    ...(scope ? { scope } : {}),
  });
  // node-apn has already made a new JWT: the next attempt carries it.
  if (status === 403 && reason === 'ExpiredProviderToken') return retry();
  if (status === 403) return { kind: 'auth-failed', reason };
  // TooManyRequests throttles one device; TooManyProviderTokenUpdates throttles the whole key.
  if (status === 429) return retry(reason === 'TooManyRequests' ? 'device' : 'credential');
  if (status === 408 || status >= 500) return retry();
  return { kind: 'rejected', reason };
}
