import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock, type DeliveryOutcome, type PushRequest } from '@pushrelay/core';
import { startFcmSimulator, type FcmSimulator, type ServiceAccountJson } from '@pushrelay/simulators';
import { Agent, request as undiciRequest } from 'undici';
import { FcmTransport, firebaseAdminTokenProvider, type FcmTransportOptions } from '../src/index.js';
import { parseServiceAccount } from '../src/internal/service-account.js';
import { signAssertion } from '../src/internal/jwt.js';

let sim: FcmSimulator;
let sa: ServiceAccountJson;
const open: FcmTransport[] = [];

beforeAll(async () => {
  sim = await startFcmSimulator();
  sa = sim.createServiceAccount('proj-a');
});
afterAll(async () => {
  await sim.close();
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
  sim.clearDeliveries();
  sim.clearFaults();
});

function transport(over: Partial<FcmTransportOptions> = {}): FcmTransport {
  const t = new FcmTransport({ credentials: [{ serviceAccount: sa }], baseUrl: sim.baseUrl, ca: sim.ca, ...over });
  open.push(t);
  return t;
}

let seq = 0;
const token = () => `device-token-${++seq}-${'x'.repeat(20)}`;
const push = (over: Partial<PushRequest> = {}): PushRequest => ({
  provider: 'fcm',
  token: token(),
  app: 'proj-a',
  environment: 'production',
  pushType: 'voip',
  priority: 'high',
  expiresAt: Date.now() + 30_000,
  payload: { data: { type: 'invite', call_id: 'c1' } },
  ...over,
});

describe('FCM transport against the simulator', () => {
  it('delivers the message with the token, ttl and priority added', async () => {
    const now = Date.now();
    const t = transport({ clock: { now: () => now } });
    const request = push({ expiresAt: now + 30_000 });
    const outcome = await t.send(request);
    expect(outcome).toEqual({
      kind: 'delivered',
      providerId: expect.stringMatching(/^projects\/proj-a\/messages\/0:/),
    });
    const [delivery] = sim.deliveries();
    expect(delivery!.payload).toEqual({
      data: { type: 'invite', call_id: 'c1' },
      android: { ttl: '30s', priority: 'HIGH' },
      token: request.token,
    });
    expect(delivery!.id).toBe((outcome as { providerId: string }).providerId);
  });

  it('mints one access token for 1000 concurrent sends', async () => {
    const local = await startFcmSimulator({ authority: sim.authority });
    try {
      const account = local.createServiceAccount('proj-a');
      const t = transport({ credentials: [{ serviceAccount: account }], baseUrl: local.baseUrl, ca: local.ca });
      const outcomes = await Promise.all(Array.from({ length: 1000 }, () => t.send(push())));
      expect(outcomes.filter((o) => o.kind === 'delivered')).toHaveLength(1000);
      expect(local.accessTokensIssued()).toBe(1);
      expect(local.requests().filter((r) => r.path === '/token')).toHaveLength(1);
      expect(local.deliveries()).toHaveLength(1000);
    } finally {
      await local.close();
    }
  });

  it('refreshes the access token five minutes before it expires', async () => {
    const clock = new ManualClock(Date.parse('2026-01-01T00:00:00Z'));
    const local = await startFcmSimulator({ authority: sim.authority, clock });
    try {
      const account = local.createServiceAccount('proj-a');
      const t = transport({ credentials: [{ serviceAccount: account }], baseUrl: local.baseUrl, ca: local.ca, clock });
      expect((await t.send(push({ expiresAt: null }))).kind).toBe('delivered');
      await clock.advance(3599_000 - 300_000 - 1000);
      expect((await t.send(push({ expiresAt: null }))).kind).toBe('delivered');
      expect(local.accessTokensIssued()).toBe(1);
      await clock.advance(2000);
      expect((await t.send(push({ expiresAt: null }))).kind).toBe('delivered');
      // The refresh ran beside that send; the next one uses the new token.
      expect((await t.send(push({ expiresAt: null }))).kind).toBe('delivered');
      expect(local.accessTokensIssued()).toBe(2);
      await clock.advance(3599_000 - 60_000);
      expect((await t.send(push({ expiresAt: null }))).kind).toBe('delivered');
      expect(local.accessTokensIssued()).toBe(3);
    } finally {
      await local.close();
    }
  });

  it('refreshes once and retries once when FCM calls the token invalid', async () => {
    const t = transport();
    expect((await t.send(push())).kind).toBe('delivered');
    const before = sim.accessTokensIssued();
    sim.revokeAccessTokens();
    const request = push();
    expect((await t.send(request)).kind).toBe('delivered');
    expect(sim.accessTokensIssued()).toBe(before + 1);
    expect(sim.requests({ token: request.token }).map((r) => r.status)).toEqual([401, 200]);
  });

  it('gives up after one retry when the new token is refused too', async () => {
    const t = transport();
    expect((await t.send(push())).kind).toBe('delivered');
    sim.fault({ kind: 'status', status: 401, reason: 'UNAUTHENTICATED', count: 2 });
    const outcome = await t.send(push());
    expect(outcome.kind).toBe('auth-failed');
  });

  it.each<[string, Parameters<FcmSimulator['fault']>[0], DeliveryOutcome['kind']]>([
    ['UNREGISTERED 404', { kind: 'status', status: 404 }, 'invalid-token'],
    ['SENDER_ID_MISMATCH 403', { kind: 'status', status: 403 }, 'invalid-token'],
    ['INVALID_ARGUMENT 400', { kind: 'status', status: 400 }, 'rejected'],
    ['QUOTA_EXCEEDED 429', { kind: 'status', status: 429, retryAfter: 17 }, 'retry'],
    ['UNAVAILABLE 503', { kind: 'status', status: 503 }, 'retry'],
    ['INTERNAL 500', { kind: 'status', status: 500 }, 'retry'],
    ['THIRD_PARTY_AUTH_ERROR 401', { kind: 'status', status: 401 }, 'auth-failed'],
    ['connection reset', { kind: 'reset' }, 'retry'],
  ])('maps %s', async (_name, fault, kind) => {
    const t = transport();
    sim.fault(fault);
    const outcome = await t.send(push());
    expect(outcome.kind).toBe(kind);
  });

  it('surfaces Retry-After as retryAfterMs', async () => {
    const t = transport();
    sim.fault({ kind: 'status', status: 429, retryAfter: 17 });
    expect(await t.send(push())).toEqual({
      kind: 'retry',
      reason: 'QUOTA_EXCEEDED: Simulated QUOTA_EXCEEDED.',
      retryAfterMs: 17_000,
      scope: 'credential',
    });
    sim.fault({ kind: 'status', status: 503, retryAfter: 2 });
    expect(await t.send(push())).toEqual({
      kind: 'retry',
      reason: 'UNAVAILABLE: Simulated UNAVAILABLE.',
      retryAfterMs: 2000,
    });
  });

  it('reports tokens FCM knows are dead, malformed or from another project as invalid', async () => {
    const t = transport();
    const dead = push();
    sim.unregister(dead.token);
    expect(await t.send(dead)).toEqual({
      kind: 'invalid-token',
      reason: 'UNREGISTERED: Requested entity was not found.',
    });
    expect((await t.send(push({ token: 'short' }))).kind).toBe('invalid-token');
    const foreign = push();
    sim.bindToken(foreign.token, 'proj-other');
    expect((await t.send(foreign)).kind).toBe('invalid-token');
    expect(sim.deliveries()).toEqual([]);
  });

  it('picks the credential by project id when several projects share a process', async () => {
    const other = sim.createServiceAccount('proj-b');
    const t = transport({ credentials: [{ serviceAccount: sa }, { serviceAccount: JSON.stringify(other) }] });
    expect((await t.send(push({ app: 'proj-a' }))).kind).toBe('delivered');
    expect((await t.send(push({ app: 'proj-b' }))).kind).toBe('delivered');
    expect(sim.deliveries().map((d) => d.id.split('/')[1])).toEqual(['proj-a', 'proj-b']);
    expect(await t.send(push({ app: 'proj-c' }))).toEqual({
      kind: 'rejected',
      reason: 'fcm: app: no credential for Firebase project "proj-c"',
    });
  });

  it('answers auth-failed when the token endpoint refuses the key', async () => {
    const stranger = await startFcmSimulator({ authority: sim.authority });
    const unknown = stranger.createServiceAccount('proj-a');
    await stranger.close();
    const t = transport({ credentials: [{ serviceAccount: unknown }], tokenUrl: sim.tokenUrl });
    const outcome = await t.send(push());
    expect(outcome.kind).toBe('auth-failed');
    expect((outcome as { reason: string }).reason).toMatch(/invalid_grant/);
  });

  it('loses no push and sends none twice when FCM sends GOAWAY mid-burst', { timeout: 30_000 }, async () => {
    const t = transport({ connections: 1 });
    sim.fault({ kind: 'goaway', afterStreams: 40 });
    const requests = Array.from({ length: 300 }, () => push());
    const outcomes = await Promise.all(requests.map((r) => t.send(r)));
    const delivered = sim.deliveries().map((d) => d.token);
    expect(new Set(delivered).size).toBe(delivered.length);
    const wrong = requests.flatMap((r, i) => {
      const times = delivered.filter((tk) => tk === r.token).length;
      const ok = outcomes[i]!.kind === 'delivered' ? times === 1 : times === 0;
      return ok ? [] : [[outcomes[i], times]];
    });
    expect(wrong).toEqual([]);
    requests.forEach((r, i) => {
      const times = delivered.filter((tk) => tk === r.token).length;
      // Every push either reached the device once and says so, or did not and asks for a retry.
      expect([outcomes[i]!.kind, times]).toEqual(outcomes[i]!.kind === 'delivered' ? ['delivered', 1] : ['retry', 0]);
    });
    expect(outcomes.filter((o) => o.kind === 'delivered').length).toBeGreaterThan(0);
  });

  it('lets in-flight sends finish on close', async () => {
    const t = transport();
    expect((await t.send(push())).kind).toBe('delivered');
    sim.fault({ kind: 'slow', delayMs: 150, count: 5 });
    const sends = Array.from({ length: 5 }, () => t.send(push()));
    await new Promise((r) => setTimeout(r, 20));
    await t.close();
    expect((await Promise.all(sends)).map((o) => o.kind)).toEqual(Array(5).fill('delivered'));
    expect(await t.send(push())).toEqual({ kind: 'retry', reason: 'transport is closing' });
  });

  it('takes access tokens from a firebase-admin credential', async () => {
    let calls = 0;
    const dispatcher = new Agent({ connect: { ca: sim.ca } });
    const parsed = parseServiceAccount(sa);
    // A stand-in for firebase-admin's applicationDefault(): it only has getAccessToken().
    const credential = {
      async getAccessToken() {
        calls++;
        const res = await undiciRequest(sim.tokenUrl, {
          method: 'POST',
          dispatcher,
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({
            grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
            assertion: signAssertion(parsed, sim.tokenUrl, Date.now()),
          }).toString(),
        });
        return (await res.body.json()) as { access_token: string; expires_in: number };
      },
    };
    const t = transport({
      credentials: [{ projectId: 'proj-a', tokenProvider: firebaseAdminTokenProvider(credential) }],
    });
    const outcomes = await Promise.all(Array.from({ length: 20 }, () => t.send(push())));
    expect(outcomes.every((o) => o.kind === 'delivered')).toBe(true);
    expect(calls).toBe(1);
    await dispatcher.close();
  });
});
