import type { Dispatcher } from 'undici';
import { signAssertion } from './jwt.js';
import type { ServiceAccount } from './service-account.js';
import type { AccessToken, AccessTokenProvider } from './token-cache.js';
import { TokenRequestError, isRecord, networkReason, parseRetryAfter, safeJson } from './http.js';

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

export interface ServiceAccountTokenOptions {
  dispatcher: Dispatcher;
  /** Where to post the assertion; defaults to the key file's `token_uri`. */
  tokenUrl?: string;
  now: () => number;
  timeoutMs: number;
}

/** Mints access tokens by posting a signed RS256 assertion to the token endpoint. */
export class ServiceAccountTokenProvider implements AccessTokenProvider {
  private readonly url: URL;

  constructor(
    private readonly sa: ServiceAccount,
    private readonly options: ServiceAccountTokenOptions,
  ) {
    this.url = new URL(options.tokenUrl ?? sa.tokenUri);
  }

  async getAccessToken(): Promise<AccessToken> {
    const startedAt = this.options.now();
    const assertion = signAssertion(this.sa, this.sa.tokenUri, startedAt);
    const body = new URLSearchParams({ grant_type: JWT_BEARER, assertion }).toString();
    let statusCode: number;
    let text: string;
    let retryAfter: string | string[] | undefined;
    try {
      const res = await this.options.dispatcher.request({
        origin: this.url.origin,
        path: this.url.pathname + this.url.search,
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body,
        headersTimeout: this.options.timeoutMs,
        bodyTimeout: this.options.timeoutMs,
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
    const detail = isRecord(json)
      ? `${String(json['error'] ?? '')} ${String(json['error_description'] ?? '')}`.trim()
      : text.slice(0, 200);
    const reason = `token endpoint answered ${statusCode}: ${detail}`;
    if (statusCode === 429 || statusCode >= 500 || statusCode === 200) {
      throw new TokenRequestError('retry', reason, parseRetryAfter(retryAfter, this.options.now()));
    }
    throw new TokenRequestError('auth', reason);
  }
}

/** The part of a firebase-admin `Credential` (e.g. `applicationDefault()`) this package uses. */
export interface GoogleOAuthCredential {
  getAccessToken(): Promise<{ access_token: string; expires_in: number }>;
}

/**
 * Access tokens from a firebase-admin credential, for deployments that rely on Google
 * application default credentials (metadata server, workload identity, gcloud login).
 */
export function firebaseAdminTokenProvider(
  credential: GoogleOAuthCredential,
  options: { now?: () => number } = {},
): AccessTokenProvider {
  const now = options.now ?? Date.now;
  return {
    async getAccessToken() {
      const startedAt = now();
      let token: { access_token: string; expires_in: number };
      try {
        token = await credential.getAccessToken();
      } catch (error) {
        const message = (error as Error).message ?? String(error);
        // firebase-admin reports refused credentials and unreachable metadata servers alike;
        // an HTTP 4xx from Google's token endpoint means the credential itself is wrong.
        const auth = /\b(400|401|403)\b|invalid_grant|unauthorized/i.test(message);
        throw new TokenRequestError(auth ? 'auth' : 'retry', `credential failed: ${message}`);
      }
      if (!token || typeof token.access_token !== 'string' || token.access_token === '') {
        throw new TokenRequestError('auth', 'credential returned no access_token');
      }
      const expiresIn = Number.isFinite(token.expires_in) ? token.expires_in : 3600;
      return { accessToken: token.access_token, expiresAt: startedAt + expiresIn * 1000 };
    },
  };
}
