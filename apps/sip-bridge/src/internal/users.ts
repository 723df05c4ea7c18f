import type { Clock } from '@pushrelay/core';
import type { DigestAlgorithm, DigestSecret } from '@pushrelay/sip';
import type { SipUserRecord } from '@pushrelay/store-postgres';
import type { SipUser } from './config.js';

/** The users this registrar serves: who exists, and what digest answers are checked against. */
export interface UserDirectory {
  /** Whether `username` is a user here (a local user: calls to it are not sent to the trunk). */
  exists(username: string): Promise<boolean>;
  /** The password or HA1 of `username` for `algorithm`, as DigestServer takes it; undefined for no such user. */
  secret(username: string, algorithm: DigestAlgorithm): Promise<DigestSecret>;
  /**
   * Whether `username` may be a user here, without waiting: replication drops events for names
   * that cannot be. With users in postgres that is every well-formed name.
   */
  mayExist(username: string): boolean;
}

/** Users of the config file. */
export class ConfigUserDirectory implements UserDirectory {
  private readonly users: Map<string, SipUser>;

  constructor(users: readonly SipUser[]) {
    this.users = new Map(users.map((u) => [u.username, u]));
  }

  async exists(username: string): Promise<boolean> {
    return this.users.has(username);
  }

  async secret(username: string, algorithm: DigestAlgorithm): Promise<DigestSecret> {
    const user = this.users.get(username);
    if (!user) return undefined;
    if (user.password !== undefined) return user.password;
    const ha1 = algorithm === 'MD5' ? user.ha1Md5 : user.ha1Sha256;
    return ha1 === undefined ? undefined : { ha1 };
  }

  mayExist(username: string): boolean {
    return this.users.has(username);
  }
}

/** What PostgresSipUserStore offers; anything with the same `get` serves. */
export interface SipUserSource {
  get(realm: string, username: string): Promise<SipUserRecord | undefined>;
}

const USERNAME = /^[A-Za-z0-9._~+-]{1,128}$/;

/**
 * Users of the `sip_users` table, each lookup remembered for `ttlMs` (found or not) so that a
 * REGISTER refresh or a call costs no query; at most `maxEntries` are kept. A failed query is
 * not remembered and fails the request it served (the caller answers 500, nothing is changed).
 */
export class PostgresUserDirectory implements UserDirectory {
  private readonly cache = new Map<string, { record: SipUserRecord | undefined; until: number }>();
  private readonly pending = new Map<string, Promise<SipUserRecord | undefined>>();

  constructor(
    private readonly source: SipUserSource,
    private readonly realm: string,
    private readonly clock: Clock,
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
  ) {}

  private async lookup(username: string): Promise<SipUserRecord | undefined> {
    if (!USERNAME.test(username)) return undefined;
    const now = this.clock.now();
    const cached = this.cache.get(username);
    if (cached && cached.until > now) return cached.record;
    const running = this.pending.get(username);
    if (running) return running;
    const query = this.source.get(this.realm, username).then(
      (record) => {
        this.pending.delete(username);
        if (this.ttlMs > 0) {
          this.cache.delete(username);
          // Map order is insertion order: the first key is the oldest entry.
          if (this.cache.size >= this.maxEntries) this.cache.delete(this.cache.keys().next().value!);
          this.cache.set(username, { record, until: this.clock.now() + this.ttlMs });
        }
        return record;
      },
      (error: unknown) => {
        this.pending.delete(username);
        throw error;
      },
    );
    this.pending.set(username, query);
    return query;
  }

  async exists(username: string): Promise<boolean> {
    return (await this.lookup(username)) !== undefined;
  }

  async secret(username: string, algorithm: DigestAlgorithm): Promise<DigestSecret> {
    const record = await this.lookup(username);
    const ha1 = algorithm === 'MD5' ? record?.ha1Md5 : record?.ha1Sha256;
    return ha1 === undefined ? undefined : { ha1 };
  }

  mayExist(username: string): boolean {
    return USERNAME.test(username);
  }

  /** Entries remembered now, for leak checks. */
  get cachedCount(): number {
    return this.cache.size;
  }
}
