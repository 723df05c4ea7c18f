import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import type { PushRequest } from '@pushrelay/core';
import { describeTransportConformance } from '@pushrelay/testkit';
import { startFcmSimulator, type FcmSimulator } from '@pushrelay/simulators';
import { FcmTransport } from '../src/index.js';

const accounts = new WeakMap<FcmSimulator, ReturnType<FcmSimulator['createServiceAccount']>>();

const request = (index: number, over: Partial<PushRequest> = {}): PushRequest => ({
  provider: 'fcm',
  token: `fcm-device-${index}-${'a'.repeat(24)}`,
  app: 'proj-conf',
  environment: 'production',
  pushType: 'voip',
  priority: 'high',
  expiresAt: null,
  collapseId: `call-${index}`,
  payload: { data: { type: 'invite', index: String(index) } },
  ...over,
});

describeTransportConformance(
  { describe, it, expect, beforeAll, afterAll },
  {
    name: 'transport-fcm',
    createSimulator: async () => {
      const sim = await startFcmSimulator();
      accounts.set(sim, sim.createServiceAccount('proj-conf'));
      return sim;
    },
    createTransport: (sim, { requestTimeoutMs }) =>
      new FcmTransport({
        credentials: [{ serviceAccount: accounts.get(sim)! }],
        baseUrl: sim.baseUrl,
        ca: sim.ca,
        requestTimeoutMs,
      }),
    validRequest: (_sim, index) => request(index),
    checkDelivery: (delivery, req) => {
      expect(delivery).toEqual({
        provider: 'fcm',
        environment: 'fcm',
        token: req.token,
        headers: { 'content-type': 'application/json; charset=utf-8', 'content-length': expect.any(String) },
        payload: {
          data: req.payload['data'],
          android: { ttl: '0s', priority: 'HIGH', collapse_key: req.collapseId },
          token: req.token,
        },
        receivedAt: expect.any(Number),
        id: expect.stringMatching(/^projects\/proj-conf\/messages\/0:\d+%[0-9a-f]{16}$/),
      });
    },
    faults: [
      {
        name: '404 UNREGISTERED',
        fault: { kind: 'status', status: 404, reason: 'UNREGISTERED' },
        expect: 'invalid-token',
      },
      {
        name: '403 SENDER_ID_MISMATCH',
        fault: { kind: 'status', status: 403, reason: 'SENDER_ID_MISMATCH' },
        expect: 'invalid-token',
      },
      {
        name: '400 INVALID_ARGUMENT',
        fault: { kind: 'status', status: 400, reason: 'INVALID_ARGUMENT' },
        expect: 'rejected',
      },
      {
        name: '429 QUOTA_EXCEEDED with Retry-After',
        fault: { kind: 'status', status: 429, reason: 'QUOTA_EXCEEDED', retryAfter: 3 },
        expect: 'retry',
        retryAfterMs: 3000,
      },
      { name: '503 UNAVAILABLE', fault: { kind: 'status', status: 503, reason: 'UNAVAILABLE' }, expect: 'retry' },
      { name: '500 INTERNAL', fault: { kind: 'status', status: 500, reason: 'INTERNAL' }, expect: 'retry' },
      {
        name: '401 THIRD_PARTY_AUTH_ERROR',
        fault: { kind: 'status', status: 401, reason: 'THIRD_PARTY_AUTH_ERROR' },
        expect: 'auth-failed',
      },
    ],
    oversizedRequest: (_sim, index) => request(index, { payload: { data: { blob: 'x'.repeat(4200) } } }),
    badRequests: () => [
      { request: request(1, { payload: { data: { n: 1 as unknown as string } } }), field: 'payload.data.n' },
      { request: request(2, { app: 'proj-unknown' }), field: 'app' },
      { request: request(3, { provider: 'apns' }), field: 'provider' },
      { request: request(4, { payload: { token: 'x' } }), field: 'payload.token' },
    ],
  },
);
