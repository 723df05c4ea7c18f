import type { RandomSource } from './ports.js';

export interface RetryPolicy {
  /** Delay before the first retry, before jitter. Default 250 ms. */
  baseDelayMs: number;
  /** Cap of the exponential delay. Default 10 s. */
  maxDelayMs: number;
  /** Sends per device in all, the first included. Default 6. */
  maxAttempts: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  baseDelayMs: 250,
  maxDelayMs: 10_000,
  maxAttempts: 6,
};

/**
 * Delay before the retry that follows attempt `attempt` (1-based): "equal jitter" exponential
 * backoff, never shorter than what the provider asked for with Retry-After.
 */
export function retryDelay(policy: RetryPolicy, attempt: number, random: RandomSource, retryAfterMs?: number): number {
  const exp = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  const jittered = Math.round(exp / 2 + random() * (exp / 2));
  return Math.max(jittered, retryAfterMs ?? 0);
}

/**
 * When the next attempt may run, or null when there is none: attempts used up, or it would not
 * start before the deadline.
 */
export function nextAttemptAt(
  policy: RetryPolicy,
  attempt: number,
  now: number,
  deadline: number,
  random: RandomSource,
  retryAfterMs?: number,
): number | null {
  if (attempt >= policy.maxAttempts) return null;
  const at = now + retryDelay(policy, attempt, random, retryAfterMs);
  return at < deadline ? at : null;
}
