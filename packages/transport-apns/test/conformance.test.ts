import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { describeTransportConformance } from '@pushrelay/testkit';
import { startApnsSimulator } from '@pushrelay/simulators';
import { simTransport, voipRequest } from './helpers.js';

describeTransportConformance(
  { describe, it, expect, beforeAll, afterAll },
  {
    name: 'transport-apns',
    createSimulator: () => startApnsSimulator(),
    createTransport: (sim, { requestTimeoutMs }) => simTransport(sim, { requestTimeoutMs }),
    validRequest: (_sim, index) => voipRequest(index, { collapseId: `c${index}`, expiresAt: 1_900_000_000_500 }),
    checkDelivery: (delivery, request) => {
      expect(delivery).toEqual({
        provider: 'apns',
        environment: 'production',
        token: request.token,
        headers: {
          'apns-topic': 'com.example.app.voip',
          'apns-push-type': 'voip',
          'apns-priority': '10',
          'apns-expiration': '1900000000',
          'apns-collapse-id': request.collapseId,
          'apns-id': delivery.id,
        },
        payload: request.payload,
        receivedAt: expect.any(Number),
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      });
    },
    faults: [
      {
        name: '429 TooManyRequests with Retry-After',
        fault: { kind: 'status', status: 429, reason: 'TooManyRequests', retryAfter: 3 },
        expect: 'retry',
        retryAfterMs: 3000,
      },
      {
        name: '500 InternalServerError',
        fault: { kind: 'status', status: 500, reason: 'InternalServerError' },
        expect: 'retry',
      },
      {
        name: '503 ServiceUnavailable',
        fault: { kind: 'status', status: 503, reason: 'ServiceUnavailable' },
        expect: 'retry',
      },
      {
        name: '410 Unregistered',
        fault: { kind: 'status', status: 410, reason: 'Unregistered' },
        expect: 'invalid-token',
      },
      {
        name: '400 BadDeviceToken',
        fault: { kind: 'status', status: 400, reason: 'BadDeviceToken' },
        expect: 'invalid-token',
      },
      { name: '400 BadTopic', fault: { kind: 'status', status: 400, reason: 'BadTopic' }, expect: 'rejected' },
      {
        name: '403 InvalidProviderToken',
        fault: { kind: 'status', status: 403, reason: 'InvalidProviderToken' },
        expect: 'auth-failed',
      },
      {
        name: '413 PayloadTooLarge',
        fault: { kind: 'status', status: 413, reason: 'PayloadTooLarge' },
        expect: 'rejected',
      },
    ],
    oversizedRequest: (_sim, index) => voipRequest(index, { payload: { aps: {}, blob: 'x'.repeat(5200) } }),
    badRequests: () => [
      { request: voipRequest(1, { token: 'not-hex' }), field: 'token' },
      { request: voipRequest(2, { app: 'com.unknown' }), field: 'app' },
      { request: voipRequest(3, { provider: 'fcm' }), field: 'provider' },
    ],
  },
);
