import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import type { PushRequest } from '@pushrelay/core';
import { describeTransportConformance } from '@pushrelay/testkit';
import { startWebPushSimulator, type WebPushSimulator } from '@pushrelay/simulators';
import { WebPushTransport, generateVapidKeys } from '../src/index.js';

const vapid = { app: 'web.example.com', subject: 'mailto:ops@example.com', ...generateVapidKeys() };
const tokens = new WeakMap<WebPushSimulator, string[]>();

// Each index gets a subscription of its own, made on first use, bound to the VAPID key.
function tokenFor(sim: WebPushSimulator, index: number): string {
  const list = tokens.get(sim) ?? [];
  tokens.set(sim, list);
  list[index] ??= sim.subscribe({ applicationServerKey: vapid.publicKey }).token;
  return list[index];
}

const request = (token: string, over: Partial<PushRequest> = {}): PushRequest => ({
  provider: 'webpush',
  token,
  app: vapid.app,
  environment: 'production',
  pushType: 'alert',
  priority: 'high',
  expiresAt: null,
  payload: { type: 'incoming_call', call: { id: 'c-1', from: 'Alice' } },
  ...over,
});

describeTransportConformance(
  { describe, it, expect, beforeAll, afterAll },
  {
    name: 'transport-webpush',
    createSimulator: () => startWebPushSimulator(),
    createTransport: (sim, { requestTimeoutMs }) =>
      new WebPushTransport({ vapid: [vapid], ca: sim.ca, requestTimeoutMs, allowInsecureEndpoints: true }),
    validRequest: (sim, index) => request(tokenFor(sim, index)),
    checkDelivery: (delivery, req) => {
      expect(delivery).toEqual({
        provider: 'webpush',
        environment: 'webpush',
        token: req.token,
        headers: {
          ttl: '0',
          urgency: 'high',
          'content-encoding': 'aes128gcm',
          'content-type': 'application/octet-stream',
          'content-length': expect.any(String),
        },
        payload: req.payload,
        receivedAt: expect.any(Number),
        id: expect.stringMatching(/^m\d+-[0-9a-f]{12}$/),
      });
    },
    faults: [
      {
        name: '429 with Retry-After',
        fault: { kind: 'status', status: 429, retryAfter: 7 },
        expect: 'retry',
        retryAfterMs: 7000,
      },
      {
        name: '503 with Retry-After',
        fault: { kind: 'status', status: 503, retryAfter: 3 },
        expect: 'retry',
        retryAfterMs: 3000,
      },
      { name: '500', fault: { kind: 'status', status: 500 }, expect: 'retry' },
      { name: '404 unknown subscription', fault: { kind: 'status', status: 404 }, expect: 'invalid-token' },
      { name: '410 gone', fault: { kind: 'status', status: 410 }, expect: 'invalid-token' },
      { name: '413 payload too large', fault: { kind: 'status', status: 413 }, expect: 'rejected' },
      { name: '400 bad request', fault: { kind: 'status', status: 400 }, expect: 'rejected' },
      { name: '401 VAPID refused', fault: { kind: 'status', status: 401 }, expect: 'auth-failed' },
      { name: '403 VAPID key mismatch', fault: { kind: 'status', status: 403 }, expect: 'auth-failed' },
    ],
    oversizedRequest: (sim, index) => request(tokenFor(sim, index), { payload: { blob: 'x'.repeat(4000) } }),
    badRequests: (sim) => [
      { request: request(tokenFor(sim, 1), { app: 'other.example.com' }), field: 'app' },
      { request: request('{"endpoint":"https://x"}'), field: 'token.keys' },
      { request: request('not json'), field: 'token' },
      { request: request(tokenFor(sim, 2), { provider: 'fcm' }), field: 'provider' },
      { request: request(tokenFor(sim, 3), { headers: { urgency: 'now' } }), field: 'headers.urgency' },
      { request: request(tokenFor(sim, 4), { payload: [] as unknown as Record<string, unknown> }), field: 'payload' },
    ],
  },
);
