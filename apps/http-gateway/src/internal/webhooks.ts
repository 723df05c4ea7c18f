import { createHmac } from 'node:crypto';
import type { Clock } from '@pushrelay/core';
import { safeEqual } from './auth.js';

export interface WebhookRequest {
  headers: Record<string, string | string[] | undefined>;
  rawBody: Buffer;
}

export type VerifyResult = { ok: true; replayKey: string; timestampMs: number } | { ok: false; reason: string };

/** Decides whether a vendor webhook is authentic; one per vendor, swappable. */
export interface WebhookVerifier {
  verify(request: WebhookRequest, secret: string): VerifyResult;
}

/**
 * `X-Pushrelay-Timestamp: <unix seconds>` and `X-Pushrelay-Signature: v1=<hex HMAC-SHA256(secret,
 * "<timestamp>.<raw body>")>` (the Stripe/Slack scheme), since Kaleyra documents no signature.
 */
export function hmacTimestampVerifier(
  options: { signatureHeader?: string; timestampHeader?: string } = {},
): WebhookVerifier {
  const sigHeader = (options.signatureHeader ?? 'x-pushrelay-signature').toLowerCase();
  const tsHeader = (options.timestampHeader ?? 'x-pushrelay-timestamp').toLowerCase();
  return {
    verify(request, secret) {
      const sig = header(request.headers, sigHeader);
      const ts = header(request.headers, tsHeader);
      if (!sig) return { ok: false, reason: `missing ${sigHeader} header` };
      if (!ts || !/^\d{1,12}$/.test(ts))
        return { ok: false, reason: `missing or malformed ${tsHeader} header (unix seconds)` };
      const expected = signWebhook(secret, Number(ts), request.rawBody);
      const given = sig.split(',').map((s) => s.trim());
      if (!given.some((g) => safeEqual(g, expected))) return { ok: false, reason: 'signature does not match' };
      return { ok: true, replayKey: expected, timestampMs: Number(ts) * 1000 };
    },
  };
}

/** The signature header value a sender computes (exported for senders and tests). */
export function signWebhook(secret: string, timestampSeconds: number, rawBody: Buffer | string): string {
  const mac = createHmac('sha256', secret).update(`${timestampSeconds}.`).update(rawBody).digest('hex');
  return `v1=${mac}`;
}

/** Refuses stale and replayed webhooks: a freshness window and a cache of seen signatures. */
/** Keys claimed by every process at once (RedisDedupe): the first claim within the time to live wins. */
export interface SharedClaims {
  claim(key: string, ttlMs: number): Promise<boolean>;
  release(key: string): Promise<boolean>;
}

export class ReplayGuard {
  private readonly seen = new Map<string, number>();
  constructor(
    private readonly clock: Clock,
    private readonly windowMs: number,
    private readonly maxEntries = 100_000,
    /** With several processes a replay may reach another one: the seen keys live here then. */
    private readonly shared?: SharedClaims,
  ) {}

  async check(key: string, timestampMs: number): Promise<{ ok: true } | { ok: false; reason: string }> {
    const now = this.clock.now();
    if (Math.abs(now - timestampMs) > this.windowMs)
      return { ok: false, reason: 'timestamp outside the accepted window' };
    // A signature stays valid for the window on either side of its timestamp.
    if (this.shared)
      return (await this.shared.claim(`replay:${key}`, 2 * this.windowMs))
        ? { ok: true }
        : { ok: false, reason: 'replayed webhook' };
    this.sweep(now);
    if (this.seen.has(key)) return { ok: false, reason: 'replayed webhook' };
    if (this.seen.size >= this.maxEntries) this.seen.delete(this.seen.keys().next().value!);
    this.seen.set(key, now + this.windowMs);
    return { ok: true };
  }

  /**
   * Forgets a key whose request was not taken (the queue could not be reached), so the sender's
   * retry of the very same signed request is not refused as a replay.
   */
  async release(key: string): Promise<void> {
    if (this.shared) await this.shared.release(`replay:${key}`);
    else this.seen.delete(key);
  }

  private sweep(now: number): void {
    // Entries are inserted in expiry order, so the oldest sit first.
    for (const [key, expires] of this.seen) {
      if (expires > now) break;
      this.seen.delete(key);
    }
  }
}

function header(headers: WebhookRequest['headers'], name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}
