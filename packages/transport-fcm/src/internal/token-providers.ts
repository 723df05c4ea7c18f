import type { Dispatcher } from 'undici';
import {
  TokenRequestError,
  requestAccessToken,
  type AccessToken,
  type AccessTokenProvider,
} from '@pushrelay/provider-http';
import { signAssertion } from './jwt.js';
import type { ServiceAccount } from './service-account.js';

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
    return requestAccessToken({
      dispatcher: this.options.dispatcher,
      url: this.url,
      form: { grant_type: JWT_BEARER, assertion },
      now: this.options.now,
      startedAt,
      timeoutMs: this.options.timeoutMs,
      describeError: (json) => `${String(json['error'] ?? '')} ${String(json['error_description'] ?? '')}`.trim(),
    });
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
