import type { Dispatcher } from 'undici';
import { requestAccessToken, type AccessToken, type AccessTokenProvider } from '@pushrelay/provider-http';
import type { CheckedCredential } from './credentials.js';

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
        client_secret: this.credential.clientSecret,
      },
      now: this.options.now,
      timeoutMs: this.options.timeoutMs,
      describeError: (json) =>
        [json['error'], json['sub_error'], json['error_description']].filter((v) => v !== undefined).join(' '),
    });
  }
}
