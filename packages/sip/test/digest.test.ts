import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  computeDigestResponse,
  digestHa1,
  createRequest,
  DigestServer,
  digestClientAuthorization,
  getHeaders,
  parseAuthHeader,
  type SipRequest,
} from '../src/index.js';
import { FakeClock } from './support/fake-clock.js';

// RFC 7616 §3.9.1 example.
const rfc7616 = {
  username: 'Mufasa',
  password: 'Circle of Life',
  realm: 'http-auth@example.org',
  method: 'GET',
  uri: '/dir/index.html',
  nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v',
  cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
  nc: '00000001',
  qop: 'auth' as const,
};

describe('digest computation', () => {
  it('matches the RFC 7616 test vectors for MD5 and SHA-256', () => {
    expect(computeDigestResponse({ ...rfc7616, algorithm: 'MD5' })).toBe('8ca523f5e9506fed4657c9700eebdbec');
    expect(computeDigestResponse({ ...rfc7616, algorithm: 'SHA-256' })).toBe(
      '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1',
    );
  });

  it('builds the RFC 7616 Authorization from its challenge', () => {
    const challenge =
      'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"';
    const value = digestClientAuthorization({
      challenge,
      method: 'GET',
      uri: '/dir/index.html',
      username: 'Mufasa',
      password: 'Circle of Life',
      cnonce: rfc7616.cnonce,
      nc: 1,
    });
    expect(parseAuthHeader(value)).toEqual({
      scheme: 'Digest',
      params: {
        username: 'Mufasa',
        realm: 'http-auth@example.org',
        nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v',
        uri: '/dir/index.html',
        response: '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1',
        algorithm: 'SHA-256',
        cnonce: rfc7616.cnonce,
        qop: 'auth',
        nc: '00000001',
        opaque: 'FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS',
      },
    });
  });
});

describe('DigestServer', () => {
  const users: Record<string, string> = { alice: 's3cret' };

  function setup(options: { allowNoQop?: boolean; allowUriMismatch?: boolean } = {}) {
    const clock = new FakeClock();
    clock.advance(1_700_000_000_000);
    const server = new DigestServer({
      realm: 'sip.example.com',
      credentials: (username) => users[username],
      secret: 'test-secret',
      nonceTtlMs: 60_000,
      clock,
      ...options,
    });
    return { clock, server };
  }

  function register(): SipRequest {
    return createRequest({
      method: 'REGISTER',
      uri: 'sip:sip.example.com',
      from: '<sip:alice@sip.example.com>',
      to: '<sip:alice@sip.example.com>',
      via: { transport: 'UDP', host: '192.0.2.1', port: 5060 },
    });
  }

  function answer(request: SipRequest, challenge: string, nc = 1, password = 's3cret'): SipRequest {
    request.headers.push({
      name: 'Authorization',
      value: digestClientAuthorization({
        challenge,
        method: request.method,
        uri: request.uri,
        username: 'alice',
        password,
        nc,
      }),
    });
    return request;
  }

  it('challenges with SHA-256 first, then MD5, sharing one nonce', () => {
    const { server } = setup();
    const response = server.challenge(register());
    expect(response.status).toBe(401);
    const challenges = getHeaders(response, 'WWW-Authenticate').map((v) => parseAuthHeader(v)!.params);
    expect(challenges.map((c) => c['algorithm'])).toEqual(['SHA-256', 'MD5']);
    expect(challenges.map((c) => c['qop'])).toEqual(['auth', 'auth']);
    expect(challenges[0]!['nonce']).toBe(challenges[1]!['nonce']);
    expect(server.challenge(register(), { proxy: true }).status).toBe(407);
  });

  it.each([0, 1])('accepts a correct answer to challenge %i (SHA-256, MD5)', async (index) => {
    const { server } = setup();
    const challenge = getHeaders(server.challenge(register()), 'WWW-Authenticate')[index]!;
    expect(await server.verify(answer(register(), challenge))).toEqual({
      ok: true,
      username: 'alice',
      algorithm: index === 0 ? 'SHA-256' : 'MD5',
    });
  });

  it('rejects a wrong password, an unknown user, a forged nonce and a missing header', async () => {
    const { server } = setup();
    const challenge = server.challenges()[0]!;
    expect(await server.verify(answer(register(), challenge, 1, 'wrong'))).toEqual({
      ok: false,
      reason: 'wrong_response',
      stale: false,
      username: 'alice',
    });
    const stranger = register();
    stranger.headers.push({
      name: 'Authorization',
      value: digestClientAuthorization({
        challenge,
        method: 'REGISTER',
        uri: stranger.uri,
        username: 'mallory',
        password: 'x',
      }),
    });
    expect(await server.verify(stranger)).toMatchObject({ ok: false, reason: 'unknown_user' });
    const forged = challenge.replace(/nonce="[^"]+"/, 'nonce="AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"');
    expect(await server.verify(answer(register(), forged))).toMatchObject({ ok: false, reason: 'bad_nonce' });
    expect(await server.verify(register())).toEqual({ ok: false, reason: 'missing', stale: false });
  });

  it('reports an expired nonce as stale so the client can retry without asking the user', async () => {
    const { clock, server } = setup();
    const challenge = server.challenges()[0]!;
    clock.advance(60_001);
    const result = await server.verify(answer(register(), challenge));
    expect(result).toEqual({ ok: false, reason: 'stale_nonce', stale: true, username: 'alice' });
    expect(server.challenges({ stale: true }).every((c) => parseAuthHeader(c)!.params['stale'] === 'true')).toBe(true);
  });

  it('rejects a reused nonce count and accepts an increasing one', async () => {
    const { server } = setup();
    const challenge = server.challenges()[0]!;
    expect((await server.verify(answer(register(), challenge, 1))).ok).toBe(true);
    expect(await server.verify(answer(register(), challenge, 1))).toMatchObject({
      ok: false,
      reason: 'replayed_nonce_count',
    });
    expect((await server.verify(answer(register(), challenge, 2))).ok).toBe(true);
    expect(await server.verify(answer(register(), challenge, 2))).toMatchObject({
      ok: false,
      reason: 'replayed_nonce_count',
    });
  });

  it('rejects an answer for another URI or realm, and answers without qop unless allowed', async () => {
    const { server } = setup();
    const challenge = server.challenges()[0]!;
    const moved = answer(register(), challenge);
    moved.uri = 'sip:elsewhere.example.com';
    expect(await server.verify(moved)).toMatchObject({ ok: false, reason: 'uri_mismatch' });
    const tolerant = setup({ allowUriMismatch: true }).server;
    const answered = answer(register(), tolerant.challenges()[0]!);
    answered.uri = 'sip:elsewhere.example.com';
    expect(await tolerant.verify(answered)).toMatchObject({ ok: true });
    const otherRealm = answer(register(), challenge.replace('sip.example.com', 'other.example.com'));
    expect(await server.verify(otherRealm)).toMatchObject({ ok: false, reason: 'realm_mismatch' });
    const noQop = challenge.replace(', qop="auth"', '');
    expect(await server.verify(answer(register(), noQop))).toMatchObject({ ok: false, reason: 'malformed' });
    const lenient = setup({ allowNoQop: true }).server;
    const lenientChallenge = lenient.challenges()[1]!.replace(', qop="auth"', '');
    expect(await lenient.verify(answer(register(), lenientChallenge))).toMatchObject({ ok: true, algorithm: 'MD5' });
  });

  it('verifies against a stored HA1 per algorithm instead of a password', async () => {
    const clock = new FakeClock();
    clock.advance(1_700_000_000_000);
    const asked: string[] = [];
    const server = new DigestServer({
      realm: 'sip.example.com',
      credentials: (username, realm, algorithm) => {
        asked.push(`${username}@${realm}/${algorithm}`);
        // Only the MD5 HA1 is stored, in upper case as some provisioning tools write it.
        return algorithm === 'MD5' ? { ha1: digestHa1('MD5', username, realm, 's3cret').toUpperCase() } : undefined;
      },
      clock,
    });
    expect(digestHa1('MD5', 'alice', 'sip.example.com', 's3cret')).toBe(
      createHash('md5').update('alice:sip.example.com:s3cret').digest('hex'),
    );
    const [sha256, md5] = server.challenges();
    expect(await server.verify(answer(register(), md5!))).toEqual({ ok: true, username: 'alice', algorithm: 'MD5' });
    expect(await server.verify(answer(register(), md5!, 2, 'wrong'))).toMatchObject({ reason: 'wrong_response' });
    expect(await server.verify(answer(register(), sha256!, 3))).toMatchObject({ ok: false, reason: 'unknown_user' });
    expect(asked).toEqual(['alice@sip.example.com/MD5', 'alice@sip.example.com/MD5', 'alice@sip.example.com/SHA-256']);
  });

  it('refuses an HA1 that is not hex rather than comparing against it', async () => {
    const server = new DigestServer({ realm: 'sip.example.com', credentials: () => ({ ha1: 'not hex!' }) });
    const challenge = server.challenges()[0]!;
    expect(await server.verify(answer(register(), challenge))).toMatchObject({ ok: false, reason: 'unknown_user' });
  });
});
