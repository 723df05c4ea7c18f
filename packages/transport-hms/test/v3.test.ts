import { constants, createPrivateKey as createPrivateKeyImpl, createPublicKey, verify } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Agent, request as undiciRequest } from 'undici';
import { ManualClock, TransportError, type PushRequest } from '@pushrelay/core';
import { startHmsSimulator, type HmsApp, type HmsSimulator } from '@pushrelay/simulators';
import {
  HMS_JWT_AUDIENCE,
  HmsTransport,
  ServiceAccountJwtProvider,
  buildV3Message,
  illegalTokensV3,
  mapHmsV3Answer,
  readHmsAnswer,
  type HmsTransportOptions,
} from '../src/index.js';

let sim: HmsSimulator;
let legacy: HmsApp; // an HMS Core (Android, HarmonyOS 4) app on the v2 API
let next: HmsApp; // a HarmonyOS NEXT app on the v3 API
let both: HmsApp; // one app with an OAuth secret and a service account
const open: HmsTransport[] = [];

beforeAll(async () => {
  sim = await startHmsSimulator();
  legacy = sim.registerApp('107000001', { projectId: '388421841201' });
  next = sim.registerApp('5765880207855002', { projectId: '388421841202', serviceAccount: true });
  both = sim.registerApp('5765880207855003', { projectId: '388421841203', serviceAccount: true });
});
afterAll(async () => {
  await sim.close();
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
  sim.clearDeliveries();
  sim.clearFaults();
});

function transport(over: Partial<HmsTransportOptions> = {}): HmsTransport {
  const t = new HmsTransport({
    credentials: [
      { appId: legacy.appId, clientSecret: legacy.clientSecret, projectId: legacy.projectId! },
      { appId: next.appId, projectId: next.projectId!, serviceAccount: next.serviceAccount! },
    ],
    baseUrl: sim.baseUrl,
    tokenUrl: sim.tokenUrl,
    ca: sim.ca,
    ...over,
  });
  open.push(t);
  return t;
}

let seq = 0;
const token = () => `MAAALgE4G98B${++seq}AAAAst${'q'.repeat(16)}`;
const push = (over: Partial<PushRequest> = {}): PushRequest => ({
  provider: 'hms',
  token: token(),
  app: next.appId,
  environment: 'production',
  pushType: 'voip',
  priority: 'high',
  expiresAt: null,
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

describe('a v2 app and a v3 app side by side in one transport', () => {
  it('sends each through its own API with its own credential', async () => {
    const t = transport();
    const oldPhone = push({ app: legacy.appId, token: `IQAAAACy0kVbAADb${'v'.repeat(16)}` });
    const newPhone = push();
    const [a, b] = await Promise.all([t.send(oldPhone), t.send(newPhone)]);
    expect(a).toEqual({ kind: 'delivered', providerId: expect.stringMatching(/^\d+$/) });
    expect(b).toEqual({ kind: 'delivered', providerId: expect.stringMatching(/^\d+$/) });
    expect(sim.deliveries({ token: oldPhone.token }).map((d) => d.payload)).toEqual([
      {
        data: JSON.stringify({ type: 'invite', call_id: 'c1' }),
        android: { category: 'VOIP', urgency: 'HIGH', ttl: '1s' },
        token: [oldPhone.token],
      },
    ]);
    expect(sim.deliveries({ token: newPhone.token }).map((d) => [d.headers['push-type'], d.payload])).toEqual([
      [
        '10',
        {
          payload: { extraData: JSON.stringify({ type: 'invite', call_id: 'c1' }) },
          pushOptions: { ttl: 1 },
          target: { token: [newPhone.token] },
        },
      ],
    ]);
    const paths = sim.requests().map((r) => r.path);
    expect(paths).toContain(`/v2/${legacy.projectId}/messages:send`);
    expect(paths).toContain(`/v3/${next.projectId}/messages:send`);
    // The v2 app minted one OAuth token; the v3 app never asked the token endpoint.
    expect(sim.accessTokensIssued(legacy.appId)).toBe(1);
    expect(sim.accessTokensIssued(next.appId)).toBe(0);
    expect(sim.jwtsSeen(next.appId)).toBe(1);
  });

  it('lets one push pick the API of an app that has both credentials (headers["hms-api"])', async () => {
    const t = transport({
      credentials: [
        {
          appId: both.appId,
          clientSecret: both.clientSecret,
          projectId: both.projectId!,
          serviceAccount: both.serviceAccount!,
        },
      ],
    });
    const v2 = push({ app: both.appId });
    const v3 = push({ app: both.appId, headers: { 'hms-api': 'v3' } });
    expect((await t.send(v2)).kind).toBe('delivered');
    expect((await t.send(v3)).kind).toBe('delivered');
    expect(sim.requests({ token: v2.token }).map((r) => r.path)).toEqual([`/v2/${both.projectId}/messages:send`]);
    expect(sim.requests({ token: v3.token }).map((r) => r.path)).toEqual([`/v3/${both.projectId}/messages:send`]);
    expect(sim.deliveries({ token: v3.token })[0]!.headers).not.toHaveProperty('hms-api');
  });

  it('refuses a push asking for an API its app has no credential for, without sending', async () => {
    const outcome = await transport().send(push({ app: legacy.appId, headers: { 'hms-api': 'v3' } }));
    expect(outcome).toEqual({
      kind: 'rejected',
      reason: 'hms: headers.hms-api: app 107000001 has no credential for the v3 API',
    });
    expect(sim.requests()).toEqual([]);
  });
});

describe('v3 service-account JWT', () => {
  it('is PS256 with kid, iss = sub_account, Huawei audience and an hour of life', async () => {
    const clock = new ManualClock('2026-12-04T10:00:00Z');
    const account = next.serviceAccount!;
    const { accessToken, expiresAt } = await new ServiceAccountJwtProvider(
      { keyId: account.keyId, subAccount: account.subAccount, privateKey: createPrivateKeyOf(account.privateKey) },
      () => clock.now(),
    ).getAccessToken();
    const [head, claims, signature] = accessToken.split('.') as [string, string, string];
    const json = (part: string) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as unknown;
    const iat = Date.parse('2026-12-04T10:00:00Z') / 1000;
    expect(json(head)).toEqual({ kid: account.keyId, typ: 'JWT', alg: 'PS256' });
    expect(json(claims)).toEqual({ aud: HMS_JWT_AUDIENCE, iss: account.subAccount, iat, exp: iat + 3600 });
    expect(expiresAt).toBe((iat + 3600) * 1000);
    const ok = verify(
      'sha256',
      Buffer.from(`${head}.${claims}`),
      {
        key: createPublicKey(account.privateKey),
        padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
      },
      Buffer.from(signature, 'base64url'),
    );
    expect(ok).toBe(true);
  });

  it('is reused across sends and signed anew once when Huawei answers 80200005', async () => {
    const t = transport();
    const before = sim.jwtsSeen(next.appId);
    expect((await t.send(push())).kind).toBe('delivered');
    expect((await t.send(push())).kind).toBe('delivered');
    expect(sim.jwtsSeen(next.appId)).toBe(before + 1);
    sim.expireAccessTokens();
    const again = push();
    expect((await t.send(again)).kind).toBe('delivered');
    expect(sim.jwtsSeen(next.appId)).toBe(before + 2);
    expect(sim.requests({ token: again.token }).map((r) => r.reason)).toEqual(['80200005', '80000000']);
  });

  it('takes the key file as AppGallery hands it out (key_id, sub_account, private_key, project_id)', async () => {
    const account = next.serviceAccount!;
    const t = transport({
      credentials: [
        {
          appId: next.appId,
          serviceAccount: {
            project_id: next.projectId!,
            key_id: account.keyId,
            sub_account: account.subAccount,
            private_key: account.privateKey,
          },
        },
      ],
    });
    expect((await t.send(push())).kind).toBe('delivered');
    // The same file as its text, as a config reads it from disk.
    const text = JSON.stringify({
      project_id: next.projectId!,
      key_id: account.keyId,
      sub_account: account.subAccount,
      private_key: account.privateKey,
    });
    const fromFile = transport({ credentials: [{ appId: next.appId, serviceAccount: text }] });
    expect((await fromFile.send(push())).kind).toBe('delivered');
  });

  it('checks credentials in the constructor, naming the field', () => {
    const base = { appId: next.appId, serviceAccount: next.serviceAccount! };
    const make = (credential: Record<string, unknown>) => () =>
      new HmsTransport({ credentials: [credential as never], baseUrl: sim.baseUrl });
    expect(thrown(make(base)).field).toBe('credentials[0].projectId');
    expect(
      thrown(make({ ...base, projectId: '1', serviceAccount: { ...next.serviceAccount!, privateKey: 'nope' } })).field,
    ).toBe('credentials[0].serviceAccount.privateKey');
    expect(thrown(make({ appId: 'a', projectId: '1', api: 'v3', clientSecret: 's' })).field).toBe(
      'credentials[0].serviceAccount',
    );
    expect(thrown(make({ ...base, projectId: '1', api: 'v2' })).field).toBe('credentials[0].clientSecret');
    expect(thrown(make({ ...base, projectId: '1', api: 'v4' })).field).toBe('credentials[0].api');
    expect(thrown(make({ appId: 'a', serviceAccount: '{not json' })).field).toBe('credentials[0].serviceAccount');
  });
});

describe('v3 answers through the simulator', () => {
  it('maps a partial success per token by the reason Huawei names', async () => {
    const t = transport();
    const good = token();
    const other = token();
    sim.bindToken(other, legacy.appId);
    const outcomes = await t.sendToTokens(push(), [good, 'short', other]);
    expect(outcomes).toEqual([
      { kind: 'delivered', providerId: expect.any(String) },
      { kind: 'invalid-token', reason: '80100000: tokenFormatError' },
      { kind: 'invalid-token', reason: '80100000: noRight' },
    ]);
    expect(sim.deliveries().map((d) => d.token)).toEqual([good]);
  });

  it('keeps the bindings of a project that never delivered once it hears noRight too often', async () => {
    const t = transport({ unprovenInvalidTokenLimit: 1 });
    const stranger = () => {
      const t2 = token();
      sim.bindToken(t2, legacy.appId);
      return t2;
    };
    expect((await t.send(push({ token: stranger() }))).kind).toBe('invalid-token');
    expect(await t.send(push({ token: stranger() }))).toEqual({
      kind: 'rejected',
      reason: '80300007: noRight (token of another project or wrong project id; binding kept)',
    });
  });

  it('sends alerts as push-type 0 and background data as push-type 6, ttl from the expiry', async () => {
    const clock = new ManualClock(Date.now());
    const t = transport({ clock });
    const alert = push({
      pushType: 'alert',
      priority: 'normal',
      expiresAt: clock.now() + 30_000,
      payload: { notification: { title: 'Missed call', body: 'Alice' }, android: { category: 'MISS_CALL' } },
    });
    const background = push({ pushType: 'background', payload: { data: '{"type":"sync"}' } });
    expect((await t.send(alert)).kind).toBe('delivered');
    expect((await t.send(background)).kind).toBe('delivered');
    expect(sim.deliveries({ token: alert.token }).map((d) => [d.headers['push-type'], d.payload])).toEqual([
      [
        '0',
        {
          payload: {
            notification: {
              category: 'MISS_CALL',
              title: 'Missed call',
              body: 'Alice',
              clickAction: { actionType: 0 },
            },
          },
          pushOptions: { ttl: 30 },
          target: { token: [alert.token] },
        },
      ],
    ]);
    expect(sim.deliveries({ token: background.token }).map((d) => [d.headers['push-type'], d.payload])).toEqual([
      [
        '6',
        { payload: { extraData: '{"type":"sync"}' }, pushOptions: { ttl: 1 }, target: { token: [background.token] } },
      ],
    ]);
  });

  it('sends test messages with testMessage and at most 10 tokens', async () => {
    const t = transport({
      credentials: [
        { appId: next.appId, projectId: next.projectId!, serviceAccount: next.serviceAccount!, testMessage: true },
      ],
    });
    const one = push();
    expect((await t.send(one)).kind).toBe('delivered');
    expect(sim.deliveries({ token: one.token })[0]!.payload).toMatchObject({ pushOptions: { testMessage: true } });
    const eleven = Array.from({ length: 11 }, token);
    expect(await t.sendToTokens(push(), eleven)).toEqual(
      eleven.map(() => ({ kind: 'rejected', reason: 'hms: token: 1 to 10 tokens per test message' })),
    );
  });

  it('passes a v3 body a codec built as it is, with the target set', async () => {
    const t = transport();
    const live = push({
      headers: { 'push-type': '7' },
      payload: { payload: { activityId: 1, operation: 0 }, pushOptions: { ttl: 60, biTag: 'b1' } },
    });
    expect((await t.send(live)).kind).toBe('delivered');
    expect(sim.deliveries({ token: live.token })[0]!.payload).toEqual({
      payload: { activityId: 1, operation: 0 },
      pushOptions: { ttl: 60, biTag: 'b1' },
      target: { token: [live.token] },
    });
  });
});

describe('the v3 simulator', () => {
  it('gives each service-account app its own project and key', () => {
    const a = sim.registerApp('5765880207857001', { serviceAccount: true });
    const b = sim.registerApp('5765880207857002', { serviceAccount: true });
    expect(a.projectId).not.toBe(b.projectId);
    expect(a.serviceAccount!.keyId).not.toBe(b.serviceAccount!.keyId);
    expect(a.serviceAccount!.subAccount).not.toBe(b.serviceAccount!.subAccount);
  });

  const post = async (path: string, headers: Record<string, string>, body: unknown) => {
    const agent = new Agent({ connect: { ca: sim.ca } });
    try {
      const answer = await undiciRequest(`${sim.baseUrl}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
        dispatcher: agent,
      });
      return { status: answer.statusCode, body: (await answer.body.json()) as { code: string; msg: string } };
    } finally {
      await agent.close();
    }
  };

  it('takes no OAuth token on v3, and wants a push-type header and a target', async () => {
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: both.appId,
      client_secret: both.clientSecret,
    });
    const agent = new Agent({ connect: { ca: sim.ca } });
    const minted = await undiciRequest(sim.tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
      dispatcher: agent,
    });
    const { access_token: oauth } = (await minted.body.json()) as { access_token: string };
    await agent.close();
    const path = `/v3/${both.projectId}/messages:send`;
    const body = { payload: { extraData: '{}' }, target: { token: [token()] } };
    const refused = await post(path, { authorization: `Bearer ${oauth}`, 'push-type': '10' }, body);
    expect(refused.status).toBe(401);
    expect(refused.body.code).toBe('80200001');
    const { accessToken: jwt } = await new ServiceAccountJwtProvider(
      {
        keyId: both.serviceAccount!.keyId,
        subAccount: both.serviceAccount!.subAccount,
        privateKey: createPrivateKeyOf(both.serviceAccount!.privateKey),
      },
      Date.now,
    ).getAccessToken();
    expect((await post(path, { authorization: `Bearer ${jwt}` }, body)).body.code).toBe('80100001');
    expect((await post(path, { authorization: `Bearer ${jwt}`, 'push-type': '10' }, { payload: {} })).body.code).toBe(
      '80100001',
    );
    expect(
      (await post(path, { authorization: `Bearer ${jwt}`, 'push-type': '10' }, { ...body, payload: {} })).body.code,
    ).toBe('80100003');
    expect((await post(path, { authorization: `Bearer ${jwt}`, 'push-type': '10' }, body)).body.code).toBe('80000000');
    // A JWT of this project's key does not open another project.
    expect(
      (await post(`/v3/${next.projectId}/messages:send`, { authorization: `Bearer ${jwt}`, 'push-type': '10' }, body))
        .body.code,
    ).toBe('80200001');
  });
});

describe('v3 message and answers', () => {
  it('refuses what Huawei would, naming the field', () => {
    expect(thrown(() => buildV3Message(push({ payload: {} }), ['t'], 0, false)).field).toBe('payload.data');
    expect(
      thrown(() => buildV3Message(push({ pushType: 'alert', payload: { data: 'x' } }), ['t'], 0, false)).field,
    ).toBe('payload.notification');
    expect(
      thrown(() => buildV3Message(push({ payload: { payload: {}, pushOptions: { ttl: 0 } } }), ['t'], 0, false)).field,
    ).toBe('payload.pushOptions.ttl');
    expect(thrown(() => buildV3Message(push(), [], 0, false)).field).toBe('token');
  });

  const ctx = { trustAllInvalid: true, retryAfterMs: undefined };
  it.each([
    [200, '80000000', 'delivered'],
    [400, '80100001', 'rejected'],
    [400, '80100003', 'rejected'],
    [400, '80100004', 'rejected'],
    [400, '80100022', 'rejected'],
    [401, '80200001', 'auth-failed'],
    [401, '80200005', 'auth-failed'],
    [403, '80300002', 'auth-failed'],
    [400, '80300007', 'invalid-token'],
    [400, '80300008', 'rejected'],
    [400, '80300010', 'rejected'],
    [400, '80300029', 'retry'],
    [400, '80300030', 'rejected'],
    [401, '80300036', 'auth-failed'],
    [403, '80300037', 'auth-failed'],
    [500, '81000001', 'retry'],
    [503, '80300020', 'retry'],
    [502, '99999999', 'retry'],
  ])('HTTP %i code %s -> %s', (status, code, kind) => {
    const answer = readHmsAnswer({ code, msg: 'm', requestId: 'r' });
    expect(mapHmsV3Answer(status, answer, ['a'], ctx).map((o) => o.kind)).toEqual([kind]);
  });

  it('reads the reasons of the illegal tokens', () => {
    const msg = JSON.stringify({
      illegalTokens: { tokenFormatError: ['a'], noPushTypeRight: ['b'], countryNotSupport: ['c'], appinfoError: ['d'] },
      success: 1,
      failure: 4,
    });
    expect([...illegalTokensV3(msg)]).toEqual([
      ['a', 'tokenFormatError'],
      ['b', 'noPushTypeRight'],
      ['c', 'countryNotSupport'],
      ['d', 'appinfoError'],
    ]);
    const answer = readHmsAnswer({ code: '80100000', msg, requestId: 'r' });
    expect(mapHmsV3Answer(200, answer, ['a', 'b', 'c', 'd', 'e'], ctx)).toEqual([
      { kind: 'invalid-token', reason: '80100000: tokenFormatError' },
      { kind: 'auth-failed', reason: '80100000: noPushTypeRight' },
      { kind: 'rejected', reason: '80100000: countryNotSupport' },
      { kind: 'retry', reason: '80100000: appinfoError' },
      { kind: 'delivered', providerId: 'r' },
    ]);
  });
});

function createPrivateKeyOf(pem: string) {
  return createPrivateKeyImpl(pem);
}
