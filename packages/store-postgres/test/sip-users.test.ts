import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresDatabase, PostgresSipUserStore } from '../src/index.js';
import { dropSchema, PG_URL, postgres, schemaFor } from './helpers.js';

const md5 = (text: string) => createHash('md5').update(text).digest('hex');
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe.skipIf(!postgres.available)('PostgresSipUserStore', () => {
  const schema = schemaFor('sipusers');
  let db: PostgresDatabase;
  let users: PostgresSipUserStore;
  beforeAll(async () => {
    db = await PostgresDatabase.open({ connection: PG_URL, schema });
    users = new PostgresSipUserStore(db);
  });
  afterAll(async () => {
    await db?.close();
    await dropSchema(schema);
  });

  it('stores HA1s per realm and user, upper-case input kept in lower case, and replaces on put', async () => {
    const ha1Md5 = md5('alice:sip.example.com:wonderland');
    await users.put({ realm: 'sip.example.com', username: 'alice', ha1Md5: ha1Md5.toUpperCase() });
    expect(await users.get('sip.example.com', 'alice')).toEqual({
      realm: 'sip.example.com',
      username: 'alice',
      ha1Md5,
      enabled: true,
    });
    expect(await users.get('other.example.com', 'alice')).toBeUndefined();
    const ha1Sha256 = sha256('alice:sip.example.com:looking-glass');
    await users.put({ realm: 'sip.example.com', username: 'alice', ha1Sha256 });
    expect(await users.get('sip.example.com', 'alice')).toEqual({
      realm: 'sip.example.com',
      username: 'alice',
      ha1Sha256,
      enabled: true,
    });
  });

  it('reads rows an operator wrote with SQL alone, and hides disabled users', async () => {
    await db.pool.query(
      `INSERT INTO ${db.table('sip_users')} (realm, username, ha1_md5, ha1_sha256)
       VALUES ($1, $2, md5($3), encode(sha256(convert_to($3, 'UTF8')), 'hex'))`,
      ['sip.example.com', 'bob', 'bob:sip.example.com:builder'],
    );
    expect(await users.get('sip.example.com', 'bob')).toEqual({
      realm: 'sip.example.com',
      username: 'bob',
      ha1Md5: md5('bob:sip.example.com:builder'),
      ha1Sha256: sha256('bob:sip.example.com:builder'),
      enabled: true,
    });
    await db.pool.query(`UPDATE ${db.table('sip_users')} SET enabled = false WHERE username = 'bob'`);
    expect(await users.get('sip.example.com', 'bob')).toBeUndefined();
    expect(await users.remove('sip.example.com', 'bob')).toBe(true);
    expect(await users.remove('sip.example.com', 'bob')).toBe(false);
  });

  it('refuses an HA1 that is not hex of its length, or none at all, and writes nothing', async () => {
    await expect(users.put({ realm: 'r', username: 'carol', ha1Md5: 'secret' })).rejects.toBeInstanceOf(RangeError);
    await expect(users.put({ realm: 'r', username: 'carol', ha1Sha256: md5('x') })).rejects.toBeInstanceOf(RangeError);
    await expect(users.put({ realm: 'r', username: 'carol' })).rejects.toBeInstanceOf(RangeError);
    // The table refuses a plain password written around the store, too.
    await expect(
      db.pool.query(`INSERT INTO ${db.table('sip_users')} (realm, username, ha1_md5) VALUES ('r', 'carol', 'pw')`),
    ).rejects.toMatchObject({ code: '23514' });
    expect(await users.get('r', 'carol')).toBeUndefined();
  });
});
