import { sign } from 'node:crypto';
import http2 from 'node:http2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApnsSimulator, type ApnsSigningKey, type ApnsSimulatorHandle } from '../src/index.js';

const TOKEN = 'a'.repeat(64);
let now = Date.parse('2026-01-01T00:00:00Z');
const clock = { now: () => now };

function jwt(
  key: ApnsSigningKey,
  iat = Math.floor(now / 1000),
  overrides: { kid?: string; iss?: string } = {},
): string {
  const header = Buffer.from(JSON.stringify({ alg: 'ES256', kid: overrides.kid ?? key.keyId })).toString('base64url');
  const claims = Buffer.from(JSON.stringify({ iss: overrides.iss ?? key.teamId, iat })).toString('base64url');
  const signature = sign('sha256', Buffer.from(`${header}.${claims}`), { key: key.key, dsaEncoding: 'ieee-p1363' });
  return `${header}.${claims}.${signature.toString('base64url')}`;
}

interface Answer {
  status: number;
  headers: http2.IncomingHttpHeaders;
  body: Record<string, unknown> | undefined;
}

function post(
  url: string,
  ca: string,
  path: string,
  headers: Record<string, string>,
  body: string | undefined,
  tls: { cert?: string; key?: string } = {},
  reuse?: http2.ClientHttp2Session,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const session = reuse ?? http2.connect(url, { ca, ...tls });
    session.on('error', reject);
    const stream = session.request({ ':method': headers[':method'] ?? 'POST', ':path': path, ...headers });
    let data = '';
    let h: http2.IncomingHttpHeaders = {};
    stream.on('response', (x) => (h = x));
    stream.setEncoding('utf8');
    stream.on('data', (c: string) => (data += c));
    stream.on('end', () => {
      if (!reuse) session.close();
      resolve({ status: Number(h[':status']), headers: h, body: data ? JSON.parse(data) : undefined });
    });
    stream.on('error', reject);
    stream.end(body);
  });
}

let sim: ApnsSimulatorHandle;
let auth: string;
const voip = () => ({
  'apns-topic': 'com.example.app.voip',
  'apns-push-type': 'voip',
  'apns-priority': '10',
  'apns-expiration': '0',
  authorization: `bearer ${auth}`,
});
const payload = JSON.stringify({ aps: { alert: 'call' } });

beforeAll(async () => {
  sim = await startApnsSimulator({ clock });
  auth = jwt(sim.signingKey);
});
afterAll(() => sim.close());

describe('APNs simulator', () => {
  it('accepts a valid VoIP push with token auth, echoes apns-id and logs the delivery', async () => {
    const id = '123e4567-e89b-12d3-a456-426614174000';
    const a = await post(sim.productionUrl, sim.ca, `/3/device/${TOKEN}`, { ...voip(), 'apns-id': id }, payload);
    expect(a.status).toBe(200);
    expect(a.headers['apns-id']).toBe(id);
    expect(a.body).toBeUndefined();
    const d = sim.deliveries({ token: TOKEN });
    expect(d).toEqual([
      {
        provider: 'apns',
        environment: 'production',
        token: TOKEN,
        headers: {
          'apns-topic': 'com.example.app.voip',
          'apns-push-type': 'voip',
          'apns-priority': '10',
          'apns-expiration': '0',
          'apns-id': id,
        },
        payload: { aps: { alert: 'call' } },
        receivedAt: now,
        id,
      },
    ]);
  });

  const cases: [string, () => { path?: string; headers: Record<string, string>; body?: string }, number, string][] = [
    ['wrong path', () => ({ path: '/3/devices/x', headers: voip() }), 404, 'BadPath'],
    ['wrong method', () => ({ headers: { ...voip(), ':method': 'PUT' } }), 405, 'MethodNotAllowed'],
    ['short token', () => ({ path: '/3/device/abc', headers: voip() }), 400, 'BadDeviceToken'],
    ['missing token', () => ({ path: '/3/device/', headers: voip() }), 400, 'MissingDeviceToken'],
    ['no topic', () => ({ headers: { ...voip(), 'apns-topic': '' } }), 400, 'MissingTopic'],
    ['unknown topic', () => ({ headers: { ...voip(), 'apns-topic': 'org.other.voip' } }), 400, 'BadTopic'],
    [
      'voip without .voip topic',
      () => ({ headers: { ...voip(), 'apns-topic': 'com.example.app' } }),
      400,
      'InvalidPushType',
    ],
    ['alert on a .voip topic', () => ({ headers: { ...voip(), 'apns-push-type': 'alert' } }), 400, 'InvalidPushType'],
    ['no push type', () => ({ headers: { ...voip(), 'apns-push-type': '' } }), 400, 'InvalidPushType'],
    ['priority 7', () => ({ headers: { ...voip(), 'apns-priority': '7' } }), 400, 'BadPriority'],
    [
      'expiration not a number',
      () => ({ headers: { ...voip(), 'apns-expiration': 'soon' } }),
      400,
      'BadExpirationDate',
    ],
    [
      'collapse id of 65 bytes',
      () => ({ headers: { ...voip(), 'apns-collapse-id': 'c'.repeat(65) } }),
      400,
      'BadCollapseId',
    ],
    ['apns-id not a UUID', () => ({ headers: { ...voip(), 'apns-id': 'nope' } }), 400, 'BadMessageId'],
    ['empty payload', () => ({ headers: voip(), body: '' }), 400, 'PayloadEmpty'],
    [
      'VoIP payload over 5120 bytes',
      () => ({ headers: voip(), body: JSON.stringify({ x: 'y'.repeat(5120) }) }),
      413,
      'PayloadTooLarge',
    ],
    [
      'alert payload over 4096 bytes',
      () => ({
        headers: { ...voip(), 'apns-topic': 'com.example.app', 'apns-push-type': 'alert' },
        body: JSON.stringify({ x: 'y'.repeat(4100) }),
      }),
      413,
      'PayloadTooLarge',
    ],
    ['no authorization', () => ({ headers: { ...voip(), authorization: '' } }), 403, 'MissingProviderToken'],
    ['garbage JWT', () => ({ headers: { ...voip(), authorization: 'bearer a.b.c' } }), 403, 'InvalidProviderToken'],
    [
      'JWT of another team',
      () => ({
        headers: { ...voip(), authorization: `bearer ${jwt(sim.signingKey, undefined, { iss: 'OTHERTEAM1' })}` },
      }),
      403,
      'InvalidProviderToken',
    ],
    [
      'unknown key id',
      () => ({
        headers: { ...voip(), authorization: `bearer ${jwt(sim.signingKey, undefined, { kid: 'NOKEY00000' })}` },
      }),
      403,
      'InvalidProviderToken',
    ],
    [
      'JWT older than an hour',
      () => ({ headers: { ...voip(), authorization: `bearer ${jwt(sim.signingKey, Math.floor(now / 1000) - 3601)}` } }),
      403,
      'ExpiredProviderToken',
    ],
  ];
  for (const [name, make, status, reason] of cases) {
    it(`answers ${status} ${reason} for ${name}`, async () => {
      const c = make();
      const a = await post(
        sim.productionUrl,
        sim.ca,
        c.path ?? `/3/device/${TOKEN}`,
        Object.fromEntries(Object.entries(c.headers).filter(([, v]) => v !== '')),
        c.body ?? payload,
      );
      expect({ status: a.status, body: a.body }).toEqual({ status, body: { reason } });
    });
  }

  it('answers 410 with the time the token died', async () => {
    const dead = 'b'.repeat(64);
    sim.unregister(dead, 1_700_000_000_000);
    const a = await post(sim.productionUrl, sim.ca, `/3/device/${dead}`, voip(), payload);
    expect({ status: a.status, body: a.body }).toEqual({
      status: 410,
      body: { reason: 'Unregistered', timestamp: 1_700_000_000_000 },
    });
  });

  it('refuses a device token of another app or environment', async () => {
    const t = 'c'.repeat(64);
    sim.addApp('com.example.other');
    sim.registerDevice(t, { bundleId: 'com.example.other', environment: 'sandbox' });
    const wrongApp = await post(sim.sandboxUrl, sim.ca, `/3/device/${t}`, voip(), payload);
    expect(wrongApp.body).toEqual({ reason: 'DeviceTokenNotForTopic' });
    const wrongEnv = await post(
      sim.productionUrl,
      sim.ca,
      `/3/device/${t}`,
      { ...voip(), 'apns-topic': 'com.example.other.voip' },
      payload,
    );
    expect(wrongEnv.body).toEqual({ reason: 'BadDeviceToken' });
    const ok = await post(
      sim.sandboxUrl,
      sim.ca,
      `/3/device/${t}`,
      { ...voip(), 'apns-topic': 'com.example.other.voip' },
      payload,
    );
    expect(ok.status).toBe(200);
    expect(ok.headers['apns-unique-id']).toEqual(expect.any(String));
  });

  it('keeps a key to its environment and a team to its topics', async () => {
    const sandboxOnly = sim.addSigningKey({ environments: ['sandbox'] });
    const a = await post(
      sim.productionUrl,
      sim.ca,
      `/3/device/${TOKEN}`,
      { ...voip(), authorization: `bearer ${jwt(sandboxOnly)}` },
      payload,
    );
    expect(a.body).toEqual({ reason: 'BadEnvironmentKeyInToken' });
    const otherTeam = sim.addSigningKey({ teamId: 'OTHERTEAM1' });
    const b = await post(
      sim.productionUrl,
      sim.ca,
      `/3/device/${TOKEN}`,
      { ...voip(), authorization: `bearer ${jwt(otherTeam)}` },
      payload,
    );
    expect(b.body).toEqual({ reason: 'TopicDisallowed' });
  });

  it('refuses a new token on a connection within 20 minutes of the last, and another key on it', async () => {
    const key = sim.addSigningKey();
    const session = http2.connect(sim.productionUrl, { ca: sim.ca });
    const send = (token: string) =>
      post(
        sim.productionUrl,
        sim.ca,
        `/3/device/${TOKEN}`,
        { ...voip(), authorization: `bearer ${token}` },
        payload,
        {},
        session,
      );
    try {
      expect((await send(jwt(key))).status).toBe(200);
      now += 5 * 60_000;
      const early = await send(jwt(key));
      expect({ status: early.status, body: early.body }).toEqual({
        status: 429,
        body: { reason: 'TooManyProviderTokenUpdates' },
      });
      // Another connection (another process) may make its own token.
      expect(
        (
          await post(
            sim.productionUrl,
            sim.ca,
            `/3/device/${TOKEN}`,
            { ...voip(), authorization: `bearer ${jwt(key)}` },
            payload,
          )
        ).status,
      ).toBe(200);
      const other = await send(jwt(sim.signingKey));
      expect(other.body).toEqual({ reason: 'UnrelatedKeyIdInToken' });
      now += 20 * 60_000;
      expect((await send(jwt(key))).status).toBe(200);
    } finally {
      session.close();
    }
    auth = jwt(sim.signingKey);
  });

  it('checks client certificates against its CA, bundle and environment', async () => {
    const cert = sim.issueClientCertificate('com.example.app', 'sandbox');
    const headers = { 'apns-topic': 'com.example.app.voip', 'apns-push-type': 'voip' };
    const ok = await post(sim.sandboxUrl, sim.ca, `/3/device/${TOKEN}`, headers, payload, cert);
    expect(ok.status).toBe(200);
    const env = await post(sim.productionUrl, sim.ca, `/3/device/${TOKEN}`, headers, payload, cert);
    expect(env.body).toEqual({ reason: 'BadCertificateEnvironment' });
    const other = await post(
      sim.sandboxUrl,
      sim.ca,
      `/3/device/${TOKEN}`,
      { ...headers, 'apns-topic': 'com.example.other.voip' },
      payload,
      cert,
    );
    expect(other.body).toEqual({ reason: 'TopicDisallowed' });
    const stranger = await startApnsSimulator();
    const foreign = stranger.issueClientCertificate('com.example.app');
    await stranger.close();
    const bad = await post(sim.sandboxUrl, sim.ca, `/3/device/${TOKEN}`, headers, payload, foreign);
    expect(bad.body).toEqual({ reason: 'BadCertificate' });
  });

  it('scripts 429 with Retry-After using the APNs error body', async () => {
    sim.fault({ kind: 'status', status: 429, retryAfter: 2 });
    const a = await post(sim.productionUrl, sim.ca, `/3/device/${TOKEN}`, voip(), payload);
    expect({ status: a.status, retryAfter: a.headers['retry-after'], body: a.body }).toEqual({
      status: 429,
      retryAfter: '2',
      body: { reason: 'TooManyRequests' },
    });
  });
});
