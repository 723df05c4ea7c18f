import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import type { PushRequest } from '@pushrelay/core';
import { describeTransportConformance } from '@pushrelay/testkit';
import { startHmsSimulator, type HmsApp, type HmsSimulator } from '@pushrelay/simulators';
import { HmsTransport } from '../src/index.js';

// Push Kit v3 (HarmonyOS NEXT): a service-account JWT, push-type header, {payload, target, pushOptions}.
const apps = new WeakMap<HmsSimulator, HmsApp>();

const request = (index: number, over: Partial<PushRequest> = {}): PushRequest => ({
  provider: 'hms',
  token: `MAAALgE4G98B${index}${'c'.repeat(24)}`,
  app: '5765880207855001',
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
    name: 'transport-hms (Push Kit v3)',
    createSimulator: async () => {
      const sim = await startHmsSimulator();
      apps.set(sim, sim.registerApp('5765880207855001', { projectId: '388421841221', serviceAccount: true }));
      return sim;
    },
    createTransport: (sim, { requestTimeoutMs }) => {
      const app = apps.get(sim)!;
      return new HmsTransport({
        credentials: [{ appId: app.appId, projectId: app.projectId!, serviceAccount: app.serviceAccount! }],
        baseUrl: sim.baseUrl,
        tokenUrl: sim.tokenUrl,
        ca: sim.ca,
        requestTimeoutMs,
      });
    },
    validRequest: (_sim, index) => request(index),
    checkDelivery: (delivery, req) => {
      expect(delivery).toEqual({
        provider: 'hms',
        environment: 'hms',
        token: req.token,
        headers: {
          'content-type': 'application/json; charset=utf-8',
          'content-length': expect.any(String),
          'push-type': '10',
        },
        payload: {
          payload: { extraData: JSON.stringify(req.payload['data']) },
          pushOptions: { ttl: 1 },
          target: { token: [req.token] },
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
        name: '80300036 JWT lives over a day',
        fault: { kind: 'status', status: 401, reason: '80300036' },
        expect: 'auth-failed',
      },
      {
        name: '80300008 message too big',
        fault: { kind: 'status', status: 400, reason: '80300008' },
        expect: 'rejected',
      },
      {
        name: '80100003 illegal payload',
        fault: { kind: 'status', status: 400, reason: '80100003' },
        expect: 'rejected',
      },
      {
        name: '80300029 test message quota',
        fault: { kind: 'status', status: 400, reason: '80300029' },
        expect: 'retry',
      },
      {
        name: '80200001 authentication error',
        fault: { kind: 'status', status: 401, reason: '80200001' },
        expect: 'auth-failed',
      },
    ],
    oversizedRequest: (_sim, index) => request(index, { payload: { data: 'x'.repeat(4200) } }),
    badRequests: () => [
      { request: request(1, { payload: { data: 7 } }), field: 'payload.data' },
      { request: request(2, { app: '999' }), field: 'app' },
      { request: request(3, { provider: 'fcm' }), field: 'provider' },
      { request: request(4, { headers: { 'push-type': '3' } }), field: 'headers.push-type' },
      { request: request(5, { payload: { target: { token: ['x'] } } }), field: 'payload.target' },
      { request: request(6, { headers: { 'hms-api': 'v2' } }), field: 'headers.hms-api' },
    ],
  },
);
