import { generateKeyPairSync, createVerify } from 'node:crypto';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { Credential } from 'firebase-admin/app';
import { ManualClock, TransportError, type PushRequest } from '@pushrelay/core';
import {
  FcmTransport,
  buildMessage,
  firebaseAdminTokenProvider,
  mapFcmError,
  type GoogleOAuthCredential,
  parseServiceAccount,
  readFcmError,
} from '../src/index.js';
import { TokenCache } from '@pushrelay/provider-http';
import { signAssertion, FCM_SCOPE } from '../src/internal/jwt.js';
import { parseRetryAfter } from '@pushrelay/provider-http';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const serviceAccount = {
  type: 'service_account',
  project_id: 'proj-a',
  private_key_id: 'kid-1',
  private_key: pem,
  client_email: 'sender@proj-a.iam.gserviceaccount.com',
  token_uri: 'https://127.0.0.1:9/token',
};

const request = (over: Partial<PushRequest> = {}): PushRequest => ({
  provider: 'fcm',
  token: 'tok-1',
  app: 'proj-a',
  environment: 'production',
  pushType: 'voip',
  priority: 'high',
  expiresAt: 1_000_030_000,
  payload: { data: { type: 'invite', call_id: 'c1' } },
  ...over,
});

function thrown(fn: () => unknown): TransportError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(TransportError);
    return error as TransportError;
  }
  throw new Error('expected a TransportError');
}

describe('service account', () => {
  it('accepts a key file as text or object', () => {
    expect(parseServiceAccount(JSON.stringify(serviceAccount)).projectId).toBe('proj-a');
    expect(parseServiceAccount(serviceAccount).clientEmail).toBe(serviceAccount.client_email);
  });

  it.each([
    ['private_key', { private_key: 'not a key' }, /PEM/],
    ['client_email', { client_email: undefined }, /missing/],
    ['client_email', { client_email: 'nobody' }, /e-mail/],
    ['token_uri', { token_uri: 'not a url' }, /URL/],
    ['project_id', { project_id: 42 }, /non-empty string/],
    ['private_key_id', { private_key_id: '' }, /non-empty string/],
    ['type', { type: 'authorized_user' }, /service_account/],
  ])('names %s when it is wrong', (field, change, message) => {
    const error = thrown(() => parseServiceAccount({ ...serviceAccount, ...change }));
    expect(error.field).toBe(`serviceAccount.${field}`);
    expect(error.message).toMatch(message);
  });

  it('rejects text that is not JSON', () => {
    expect(thrown(() => parseServiceAccount('{oops')).field).toBe('serviceAccount');
  });

  it('fails at construction, naming the credential entry', () => {
    const error = thrown(
      () =>
        new FcmTransport({
          credentials: [{ serviceAccount }, { serviceAccount: { ...serviceAccount, private_key: 'x' } }],
        }),
    );
    expect(error.field).toBe('credentials[1].serviceAccount.private_key');
  });

  it('signs an RS256 assertion Google accepts', () => {
    const jwt = signAssertion(
      parseServiceAccount(serviceAccount),
      'https://oauth2.googleapis.com/token',
      1_700_000_000_000,
    );
    const [h, c, s] = jwt.split('.');
    expect(JSON.parse(Buffer.from(h!, 'base64url').toString())).toEqual({ alg: 'RS256', typ: 'JWT', kid: 'kid-1' });
    expect(JSON.parse(Buffer.from(c!, 'base64url').toString())).toEqual({
      iss: serviceAccount.client_email,
      scope: FCM_SCOPE,
      aud: 'https://oauth2.googleapis.com/token',
      iat: 1_700_000_000,
      exp: 1_700_003_600,
    });
    const verify = createVerify('RSA-SHA256');
    verify.update(`${h}.${c}`);
    expect(verify.verify(publicKey, Buffer.from(s!, 'base64url'))).toBe(true);
  });
});

describe('message', () => {
  it('adds the token, ttl from the expiry and HIGH priority', () => {
    expect(buildMessage(request(), 1_000_000_000)).toEqual({
      data: { type: 'invite', call_id: 'c1' },
      android: { ttl: '30s', priority: 'HIGH' },
      token: 'tok-1',
    });
  });

  it('keeps what the payload sets and maps the collapse id', () => {
    const payload = { data: { a: 'b' }, android: { ttl: '5s', priority: 'NORMAL' } };
    expect(buildMessage(request({ payload, collapseId: 'call-1', priority: 'normal' }), 1_000_000_000)).toEqual({
      data: { a: 'b' },
      android: { ttl: '5s', priority: 'NORMAL', collapse_key: 'call-1' },
      token: 'tok-1',
    });
  });

  it('uses ttl 0 for now-or-never and no priority for normal requests', () => {
    expect(buildMessage(request({ expiresAt: null, priority: 'normal' }), 0)).toEqual({
      data: { type: 'invite', call_id: 'c1' },
      android: { ttl: '0s' },
      token: 'tok-1',
    });
  });

  it.each([
    ['payload.token', { token: 'x' }],
    ['payload.data.n', { data: { n: 1 } }],
    ['payload.data.google.x', { data: { 'google.x': 'y' } }],
    ['payload.data.from', { data: { from: 'y' } }],
    ['payload', { data: { big: 'x'.repeat(5000) } }],
  ])('refuses a message FCM would refuse (%s)', (field, payload) => {
    expect(thrown(() => buildMessage(request({ payload }), 0)).field).toBe(field);
  });
});

describe('errors', () => {
  const body = (status: string, code?: string, extra: unknown[] = []) => ({
    error: {
      code: 400,
      message: 'm',
      status,
      details: [
        ...(code ? [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode: code }] : []),
        ...extra,
      ],
    },
  });
  const map = (status: number, b: unknown, after?: number) => mapFcmError(status, readFcmError(status, b), after).kind;

  it('maps every FCM error class to one outcome', () => {
    expect(map(404, body('NOT_FOUND', 'UNREGISTERED'))).toBe('invalid-token');
    expect(map(403, body('PERMISSION_DENIED', 'SENDER_ID_MISMATCH'))).toBe('invalid-token');
    expect(map(400, body('INVALID_ARGUMENT', 'INVALID_ARGUMENT'))).toBe('rejected');
    expect(
      map(
        400,
        body('INVALID_ARGUMENT', 'INVALID_ARGUMENT', [
          {
            '@type': 'type.googleapis.com/google.rpc.BadRequest',
            fieldViolations: [{ field: 'message.token', description: 'bad' }],
          },
        ]),
      ),
    ).toBe('invalid-token');
    expect(map(429, body('RESOURCE_EXHAUSTED', 'QUOTA_EXCEEDED'))).toBe('retry');
    expect(map(503, body('UNAVAILABLE', 'UNAVAILABLE'))).toBe('retry');
    expect(map(500, body('INTERNAL', 'INTERNAL'))).toBe('retry');
    expect(map(401, body('UNAUTHENTICATED', 'THIRD_PARTY_AUTH_ERROR'))).toBe('auth-failed');
    expect(map(401, body('UNAUTHENTICATED'))).toBe('auth-failed');
    expect(map(403, body('PERMISSION_DENIED'))).toBe('auth-failed');
    expect(map(404, body('NOT_FOUND'))).toBe('rejected');
    expect(map(502, 'Bad Gateway')).toBe('retry');
    expect(map(413, undefined)).toBe('rejected');
  });

  it('gives quota errors at least a minute when FCM names no delay', () => {
    const info = readFcmError(429, body('RESOURCE_EXHAUSTED', 'QUOTA_EXCEEDED'));
    expect(mapFcmError(429, info, undefined)).toEqual({
      kind: 'retry',
      reason: 'QUOTA_EXCEEDED: m',
      retryAfterMs: 60_000,
      scope: 'credential',
    });
    expect(mapFcmError(429, info, 7000)).toEqual({
      kind: 'retry',
      reason: 'QUOTA_EXCEEDED: m',
      retryAfterMs: 7000,
      scope: 'credential',
    });
  });

  it('reads Retry-After as seconds or a date', () => {
    expect(parseRetryAfter('12', 0)).toBe(12_000);
    expect(parseRetryAfter('Thu, 01 Jan 1970 00:00:30 GMT', 10_000)).toBe(20_000);
    expect(parseRetryAfter('soon', 0)).toBeUndefined();
    expect(parseRetryAfter(undefined, 0)).toBeUndefined();
  });
});

describe('token cache', () => {
  it('mints once for many concurrent readers and refreshes 5 minutes before expiry', async () => {
    const clock = new ManualClock(0);
    let minted = 0;
    const cache = new TokenCache(
      { getAccessToken: async () => ({ accessToken: `t${++minted}`, expiresAt: clock.now() + 3600_000 }) },
      { now: () => clock.now(), refreshMarginMs: 300_000 },
    );
    const tokens = await Promise.all(Array.from({ length: 1000 }, () => cache.get()));
    expect(new Set(tokens)).toEqual(new Set(['t1']));
    await clock.advance(3600_000 - 300_001);
    expect(await cache.get()).toBe('t1');
    expect(minted).toBe(1);
    await clock.advance(2);
    // Inside the margin the still-valid token is served while one refresh runs.
    expect(await cache.get()).toBe('t1');
    await clock.advance(0);
    expect(await cache.get()).toBe('t2');
    expect(minted).toBe(2);
  });

  it('renews a rejected token once, however many senders saw it rejected', async () => {
    let minted = 0;
    const cache = new TokenCache(
      { getAccessToken: async () => ({ accessToken: `t${++minted}`, expiresAt: Date.now() + 3600_000 }) },
      { now: Date.now, refreshMarginMs: 300_000 },
    );
    const first = await cache.get();
    const renewed = await Promise.all(Array.from({ length: 50 }, () => cache.renew(first)));
    expect(new Set(renewed)).toEqual(new Set(['t2']));
    expect(minted).toBe(2);
  });
});

describe('firebase-admin credential', () => {
  it('turns getAccessToken() into a cached access token', async () => {
    const clock = new ManualClock(5_000);
    const provider = firebaseAdminTokenProvider(
      { getAccessToken: async () => ({ access_token: 'ya29.stub', expires_in: 3599 }) },
      { now: () => clock.now() },
    );
    expect(await provider.getAccessToken()).toEqual({ accessToken: 'ya29.stub', expiresAt: 5_000 + 3_599_000 });
  });

  it("accepts firebase-admin's Credential type (e.g. applicationDefault())", () => {
    expectTypeOf<Credential>().toExtend<GoogleOAuthCredential>();
  });

  it('needs a project id beside a token provider', () => {
    const tokenProvider = firebaseAdminTokenProvider({
      getAccessToken: async () => ({ access_token: 'a', expires_in: 1 }),
    });
    expect(thrown(() => new FcmTransport({ credentials: [{ tokenProvider }] })).field).toBe('credentials[0].projectId');
  });
});
