import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TransportError, webPushToken, type PushRequest } from '@pushrelay/core';
import { startWebPushSimulator, type WebPushSimulator } from '@pushrelay/simulators';
import {
  WebPushTransport,
  generateVapidKeys,
  isPrivateAddress,
  mapWebPushAnswer,
  topicOf,
  webPushEndpointProblem,
} from '../src/index.js';
import { publicOnlyLookup } from '../src/internal/endpoint.js';

const vapid = { app: 'web.example.com', subject: 'mailto:ops@example.com', ...generateVapidKeys() };
const T = Date.parse('2026-03-01T12:00:00.000Z');
const clock = { now: () => T };
let sim: WebPushSimulator;

beforeAll(async () => {
  sim = await startWebPushSimulator({ clock });
});
afterAll(async () => {
  await sim.close();
});

const push = (token: string, over: Partial<PushRequest> = {}): PushRequest => ({
  provider: 'webpush',
  token,
  app: vapid.app,
  environment: 'production',
  pushType: 'alert',
  priority: 'high',
  expiresAt: T + 30_000,
  collapseId: 'call-1560784195.313',
  payload: { type: 'incoming_call', call: { id: '1560784195.313', from: { number: '8001', displayName: 'Bob' } } },
  ...over,
});

async function withTransport<T>(
  body: (t: WebPushTransport) => Promise<T>,
  options: Partial<ConstructorParameters<typeof WebPushTransport>[0]> = {},
): Promise<T> {
  const transport = new WebPushTransport({
    vapid: [vapid],
    ca: sim.ca,
    clock,
    allowInsecureEndpoints: true,
    ...options,
  });
  try {
    return await body(transport);
  } finally {
    await transport.close();
  }
}

describe('transport-webpush against the Web Push simulator', () => {
  it('sends what the browser decrypts to the whole payload, with TTL, Urgency, Topic and a verified VAPID JWT', async () => {
    const sub = sim.subscribe({ applicationServerKey: vapid.publicKey });
    const outcome = await withTransport((t) => t.send(push(sub.token)));
    const [received] = sim.received(sub.token);
    expect(outcome).toEqual({ kind: 'delivered', providerId: `${sim.url}/message/${received!.id}` });
    expect(sim.received(sub.token)).toEqual([
      {
        token: sub.token,
        text: '{"type":"incoming_call","call":{"id":"1560784195.313","from":{"number":"8001","displayName":"Bob"}}}',
        json: { type: 'incoming_call', call: { id: '1560784195.313', from: { number: '8001', displayName: 'Bob' } } },
        ttl: 30,
        urgency: 'high',
        topic: topicOf('call-1560784195.313'),
        vapid: { aud: sim.url, exp: T / 1000 + 12 * 3600, sub: 'mailto:ops@example.com', publicKey: vapid.publicKey },
        receivedAt: T,
        id: received!.id,
      },
    ]);
  });

  it('maps a normal-priority push without expiry to Urgency normal and TTL 0, a short collapse id to itself', async () => {
    const sub = sim.subscribe();
    await withTransport((t) =>
      t.send(push(sub.token, { priority: 'normal', expiresAt: null, collapseId: 'missed-calls' })),
    );
    expect(sim.received(sub.token).map((r) => [r.ttl, r.urgency, r.topic])).toEqual([[0, 'normal', 'missed-calls']]);
  });

  it('is refused by the push service when the subscription was made with another VAPID key', async () => {
    const sub = sim.subscribe({ applicationServerKey: generateVapidKeys().publicKey });
    const outcome = await withTransport((t) => t.send(push(sub.token)));
    expect(outcome).toEqual({
      kind: 'auth-failed',
      reason: '403 the VAPID key is not the one the subscription was made with',
    });
    expect(sim.received(sub.token)).toEqual([]);
  });

  it('is refused with an expired JWT, and reports the push service reason', async () => {
    const sub = sim.subscribe();
    // The transport's clock is a day behind the push service's: its JWT has expired there.
    const outcome = await withTransport((t) => t.send(push(sub.token)), { clock: { now: () => T - 86_400_000 } });
    expect(outcome).toEqual({ kind: 'auth-failed', reason: '401 JWT has expired' });
  });

  it('maps a subscription the browser dropped to invalid-token (410) and one never made to 404', async () => {
    const sub = sim.subscribe();
    sim.unregister(sub.token);
    const unknown = webPushToken({ ...sub.subscription, endpoint: `${sim.url}/push/never-made` });
    const outcomes = await withTransport((t) => Promise.all([t.send(push(sub.token)), t.send(push(unknown))]));
    expect(outcomes).toEqual([
      { kind: 'invalid-token', reason: '410 the subscription has expired or was unsubscribed' },
      { kind: 'invalid-token', reason: '404 no such subscription' },
    ]);
  });

  it('refuses to push to a local, private or plain-http endpoint unless configured for tests', async () => {
    const sub = sim.subscribe();
    const outcome = await withTransport((t) => t.send(push(sub.token)), { allowInsecureEndpoints: false });
    expect(outcome).toEqual({
      kind: 'rejected',
      reason: 'webpush: token.endpoint: localhost is not a public host name',
    });
    const on = (endpoint: string) => webPushToken({ ...sub.subscription, endpoint });
    const outcomes = await withTransport(
      (t) =>
        Promise.all(
          ['http://push.example.net/x', 'https://10.1.2.3/x', 'https://[::1]/x', 'https://router.local/x'].map((e) =>
            t.send(push(on(e))),
          ),
        ),
      { allowInsecureEndpoints: false },
    );
    expect(outcomes.map((o) => (o as { reason: string }).reason)).toEqual([
      'webpush: token.endpoint: must be an https URL',
      'webpush: token.endpoint: 10.1.2.3 is a private or reserved address',
      'webpush: token.endpoint: ::1 is a private or reserved address',
      'webpush: token.endpoint: router.local is not a public host name',
    ]);
    expect(sim.requests({ token: sub.token })).toEqual([]);
  });
});

describe('endpoint policy', () => {
  it('tells public push services from private networks', () => {
    expect(webPushEndpointProblem('https://fcm.googleapis.com/fcm/send/abc')).toBeUndefined();
    expect(webPushEndpointProblem('https://updates.push.services.mozilla.com/wpush/v2/x')).toBeUndefined();
    expect(webPushEndpointProblem('https://8.8.8.8/x')).toBeUndefined();
    expect(webPushEndpointProblem('https://user:pw@push.example.net/x')).toBe('must not carry credentials');
    expect(webPushEndpointProblem('https://intranet/x')).toBe('intranet is not a public host name');
    expect(webPushEndpointProblem('http://127.0.0.1:8080/x', { allowInsecure: true })).toBeUndefined();
    for (const a of ['127.0.0.1', '10.0.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', '100.64.0.1']) {
      expect(isPrivateAddress(a)).toBe(true);
    }
    for (const a of ['::1', 'fd00::1', 'fe80::1', '::ffff:192.168.0.1', '::ffff:127.0.0.1']) {
      expect(isPrivateAddress(a)).toBe(true);
    }
    for (const a of ['8.8.8.8', '172.32.0.1', '2a00:1450:4001::200e', '::ffff:8.8.8.8']) {
      expect(isPrivateAddress(a)).toBe(false);
    }
  });

  it('refuses to connect to a name that resolves to a private address', async () => {
    const error = await new Promise<NodeJS.ErrnoException | null>((resolve) =>
      publicOnlyLookup('localhost', { all: true }, (e) => resolve(e)),
    );
    expect(error?.code).toBe('EPRIVATEADDRESS');
    expect(error?.message).toMatch(/^localhost resolves to (127\.0\.0\.1|::1), a private address$/);
  });
});

describe('answers and options', () => {
  it('maps every push service answer to exactly one outcome', () => {
    expect(mapWebPushAnswer(201, undefined, undefined, 'https://p/m/1')).toEqual({
      kind: 'delivered',
      providerId: 'https://p/m/1',
    });
    expect(mapWebPushAnswer(202, undefined, undefined)).toEqual({ kind: 'delivered' });
    expect(mapWebPushAnswer(410, { code: 410, errno: 106, error: 'Gone', message: 'expired' }, undefined)).toEqual({
      kind: 'invalid-token',
      reason: '410 expired',
    });
    expect(mapWebPushAnswer(404, undefined, undefined)).toEqual({ kind: 'invalid-token', reason: 'HTTP 404' });
    expect(mapWebPushAnswer(413, undefined, undefined)).toEqual({ kind: 'rejected', reason: 'HTTP 413' });
    expect(mapWebPushAnswer(429, undefined, 5000)).toEqual({ kind: 'retry', reason: 'HTTP 429', retryAfterMs: 5000 });
    expect(mapWebPushAnswer(502, undefined, undefined)).toEqual({ kind: 'retry', reason: 'HTTP 502' });
    expect(mapWebPushAnswer(403, undefined, undefined)).toEqual({ kind: 'auth-failed', reason: 'HTTP 403' });
  });

  it('rejects bad options with a TransportError naming the field', () => {
    const other = generateVapidKeys();
    const make = (over: Record<string, unknown>) => () =>
      new WebPushTransport({ vapid: [{ ...vapid, ...over }] } as ConstructorParameters<typeof WebPushTransport>[0]);
    expect(() => new WebPushTransport({ vapid: [] })).toThrow(TransportError);
    expect(make({ publicKey: 'abc' })).toThrow('vapid[0].publicKey');
    expect(make({ privateKey: 'abc' })).toThrow('vapid[0].privateKey');
    expect(make({ subject: 'ops@example.com' })).toThrow('vapid[0].subject');
    expect(make({ publicKey: other.publicKey })).toThrow('vapid[0].publicKey: is not the public key of privateKey');
    expect(make({ app: '' })).toThrow('vapid[0].app');
    expect(() => new WebPushTransport({ vapid: [vapid, vapid] })).toThrow('vapid[1].app');
    expect(() => new WebPushTransport({ vapid: [vapid], vapidLifetimeS: 90_000 })).toThrow('vapidLifetimeS');
  });
});
