import type { Dispatcher } from 'undici';
import type { DeliveryOutcome } from '@pushrelay/core';
import { TokenRequestError, networkReason, neverProcessed, safeJson } from './http.js';
import type { TokenCache } from './token-cache.js';

/** What one POST to a provider came to: its HTTP answer, or an outcome settled without one. */
export type ProviderAnswer =
  | {
      kind: 'answer';
      status: number;
      body: unknown;
      retryAfter: string | string[] | undefined;
      /** The answer's `Location` header (Web Push names the message resource there). */
      location?: string;
    }
  | { kind: 'outcome'; outcome: DeliveryOutcome };

export interface JsonPost extends PostTiming {
  origin: string;
  path: string;
  accessToken: string;
  /** The JSON text to send. */
  body: string;
}

/** A POST of any body with the caller's own headers (Web Push: binary, VAPID authorization). */
export interface BodyPost extends PostTiming {
  origin: string;
  path: string;
  headers: Record<string, string>;
  body: string | Uint8Array;
}

export interface PostTiming {
  signal?: AbortSignal | undefined;
  /** Epoch ms after which the answer is of no use: the wait for it ends then (`retry`). */
  deadline?: number | undefined;
  /** The agent's request timeout; a deadline only shortens it. */
  timeoutMs: number;
  /** The clock `deadline` is read on. Default Date.now. */
  now?: () => number;
}

/** How many times a stream the provider never processed (GOAWAY, REFUSED_STREAM) is sent. */
const MAX_ATTEMPTS = 3;

/**
 * POSTs a JSON body with a bearer token. A stream refused before the provider processed it is
 * sent again on a fresh connection; any other network failure or an abort is a `retry` outcome.
 */
export function postJson(dispatcher: Dispatcher, post: JsonPost): Promise<ProviderAnswer> {
  const { accessToken, ...rest } = post;
  return postBody(dispatcher, {
    ...rest,
    headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json; charset=utf-8' },
  });
}

/** `postJson` for any body and headers: the same deadline, abort and GOAWAY handling. */
export async function postBody(dispatcher: Dispatcher, post: BodyPost): Promise<ProviderAnswer> {
  const { signal, deadline } = post;
  const now = post.now ?? Date.now;
  for (let attempt = 1; ; attempt++) {
    let timeout: number | undefined;
    if (deadline !== undefined) {
      const left = deadline - now();
      if (left <= 0) return { kind: 'outcome', outcome: { kind: 'retry', reason: 'deadline passed before sending' } };
      if (left < post.timeoutMs) timeout = Math.ceil(left);
    }
    // undici starts the stream timeouts once the stream exists and does not settle a request
    // aborted while its connection is still being made: the deadline gets a timer of its own,
    // and the abort keeps the request from being written once that connection is up.
    const deadlineStop = timeout === undefined ? undefined : new AbortController();
    const stop =
      deadlineStop && signal ? AbortSignal.any([signal, deadlineStop.signal]) : (deadlineStop?.signal ?? signal);
    let deadlineTimer: NodeJS.Timeout | undefined;
    try {
      const request = dispatcher.request({
        origin: post.origin,
        path: post.path,
        method: 'POST',
        headers: post.headers,
        body: post.body,
        // Lets undici multiplex POSTs on one HTTP/2 connection; it never resends on its own.
        idempotent: true,
        ...(stop ? { signal: stop } : {}),
        ...(timeout !== undefined ? { headersTimeout: timeout, bodyTimeout: timeout } : {}),
      });
      let res: Dispatcher.ResponseData;
      if (deadlineStop) {
        request.catch(() => {});
        const passed = new Promise<'deadline'>((resolve) => {
          deadlineTimer = setTimeout(() => resolve('deadline'), timeout);
        });
        const first = await Promise.race([request, passed]);
        if (first === 'deadline') {
          deadlineStop.abort(new Error('deadline'));
          return { kind: 'outcome', outcome: { kind: 'retry', reason: 'no answer before the deadline' } };
        }
        res = first;
      } else {
        res = await request;
      }
      // The status line is the provider's verdict: a GOAWAY that cuts the body off after it
      // must not turn an accepted push into a retry (that would send it twice).
      const text = await res.body.text().catch(() => '');
      const location = res.headers['location'];
      return {
        kind: 'answer',
        status: res.statusCode,
        body: safeJson(text),
        retryAfter: res.headers['retry-after'],
        ...(typeof location === 'string' ? { location } : {}),
      };
    } catch (error) {
      if (signal?.aborted)
        return { kind: 'outcome', outcome: { kind: 'retry', reason: `aborted: ${String(signal.reason ?? 'signal')}` } };
      if (deadlineStop?.signal.aborted || (timeout !== undefined && now() >= deadline!)) {
        return { kind: 'outcome', outcome: { kind: 'retry', reason: 'no answer before the deadline' } };
      }
      // A stream cut off by GOAWAY was not processed; send it again on a fresh connection.
      if (attempt < MAX_ATTEMPTS && neverProcessed(error)) continue;
      return { kind: 'outcome', outcome: { kind: 'retry', reason: networkReason(error) } };
    } finally {
      clearTimeout(deadlineTimer);
    }
  }
}

/** The delivery outcome of a send that could not get an access token. */
export function tokenFailureOutcome(error: unknown): DeliveryOutcome {
  if (error instanceof TokenRequestError) {
    if (error.kind === 'auth') return { kind: 'auth-failed', reason: error.message };
    return error.retryAfterMs === undefined
      ? { kind: 'retry', reason: error.message }
      : { kind: 'retry', reason: error.message, retryAfterMs: error.retryAfterMs };
  }
  return { kind: 'retry', reason: networkReason(error) };
}

/**
 * Sends with the cached access token. When the provider's answer says the token was rejected
 * (`isTokenRejected`), the token is renewed and the send tried exactly once more. A token that
 * cannot be had becomes an outcome, never a thrown error.
 */
export async function sendWithAccessToken(
  tokens: TokenCache,
  send: (accessToken: string) => Promise<ProviderAnswer>,
  isTokenRejected: (answer: { status: number; body: unknown }) => boolean,
): Promise<ProviderAnswer> {
  let accessToken: string;
  try {
    accessToken = await tokens.get();
  } catch (error) {
    return { kind: 'outcome', outcome: tokenFailureOutcome(error) };
  }
  const answer = await send(accessToken);
  if (answer.kind !== 'answer' || !isTokenRejected(answer)) return answer;
  // The token was revoked or expired early: mint a new one and try exactly once more.
  try {
    accessToken = await tokens.renew(accessToken);
  } catch (error) {
    return { kind: 'outcome', outcome: tokenFailureOutcome(error) };
  }
  return send(accessToken);
}

/**
 * The sends a transport has under way, so that closing it can stop new sends, wait for these
 * to settle and only then close the connections they use.
 */
export class InflightSends {
  private readonly pending = new Set<Promise<unknown>>();
  private closed: Promise<void> | undefined;

  /** True once `close` was called: new sends should settle as `retry` without being sent. */
  get closing(): boolean {
    return this.closed !== undefined;
  }

  async track<T>(send: Promise<T>): Promise<T> {
    this.pending.add(send);
    try {
      return await send;
    } finally {
      this.pending.delete(send);
    }
  }

  /** Waits for every tracked send to settle, then runs `release` once; later calls share it. */
  close(release: () => Promise<unknown>): Promise<void> {
    this.closed ??= (async () => {
      await Promise.allSettled([...this.pending]);
      await release();
    })();
    return this.closed;
  }
}
