import http2 from 'node:http2';
import { createSign } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  certificateAuthorityFrom,
  startFcmSimulator,
  startHmsSimulator,
  type FcmSimulator,
  type HmsApp,
  type HmsSimulator,
  type ServiceAccountJson,
} from '../src/index.js';

interface Answer {
  status: number;
  headers: http2.IncomingHttpHeaders;
  body: unknown;
}

function call(
  url: string,
  ca: string,
  path: string,
  body: string,
  headers: Record<string, string> = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(url, { ca });
    session.on('error', reject);
    const stream = session.request({ ':method': 'POST', ':path': path, ...headers });
    let data = '';
    let head: http2.IncomingHttpHeaders = {};
    stream.on('response', (h) => (head = h));
    stream.setEncoding('utf8');
    stream.on('data', (c: string) => (data += c));
    stream.on('end', () => {
      session.close();
      let parsed: unknown = data;
      try {
        parsed = JSON.parse(data);
      } catch {
        /* not JSON */
      }
      resolve({ status: Number(head[':status']), headers: head, body: parsed });
    });
    stream.on('error', reject);
    stream.end(body);
  });
}

const form = (values: Record<string, string>) => new URLSearchParams(values).toString();
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

function assertion(sa: ServiceAccountJson, claims: Record<string, unknown> = {}): string {
  const iat = Math.floor(Date.now() / 1000);
  const unsigned = `${b64({ alg: 'RS256', typ: 'JWT', kid: sa.private_key_id })}.${b64({
    iss: sa.client_email,
    scope: 'https://www.googleapis.com/auth/firebase.messaging',
    aud: sa.token_uri,
    iat,
    exp: iat + 3600,
    ...claims,
  })}`;
  return `${unsigned}.${createSign('RSA-SHA256').update(unsigned).sign(sa.private_key).toString('base64url')}`;
}

describe('FCM simulator', () => {
  let sim: FcmSimulator;
  let sa: ServiceAccountJson;
  let bearer: string;
  beforeAll(async () => {
    sim = await startFcmSimulator();
    sa = sim.createServiceAccount('proj-x');
    const minted = await call(
      sim.url,
      sim.ca,
      '/token',
      form({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: assertion(sa) }),
      {
        'content-type': 'application/x-www-form-urlencoded',
      },
    );
    expect(minted.status).toBe(200);
    bearer = (minted.body as { access_token: string }).access_token;
  });
  afterAll(() => sim.close());

  const send = (message: unknown, token = bearer, project = 'proj-x') =>
    call(sim.url, sim.ca, `/v1/projects/${project}/messages:send`, JSON.stringify({ message }), {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
    });

  it.each([
    ['a wrong audience', { aud: 'https://oauth2.googleapis.com/token' }, 'invalid_grant'],
    ['a missing scope', { scope: 'https://www.googleapis.com/auth/cloud-platform' }, 'invalid_scope'],
    ['an expired assertion', { iat: 1_000, exp: 4_600 }, 'invalid_grant'],
  ])('refuses an assertion with %s', async (_name, claims, error) => {
    const answer = await call(
      sim.url,
      sim.ca,
      '/token',
      form({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: assertion(sa, claims) }),
    );
    expect(answer.status).toBe(400);
    expect((answer.body as { error: string }).error).toBe(error);
  });

  it('answers a valid message with its name and logs the delivery', async () => {
    const answer = await send({ token: 'device-token-0001', data: { a: 'b' } });
    expect(answer.status).toBe(200);
    expect((answer.body as { name: string }).name).toMatch(/^projects\/proj-x\/messages\/0:/);
    expect(sim.deliveries({ token: 'device-token-0001' })).toHaveLength(1);
  });

  it('answers UNAUTHENTICATED for an unknown bearer token', async () => {
    const answer = await send({ token: 'device-token-0001' }, 'ya29.nope');
    expect(answer.status).toBe(401);
    expect((answer.body as { error: { status: string } }).error.status).toBe('UNAUTHENTICATED');
  });

  it.each([
    ['two targets', { token: 'device-token-0001', topic: 'news' }, 'message'],
    ['a number in data', { token: 'device-token-0001', data: { n: 1 } }, 'message.data[n].value'],
    ['a reserved data key', { token: 'device-token-0001', data: { 'google.x': 'y' } }, 'message.data'],
    ['a bad ttl', { token: 'device-token-0001', android: { ttl: '30' } }, 'message.android.ttl'],
    ['a bad priority', { token: 'device-token-0001', android: { priority: 'URGENT' } }, 'message.android.priority'],
    ['a message over 4096 bytes', { token: 'device-token-0001', data: { x: 'y'.repeat(4100) } }, 'message'],
    ['a malformed token', { token: 'bad' }, 'message.token'],
  ])('answers INVALID_ARGUMENT for %s', async (_name, message, field) => {
    const answer = await send(message);
    expect(answer.status).toBe(400);
    const error = (answer.body as { error: { status: string; details: Array<Record<string, unknown>> } }).error;
    expect(error.status).toBe('INVALID_ARGUMENT');
    expect(error.details[0]).toEqual({
      '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError',
      errorCode: 'INVALID_ARGUMENT',
    });
    expect(error.details[1]).toEqual({
      '@type': 'type.googleapis.com/google.rpc.BadRequest',
      fieldViolations: [{ field, description: expect.any(String) }],
    });
  });

  it('answers UNREGISTERED and SENDER_ID_MISMATCH with the real error body', async () => {
    sim.unregister('device-token-dead');
    const dead = await send({ token: 'device-token-dead' });
    expect(dead).toEqual({
      status: 404,
      headers: expect.any(Object),
      body: {
        error: {
          code: 404,
          message: 'Requested entity was not found.',
          status: 'NOT_FOUND',
          details: [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode: 'UNREGISTERED' }],
        },
      },
    });
    sim.bindToken('device-token-other', 'proj-y');
    expect((await send({ token: 'device-token-other' })).status).toBe(403);
  });

  it('scripts QUOTA_EXCEEDED with Retry-After', async () => {
    sim.fault({ kind: 'status', status: 429, retryAfter: 30 });
    const answer = await send({ token: 'device-token-0002' });
    expect(answer.status).toBe(429);
    expect(answer.headers['retry-after']).toBe('30');
    expect((answer.body as { error: { details: unknown[] } }).error.details).toEqual([
      { '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode: 'QUOTA_EXCEEDED' },
    ]);
  });
});

describe('FCM simulator started again on its port', () => {
  it('keeps its CA and service accounts, and forgets the access tokens it minted', async () => {
    const first = await startFcmSimulator();
    const sa = first.createServiceAccount('proj-restart');
    const mint = (url: string) =>
      call(
        url,
        first.ca,
        '/token',
        form({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: assertion(sa) }),
        {
          'content-type': 'application/x-www-form-urlencoded',
        },
      );
    const before = (await mint(first.url)).body as { access_token: string };
    await first.close();
    const second = await startFcmSimulator({
      port: first.port,
      authority: certificateAuthorityFrom({ cert: first.authority.cert, key: first.authority.key }),
      serviceAccounts: [sa],
    });
    try {
      expect(second.url).toBe(first.url);
      const send = (bearer: string) =>
        call(
          second.url,
          // The clients of the first run trust only its CA.
          first.ca,
          '/v1/projects/proj-restart/messages:send',
          JSON.stringify({ message: { token: 'device-token-restart', data: { a: 'b' } } }),
          { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
        );
      expect((await send(before.access_token)).status).toBe(401);
      const again = await mint(second.url);
      expect(again.status).toBe(200);
      expect((await send((again.body as { access_token: string }).access_token)).status).toBe(200);
      expect(second.deliveries()).toHaveLength(1);
      expect(second.createServiceAccount('proj-restart').client_email).not.toBe(sa.client_email);
    } finally {
      await second.close();
    }
  });
});

describe('HMS simulator', () => {
  let sim: HmsSimulator;
  let app: HmsApp;
  let bearer: string;
  beforeAll(async () => {
    sim = await startHmsSimulator();
    app = sim.registerApp('555');
    const minted = await call(
      sim.url,
      sim.ca,
      '/oauth2/v3/token',
      form({ grant_type: 'client_credentials', client_id: '555', client_secret: app.clientSecret }),
    );
    bearer = (minted.body as { access_token: string }).access_token;
  });
  afterAll(() => sim.close());

  const send = (message: unknown) =>
    call(sim.url, sim.ca, '/v1/555/messages:send', JSON.stringify({ message }), { authorization: `Bearer ${bearer}` });
  const token = (n: number) => `IQAAAACy0simtoken${n}xxxxxxxx`;

  it('refuses a wrong client secret', async () => {
    const answer = await call(
      sim.url,
      sim.ca,
      '/oauth2/v3/token',
      form({ grant_type: 'client_credentials', client_id: '555', client_secret: 'x' }),
    );
    expect(answer).toEqual({
      status: 400,
      headers: expect.any(Object),
      body: { error: 1101, sub_error: 20152, error_description: 'invalid client' },
    });
  });

  it.each([
    ['data as an object', { token: [token(1)], data: { a: 1 } }, '80100001'],
    ['a bad urgency', { token: [token(1)], android: { urgency: 'LOW' } }, '80100001'],
    ['a bad category', { token: [token(1)], android: { category: 'CALL' } }, '80100001'],
    ['a bad ttl', { token: [token(1)], android: { ttl: '1296001s' } }, '80100001'],
    ['a token string instead of an array', { token: token(1) }, '80100001'],
    ['a body over 4096 bytes', { token: [token(1)], data: 'x'.repeat(4100) }, '80300008'],
  ])('refuses %s', async (_name, message, code) => {
    const answer = await send(message);
    expect((answer.body as { code: string }).code).toBe(code);
    expect(answer.status).toBe(400);
  });

  it('answers partial success with the illegal tokens in msg', async () => {
    sim.unregister(token(9));
    const answer = await send({ token: [token(7), token(8), token(9)], data: '{}' });
    expect(answer).toEqual({
      status: 200,
      headers: expect.any(Object),
      body: {
        code: '80100000',
        msg: JSON.stringify({ success: 2, failure: 1, illegal_tokens: [token(9)] }),
        requestId: expect.any(String),
      },
    });
    expect(
      sim
        .deliveries()
        .map((d) => d.token)
        .filter((t) => t !== token(1))
        .sort(),
    ).toEqual([token(7), token(8)]);
    const all = await send({ token: [token(9)] });
    expect(all.body).toEqual({ code: '80300007', msg: 'All the tokens are invalid.', requestId: expect.any(String) });
  });

  it('answers 80200003 once the access token expired', async () => {
    sim.expireAccessTokens();
    const answer = await send({ token: [token(1)] });
    expect(answer.status).toBe(401);
    expect((answer.body as { code: string }).code).toBe('80200003');
  });
});

describe('inspection routes that make credentials', () => {
  const post = (url: string, ca: string, path: string, body: unknown) =>
    new Promise<{ status: number; body: any }>((resolve, reject) => {
      const session = http2.connect(url, { ca });
      session.on('error', reject);
      const stream = session.request({ ':method': 'POST', ':path': path });
      let status = 0;
      let data = '';
      stream.on('response', (h) => (status = Number(h[':status'])));
      stream.setEncoding('utf8');
      stream.on('data', (c: string) => (data += c));
      stream.on('end', () => {
        session.close();
        resolve({ status, body: JSON.parse(data) });
      });
      stream.end(JSON.stringify(body));
    });

  it('the FCM simulator makes a service account over POST /__sim/service-accounts', async () => {
    const fcm = await startFcmSimulator();
    try {
      const made = await post(fcm.url, fcm.ca, '/__sim/service-accounts', { projectId: 'p-http' });
      expect(made.status).toBe(201);
      expect(made.body).toMatchObject({ project_id: 'p-http', auth_uri: 'https://accounts.google.com/o/oauth2/auth' });
    } finally {
      await fcm.close();
    }
  });

  it('the HMS simulator registers an app over POST /__sim/apps', async () => {
    const hms = await startHmsSimulator();
    try {
      const made = await post(hms.url, hms.ca, '/__sim/apps', { appId: '4242', projectId: 'proj-http' });
      expect(made.status).toBe(201);
      expect(made.body).toMatchObject({ appId: '4242', projectId: 'proj-http' });
      expect(typeof made.body.clientSecret).toBe('string');
    } finally {
      await hms.close();
    }
  });
});
