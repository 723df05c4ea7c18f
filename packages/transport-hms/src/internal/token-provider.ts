import type { Dispatcher } from 'undici';
import type { CheckedCredential } from './credentials.js';
import { TokenRequestError, isRecord, networkReason, parseRetryAfter, safeJson } from './http.js';
import type { AccessToken, AccessTokenProvider } from './token-cache.js';

export const DEFAULT_HMS_TOKEN_URL = 'https://oauth-login.cloud.huawei.com/oauth2/v3/token';

/** Client-credentials grant against Huawei's OAuth endpoint. */
export class ClientCredentialsTokenProvider implements AccessTokenProvider {
  private readonly url: URL;

  constructor(
    private readonly credential: CheckedCredential,
    private readonly options: { dispatcher: Dispatcher; tokenUrl: string; now: () => number; timeoutMs: number },
  ) {
    this.url = new URL(options.tokenUrl);
  }

  async getAccessToken(): Promise<AccessToken> {
    const startedAt = this.options.now();
    const body = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: this.credential.clientId,
      client_secret: this.credential.clientSecret,
    }).toString();
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
      ? [json['error'], json['sub_error'], json['error_description']].filter((v) => v !== undefined).join(' ')
      : text.slice(0, 200);
    const reason = `token endpoint answered ${statusCode}: ${detail}`;
    if (statusCode === 429 || statusCode >= 500 || statusCode === 200) {
      throw new TokenRequestError('retry', reason, parseRetryAfter(retryAfter, this.options.now()));
    }
    throw new TokenRequestError('auth', reason);
  }
}
