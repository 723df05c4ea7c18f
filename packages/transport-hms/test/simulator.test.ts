import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock, TransportError, type DeliveryOutcome, type PushRequest } from '@pushrelay/core';
import { startHmsSimulator, type HmsApp, type HmsSimulator } from '@pushrelay/simulators';
import { HmsTransport, buildMessage, type HmsTransportOptions } from '../src/index.js';

let sim: HmsSimulator;
let app: HmsApp;
const open: HmsTransport[] = [];

beforeAll(async () => {
  sim = await startHmsSimulator();
  app = sim.registerApp('10001');
});
afterAll(async () => {
  await sim.close();
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
  sim.clearDeliveries();
  sim.clearFaults();
});

function transport(over: Partial<HmsTransportOptions> = {}, target: HmsSimulator = sim): HmsTransport {
  const t = new HmsTransport({
    credentials: [{ appId: app.appId, clientSecret: app.clientSecret }],
    baseUrl: target.baseUrl,
    tokenUrl: target.tokenUrl,
    ca: target.ca,
    ...over,
  });
  open.push(t);
  return t;
}

let seq = 0;
const token = () => `IQAAAACy0${++seq}kVbAADbvLqAA${'z'.repeat(16)}`;
const push = (over: Partial<PushRequest> = {}): PushRequest => ({
  provider: 'hms',
  token: token(),
  app: '10001',
  environment: 'production',
  pushType: 'voip',
  priority: 'high',
  expiresAt: Date.now() + 30_000,
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

describe('HMS message', () => {
  it('sets the token array, VOIP category, HIGH urgency and ttl from the expiry', () => {
    expect(buildMessage(push({ token: 't1', expiresAt: 1_030_000 }), ['t1'], 1_000_000)).toEqual({
      data: '{"type":"invite","call_id":"c1"}',
      android: { category: 'VOIP', urgency: 'HIGH', ttl: '30s' },
      token: ['t1'],
    });
  });

  it('keeps what the payload sets', () => {
    const payload = { data: '{"a":1}', android: { category: 'IM', urgency: 'NORMAL', ttl: '5s' } };
    expect(buildMessage(push({ payload, token: 't1' }), ['t1'], 0)).toEqual({ ...payload, token: ['t1'] });
  });

  it.each([
    ['payload.token', { token: ['x'] }],
    ['payload.data', { data: 42 }],
    ['payload.android.urgency', { android: { urgency: 'URGENT' } }],
    ['payload.android.ttl', { android: { ttl: 30 } }],
    ['payload', { data: 'x'.repeat(5000) }],
  ])('refuses what Huawei would refuse (%s)', (field, payload) => {
    expect(thrown(() => buildMessage(push({ payload }), ['t1'], 0)).field).toBe(field);
  });

  it.each([
    ['credentials[0].clientSecret', [{ appId: '1' }]],
    ['credentials[0].appId', [{ appId: '', clientSecret: 's' }]],
    [
      'credentials[1].appId',
      [
        { appId: '1', clientSecret: 's' },
        { appId: 'a b', clientSecret: 's' },
      ],
    ],
    ['credentials', []],
  ])('names %s when credentials are malformed', (field, credentials) => {
    expect(thrown(() => new HmsTransport({ credentials: credentials as never })).field).toBe(field);
  });
});

describe('HMS transport against the simulator', () => {
  it('delivers with v1 and v2 paths', async () => {
    const v2 = sim.registerApp('20002', { projectId: '388421841222199999' });
    const t = transport({
      credentials: [
        { appId: app.appId, clientSecret: app.clientSecret },
        { appId: v2.appId, clientSecret: v2.clientSecret, projectId: v2.projectId! },
      ],
    });
    const one = push();
    const two = push({ app: '20002' });
    expect(await t.send(one)).toEqual({ kind: 'delivered', providerId: expect.any(String) });
    expect((await t.send(two)).kind).toBe('delivered');
    expect(
      sim
        .requests()
        .filter((r) => r.path.endsWith('messages:send'))
        .map((r) => r.path),
    ).toEqual(['/v1/10001/messages:send', '/v2/388421841222199999/messages:send']);
    expect(sim.deliveries()[0]!.payload).toEqual({
      data: '{"type":"invite","call_id":"c1"}',
      android: { category: 'VOIP', urgency: 'HIGH', ttl: expect.stringMatching(/^(29|30)s$/) },
      token: [one.token],
    });
  });

  it('mints one access token for 1000 concurrent sends', async () => {
    const local = await startHmsSimulator({ authority: sim.authority });
    try {
      const localApp = local.registerApp('10001');
      const t = transport({ credentials: [{ appId: '10001', clientSecret: localApp.clientSecret }] }, local);
      const outcomes = await Promise.all(Array.from({ length: 1000 }, () => t.send(push())));
      expect(outcomes.filter((o) => o.kind === 'delivered')).toHaveLength(1000);
      expect(local.accessTokensIssued()).toBe(1);
      expect(local.deliveries()).toHaveLength(1000);
    } finally {
      await local.close();
    }
  });

  it('refreshes the access token before it expires', async () => {
    const clock = new ManualClock(Date.parse('2026-01-01T00:00:00Z'));
    const local = await startHmsSimulator({ authority: sim.authority, clock });
    try {
      const localApp = local.registerApp('10001');
      const t = transport({ credentials: [{ appId: '10001', clientSecret: localApp.clientSecret }], clock }, local);
      expect((await t.send(push({ expiresAt: null }))).kind).toBe('delivered');
      await clock.advance(3600_000 - 301_000);
      expect((await t.send(push({ expiresAt: null }))).kind).toBe('delivered');
      expect(local.accessTokensIssued()).toBe(1);
      await clock.advance(2000);
      expect((await t.send(push({ expiresAt: null }))).kind).toBe('delivered');
      expect((await t.send(push({ expiresAt: null }))).kind).toBe('delivered');
      expect(local.accessTokensIssued()).toBe(2);
    } finally {
      await local.close();
    }
  });

  it('refreshes once and retries once on 80200003', async () => {
    const t = transport();
    expect((await t.send(push())).kind).toBe('delivered');
    const before = sim.accessTokensIssued();
    sim.expireAccessTokens();
    const request = push();
    expect((await t.send(request)).kind).toBe('delivered');
    expect(sim.accessTokensIssued()).toBe(before + 1);
    expect(sim.requests({ token: request.token }).map((r) => [r.status, r.reason ?? null])).toEqual([
      [401, '80200003'],
      [200, '80000000'],
    ]);
    sim.fault({ kind: 'status', status: 401, reason: '80200003', count: 2 });
    expect((await t.send(push())).kind).toBe('auth-failed');
  });

  it('reports only the illegal tokens of a partial success as invalid', async () => {
    const t = transport();
    const tokens = [token(), token(), 'bad', token()];
    sim.unregister(tokens[3]!);
    const outcomes = await t.sendToTokens(push(), tokens);
    expect(outcomes.map((o) => o.kind)).toEqual(['delivered', 'delivered', 'invalid-token', 'invalid-token']);
    expect(
      sim
        .deliveries()
        .map((d) => d.token)
        .sort(),
    ).toEqual([tokens[0], tokens[1]].sort());
  });

  it('keeps bindings when 80300007 may mean a wrong app id, and trusts it once the app has delivered', async () => {
    const fresh = sim.registerApp('30003');
    const t = transport({
      credentials: [{ appId: '30003', clientSecret: fresh.clientSecret }],
      unprovenInvalidTokenLimit: 1,
    });
    const foreign = [push({ app: '30003' }), push({ app: '30003' }), push({ app: '30003' })];
    for (const f of foreign) sim.bindToken(f.token, '10001');
    expect((await t.send(foreign[0]!)).kind).toBe('invalid-token');
    expect((await t.send(foreign[1]!)).kind).toBe('rejected');
    expect((await t.send(push({ app: '30003' }))).kind).toBe('delivered');
    expect((await t.send(foreign[2]!)).kind).toBe('invalid-token');
  });

  it.each<[string, Parameters<HmsSimulator['fault']>[0], DeliveryOutcome['kind']]>([
    ['80300002 no permission', { kind: 'status', status: 403, reason: '80300002' }, 'auth-failed'],
    ['80300008 too big', { kind: 'status', status: 400, reason: '80300008' }, 'rejected'],
    ['80100001 bad parameters', { kind: 'status', status: 400, reason: '80100001' }, 'rejected'],
    ['81000001 internal error', { kind: 'status', status: 500, reason: '81000001' }, 'retry'],
    ['80200001 auth error', { kind: 'status', status: 401, reason: '80200001' }, 'auth-failed'],
    ['HTTP 503 flow control', { kind: 'status', status: 503 }, 'retry'],
    ['HTTP 502 without a code', { kind: 'status', status: 502, body: 'Bad Gateway' }, 'retry'],
    ['connection reset', { kind: 'reset' }, 'retry'],
  ])('maps %s', async (_name, fault, kind) => {
    const t = transport();
    sim.fault(fault);
    expect((await t.send(push())).kind).toBe(kind);
  });

  it('answers 80300002 from the simulator for an app without push permission', async () => {
    const denied = sim.registerApp('40004');
    sim.denyPermission('40004');
    const t = transport({ credentials: [{ appId: '40004', clientSecret: denied.clientSecret }] });
    expect(await t.send(push({ app: '40004' }))).toEqual({
      kind: 'auth-failed',
      reason: '80300002: The current app does not have the permission to send messages.',
    });
  });

  it('surfaces Retry-After of a flow-control 503 as retryAfterMs', async () => {
    const t = transport();
    sim.fault({ kind: 'status', status: 503, retryAfter: 9 });
    expect(await t.send(push())).toEqual({
      kind: 'retry',
      reason: 'flow control (HTTP 503): 80300020 Flow control.',
      retryAfterMs: 9000,
      scope: 'credential',
    });
  });

  it('answers auth-failed for a wrong app secret', async () => {
    const t = transport({ credentials: [{ appId: app.appId, clientSecret: 'wrong' }] });
    const outcome = await t.send(push());
    expect(outcome.kind).toBe('auth-failed');
    expect((outcome as { reason: string }).reason).toMatch(/invalid client/);
  });

  it('loses no push and sends none twice on GOAWAY mid-burst', async () => {
    const t = transport({ connections: 1 });
    sim.fault({ kind: 'goaway', afterStreams: 40 });
    const requests = Array.from({ length: 300 }, () => push());
    const outcomes = await Promise.all(requests.map((r) => t.send(r)));
    const delivered = sim.deliveries().map((d) => d.token);
    const wrong = requests.flatMap((r, i) => {
      const times = delivered.filter((tk) => tk === r.token).length;
      const ok = outcomes[i]!.kind === 'delivered' ? times === 1 : outcomes[i]!.kind === 'retry' && times === 0;
      return ok ? [] : [[outcomes[i], times]];
    });
    expect(wrong).toEqual([]);
  });

  it('lets in-flight sends finish on close', async () => {
    const t = transport();
    expect((await t.send(push())).kind).toBe('delivered');
    sim.fault({ kind: 'slow', delayMs: 150, count: 3 });
    const sends = Array.from({ length: 3 }, () => t.send(push()));
    await new Promise((r) => setTimeout(r, 20));
    await t.close();
    expect((await Promise.all(sends)).map((o) => o.kind)).toEqual(['delivered', 'delivered', 'delivered']);
  });
});
