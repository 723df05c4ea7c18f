import type { Dispatcher } from 'undici';
import { TokenRequestError, isRecord, networkReason, parseRetryAfter, safeJson } from './http.js';
import type { AccessToken } from './token-cache.js';

export interface TokenEndpointRequest {
  dispatcher: Dispatcher;
  url: URL;
  /** The form fields of the grant (grant_type and its parameters). */
  form: Record<string, string>;
  now: () => number;
  /** When the grant was made (e.g. a signed assertion's iat); `expires_in` counts from it. Default `now()`. */
  startedAt?: number;
  timeoutMs: number;
  /** The provider's error fields of a refused answer, as one line. */
  describeError: (json: Record<string, unknown>) => string;
}

/**
 * Posts an OAuth grant to a token endpoint and reads the access token it answers. Unreachable
 * endpoints, 429 and 5xx are `retry` failures (with Retry-After when sent); any other refusal
 * is `auth`, since resending the same grant cannot succeed.
 */
export async function requestAccessToken(request: TokenEndpointRequest): Promise<AccessToken> {
  const startedAt = request.startedAt ?? request.now();
  let statusCode: number;
  let text: string;
  let retryAfter: string | string[] | undefined;
  try {
    const res = await request.dispatcher.request({
      origin: request.url.origin,
      path: request.url.pathname + request.url.search,
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(request.form).toString(),
      headersTimeout: request.timeoutMs,
      bodyTimeout: request.timeoutMs,
    });
    statusCode = res.statusCode;
    retryAfter = res.headers['retry-after'];
    text = await res.body.text();
  } catch (error) {
    throw new TokenRequestError('retry', `token endpoint unreachable: ${networkReason(error)}`);
  }
  const json = safeJson(text);
  if (statusCode === 200 && isRecord(json) && typeof json['access_token'] === 'string') {
    const expiresIn = Number(json['expires_in'] ?? 3600);
    return { accessToken: json['access_token'], expiresAt: startedAt + expiresIn * 1000 };
  }
  const detail = isRecord(json) ? request.describeError(json) : text.slice(0, 200);
  const reason = `token endpoint answered ${statusCode}: ${detail}`;
  if (statusCode === 429 || statusCode >= 500 || statusCode === 200) {
    throw new TokenRequestError('retry', reason, parseRetryAfter(retryAfter, request.now()));
  }
  throw new TokenRequestError('auth', reason);
}
