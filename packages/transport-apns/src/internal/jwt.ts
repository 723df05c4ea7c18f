import { createPrivateKey, sign, type KeyObject } from 'node:crypto';

/** A provider token is made again after this long (APNs accepts one for an hour). */
export const TOKEN_LIFETIME_MS = 50 * 60_000;
/** APNs answers TooManyProviderTokenUpdates to a key whose token changes more often than this. */
export const TOKEN_MIN_REFRESH_MS = 20 * 60_000;

export interface TokenKey {
  key: string | Buffer;
  keyId: string;
  teamId: string;
}

/**
 * The provider authentication token (ES256 JWT) of one signing key. Every send through the key
 * reads the same `authorization` value; it is signed once per `TOKEN_LIFETIME_MS`.
 */
export class ProviderToken {
  private readonly key: KeyObject;
  private readonly header: string;
  private readonly claimsPrefix: string;
  private value = '';
  private mintedAt = -Infinity;
  /** Tokens signed so far. */
  mints = 0;

  constructor(
    credential: TokenKey,
    private readonly now: () => number,
  ) {
    // Throws for a key that is not a private key.
    const key = createPrivateKey(credential.key);
    if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
      throw new TypeError('an APNs signing key is an EC P-256 private key (.p8)');
    }
    this.key = key;
    this.header = Buffer.from(JSON.stringify({ alg: 'ES256', kid: credential.keyId })).toString('base64url');
    this.claimsPrefix = `{"iss":${JSON.stringify(credential.teamId)},"iat":`;
  }

  /** `bearer <jwt>`, signed again once the current one is `TOKEN_LIFETIME_MS` old. */
  authorization(): string {
    const now = this.now();
    if (now - this.mintedAt >= TOKEN_LIFETIME_MS || now < this.mintedAt) this.mint(now);
    return this.value;
  }

  /**
   * APNs called `stale` expired: the next send signs a new token, unless another send already
   * replaced it or it is too young to replace without TooManyProviderTokenUpdates.
   */
  expired(stale: string): void {
    if (stale === this.value && this.now() - this.mintedAt >= TOKEN_MIN_REFRESH_MS) this.mintedAt = -Infinity;
  }

  private mint(now: number): void {
    const claims = Buffer.from(`${this.claimsPrefix}${Math.floor(now / 1000)}}`).toString('base64url');
    const input = `${this.header}.${claims}`;
    const signature = sign('sha256', Buffer.from(input), { key: this.key, dsaEncoding: 'ieee-p1363' });
    this.value = `bearer ${input}.${signature.toString('base64url')}`;
    this.mintedAt = now;
    this.mints++;
  }
}
