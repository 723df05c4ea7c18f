import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import type { PushRequest } from '@pushrelay/core';
import { describeTransportConformance } from '@pushrelay/testkit';
import { startHmsSimulator, type HmsApp, type HmsSimulator } from '@pushrelay/simulators';
import { HmsTransport } from '../src/index.js';

const apps = new WeakMap<HmsSimulator, HmsApp>();

const request = (index: number, over: Partial<PushRequest> = {}): PushRequest => ({
  provider: 'hms',
  token: `IQAAAACy0hms${index}${'b'.repeat(24)}`,
  app: '107000001',
  environment: 'production',
  pushType: 'voip',
  priority: 'high',
  expiresAt: null,
  payload: { data: { type: 'invite', index: String(index) } },
  ...over,
});

describeTransportConformance(
  { describe, it, expect, beforeAll, afterAll },
  {
    name: 'transport-hms',
    createSimulator: async () => {
      const sim = await startHmsSimulator();
      apps.set(sim, sim.registerApp('107000001'));
      return sim;
    },
    createTransport: (sim, { requestTimeoutMs }) =>
      new HmsTransport({
        credentials: [{ appId: '107000001', clientSecret: apps.get(sim)!.clientSecret }],
        baseUrl: sim.baseUrl,
        tokenUrl: sim.tokenUrl,
        ca: sim.ca,
        requestTimeoutMs,
      }),
    validRequest: (_sim, index) => request(index),
    checkDelivery: (delivery, req) => {
      expect(delivery).toEqual({
        provider: 'hms',
        environment: 'hms',
        token: req.token,
        headers: { 'content-type': 'application/json; charset=utf-8', 'content-length': expect.any(String) },
        payload: {
          data: JSON.stringify(req.payload['data']),
          android: { category: 'VOIP', urgency: 'HIGH', ttl: '1s' },
          token: [req.token],
        },
        receivedAt: expect.any(Number),
        id: expect.stringMatching(/^\d+$/),
      });
    },
    faults: [
      {
        name: 'HTTP 503 flow control with Retry-After',
        fault: { kind: 'status', status: 503, retryAfter: 4 },
        expect: 'retry',
        retryAfterMs: 4000,
      },
      { name: '81000001 internal error', fault: { kind: 'status', status: 500, reason: '81000001' }, expect: 'retry' },
      {
        name: '80300002 no permission',
        fault: { kind: 'status', status: 403, reason: '80300002' },
        expect: 'auth-failed',
      },
      {
        name: '80300008 message too big',
        fault: { kind: 'status', status: 400, reason: '80300008' },
        expect: 'rejected',
      },
      {
        name: '80100001 bad parameters',
        fault: { kind: 'status', status: 400, reason: '80100001' },
        expect: 'rejected',
      },
      {
        name: '80200001 OAuth error',
        fault: { kind: 'status', status: 401, reason: '80200001' },
        expect: 'auth-failed',
      },
    ],
    oversizedRequest: (_sim, index) => request(index, { payload: { data: 'x'.repeat(4200) } }),
    badRequests: () => [
      { request: request(1, { payload: { data: 7 } }), field: 'payload.data' },
      { request: request(2, { app: '999' }), field: 'app' },
      { request: request(3, { provider: 'fcm' }), field: 'provider' },
      { request: request(4, { payload: { android: { urgency: 'LOW' } } }), field: 'payload.android.urgency' },
    ],
  },
);
