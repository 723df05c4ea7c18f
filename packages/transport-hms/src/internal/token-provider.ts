import { constants, sign } from 'node:crypto';
import type { Dispatcher } from 'undici';
import { requestAccessToken, type AccessToken, type AccessTokenProvider } from '@pushrelay/provider-http';
import type { CheckedCredential, CheckedServiceAccount } from './credentials.js';

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
    return requestAccessToken({
      dispatcher: this.options.dispatcher,
      url: this.url,
      form: {
        grant_type: 'client_credentials',
        client_id: this.credential.clientId,
        client_secret: this.credential.clientSecret ?? '',
      },
      now: this.options.now,
      timeoutMs: this.options.timeoutMs,
      describeError: (json) =>
        [json['error'], json['sub_error'], json['error_description']].filter((v) => v !== undefined).join(' '),
    });
  }
}

/** The audience Huawei fixes for service-account JWTs. */
export const HMS_JWT_AUDIENCE = 'https://oauth-login.cloud.huawei.com/oauth2/v3/token';
/** Huawei advises an hour and refuses more than a day (80300036). */
export const HMS_JWT_LIFETIME_S = 3600;

/**
 * Signs the service-account JWT the v3 API takes as its bearer token: header
 * `{kid, typ: JWT, alg: PS256}`, claims `{aud, iss: sub_account, iat, exp}`, RSASSA-PSS with
 * SHA-256 (salt as long as the hash, as JWA's PS256 says). Nothing goes over the network.
 */
export class ServiceAccountJwtProvider implements AccessTokenProvider {
  constructor(
    private readonly account: CheckedServiceAccount,
    private readonly now: () => number,
    private readonly lifetimeS = HMS_JWT_LIFETIME_S,
  ) {}

  getAccessToken(): Promise<AccessToken> {
    const iat = Math.floor(this.now() / 1000);
    const exp = iat + this.lifetimeS;
    const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const input = `${part({ kid: this.account.keyId, typ: 'JWT', alg: 'PS256' })}.${part({
      aud: HMS_JWT_AUDIENCE,
      iss: this.account.subAccount,
      iat,
      exp,
    })}`;
    const signature = sign('sha256', Buffer.from(input), {
      key: this.account.privateKey,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
    });
    return Promise.resolve({ accessToken: `${input}.${signature.toString('base64url')}`, expiresAt: exp * 1000 });
  }
}
