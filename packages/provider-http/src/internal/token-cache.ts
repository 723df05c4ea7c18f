/** An OAuth access token and the instant (epoch ms) it stops being accepted. */
export interface AccessToken {
  accessToken: string;
  expiresAt: number;
}

/** Mints OAuth access tokens; the transport caches what it returns. */
export interface AccessTokenProvider {
  getAccessToken(): Promise<AccessToken>;
}

export interface TokenCacheOptions {
  now: () => number;
  /** Refresh this long before expiry, while the old token still serves sends. */
  refreshMarginMs: number;
}

/**
 * Holds one credential's access token. Every send reads it from here; the provider is called
 * only when the token is missing, near expiry or rejected, and concurrent callers share the
 * one refresh in flight.
 */
export class TokenCache {
  private current: AccessToken | undefined;
  private inflight: Promise<AccessToken> | undefined;

  constructor(
    private readonly provider: AccessTokenProvider,
    private readonly options: TokenCacheOptions,
  ) {}

  async get(): Promise<string> {
    const now = this.options.now();
    const current = this.current;
    if (current && now < current.expiresAt - this.options.refreshMarginMs) return current.accessToken;
    if (current && now < current.expiresAt) {
      // Near expiry: refresh in the background and keep using the still-valid token.
      this.refresh().catch(() => {});
      return current.accessToken;
    }
    return (await this.refresh()).accessToken;
  }

  /**
   * Called when the provider rejected `stale`: refreshes unless another caller already
   * replaced it, and returns the token to retry with.
   */
  async renew(stale: string): Promise<string> {
    if (this.current && this.current.accessToken !== stale) return this.current.accessToken;
    this.current = undefined;
    return (await this.refresh()).accessToken;
  }

  private refresh(): Promise<AccessToken> {
    if (!this.inflight) {
      this.inflight = this.provider
        .getAccessToken()
        .then((token) => {
          this.current = token;
          return token;
        })
        .finally(() => {
          this.inflight = undefined;
        });
    }
    return this.inflight;
  }
}
