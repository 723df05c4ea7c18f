import type { PostgresDatabase } from './database.js';

/** A SIP user as the `sip_users` table holds it: digest HA1s, never a password. */
export interface SipUserRecord {
  realm: string;
  username: string;
  /** MD5(username:realm:password), lower-case hex. */
  ha1Md5?: string;
  /** SHA-256(username:realm:password), lower-case hex. */
  ha1Sha256?: string;
  /** A disabled user is looked up as absent. */
  enabled: boolean;
}

const MD5_HEX = /^[0-9a-f]{32}$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;

interface Row {
  realm: string;
  username: string;
  ha1_md5: string | null;
  ha1_sha256: string | null;
  enabled: boolean;
}

/**
 * The users a SIP registrar authenticates, by realm and user name. Reads are one primary-key
 * SELECT; writes are upserts, so provisioning can run while registrars read.
 */
export class PostgresSipUserStore {
  constructor(private readonly db: PostgresDatabase) {}

  /** The enabled user of that name in the realm, or undefined. */
  async get(realm: string, username: string): Promise<SipUserRecord | undefined> {
    const r = await this.db.pool.query<Row>(
      `SELECT realm, username, ha1_md5, ha1_sha256, enabled FROM ${this.db.table('sip_users')}
       WHERE realm = $1 AND username = $2 AND enabled`,
      [realm, username],
    );
    const row = r.rows[0];
    return row ? fromRow(row) : undefined;
  }

  /** Creates or replaces a user. Throws RangeError, writing nothing, for an HA1 that is not hex of its length. */
  async put(user: Omit<SipUserRecord, 'enabled'> & { enabled?: boolean }): Promise<void> {
    const md5 = user.ha1Md5?.toLowerCase();
    const sha256 = user.ha1Sha256?.toLowerCase();
    if (md5 === undefined && sha256 === undefined) throw new RangeError('a SIP user needs ha1Md5 or ha1Sha256');
    if (md5 !== undefined && !MD5_HEX.test(md5)) throw new RangeError('ha1Md5 must be 32 hex digits');
    if (sha256 !== undefined && !SHA256_HEX.test(sha256)) throw new RangeError('ha1Sha256 must be 64 hex digits');
    await this.db.pool.query(
      `INSERT INTO ${this.db.table('sip_users')} (realm, username, ha1_md5, ha1_sha256, enabled, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $6)
       ON CONFLICT (realm, username) DO UPDATE
         SET ha1_md5 = EXCLUDED.ha1_md5, ha1_sha256 = EXCLUDED.ha1_sha256, enabled = EXCLUDED.enabled,
             updated_at = EXCLUDED.updated_at`,
      [user.realm, user.username, md5 ?? null, sha256 ?? null, user.enabled ?? true, this.db.nowIso()],
    );
  }

  /** Deletes a user; true when there was one. */
  async remove(realm: string, username: string): Promise<boolean> {
    const r = await this.db.pool.query(`DELETE FROM ${this.db.table('sip_users')} WHERE realm = $1 AND username = $2`, [
      realm,
      username,
    ]);
    return (r.rowCount ?? 0) > 0;
  }
}

function fromRow(row: Row): SipUserRecord {
  const user: SipUserRecord = { realm: row.realm, username: row.username, enabled: row.enabled };
  if (row.ha1_md5 !== null) user.ha1Md5 = row.ha1_md5;
  if (row.ha1_sha256 !== null) user.ha1Sha256 = row.ha1_sha256;
  return user;
}
