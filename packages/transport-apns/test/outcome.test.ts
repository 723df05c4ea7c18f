import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { apnsOutcome, parseRetryAfter } from '../src/index.js';

const NOW = Date.parse('2026-05-01T12:00:00Z');

describe('APNs answer -> DeliveryOutcome', () => {
  it('maps every documented reason to one outcome', () => {
    const table = [
      [200, undefined, { kind: 'delivered', providerId: 'id-1' }],
      [410, 'Unregistered', { kind: 'invalid-token', reason: 'Unregistered', since: '2026-04-30T00:00:00.000Z' }],
      [410, 'ExpiredToken', { kind: 'invalid-token', reason: 'ExpiredToken', since: '2026-04-30T00:00:00.000Z' }],
      [400, 'BadDeviceToken', { kind: 'invalid-token', reason: 'BadDeviceToken' }],
      [400, 'DeviceTokenNotForTopic', { kind: 'rejected', reason: 'DeviceTokenNotForTopic' }],
      [400, 'BadCollapseId', { kind: 'rejected', reason: 'BadCollapseId' }],
      [403, 'ExpiredProviderToken', { kind: 'retry', reason: 'ExpiredProviderToken' }],
      [403, 'InvalidProviderToken', { kind: 'auth-failed', reason: 'InvalidProviderToken' }],
      [403, 'BadCertificateEnvironment', { kind: 'auth-failed', reason: 'BadCertificateEnvironment' }],
      [404, 'BadPath', { kind: 'rejected', reason: 'BadPath' }],
      [405, 'MethodNotAllowed', { kind: 'rejected', reason: 'MethodNotAllowed' }],
      [413, 'PayloadTooLarge', { kind: 'rejected', reason: 'PayloadTooLarge' }],
      [429, 'TooManyRequests', { kind: 'retry', reason: 'TooManyRequests', retryAfterMs: 5000, scope: 'device' }],
      [
        429,
        'TooManyProviderTokenUpdates',
        { kind: 'retry', reason: 'TooManyProviderTokenUpdates', retryAfterMs: 5000, scope: 'credential' },
      ],
      [500, 'InternalServerError', { kind: 'retry', reason: 'InternalServerError', retryAfterMs: 5000 }],
      [503, 'Shutdown', { kind: 'retry', reason: 'Shutdown', retryAfterMs: 5000 }],
    ] as const;
    for (const [status, reason, expected] of table) {
      const timestamp = status === 410 ? Date.parse('2026-04-30T00:00:00Z') : undefined;
      const retryAfter = expected.kind === 'retry' && reason !== 'ExpiredProviderToken' ? '5' : undefined;
      const answer = {
        status,
        ...(reason ? { reason } : {}),
        ...(timestamp !== undefined ? { timestamp } : {}),
        ...(retryAfter ? { retryAfter } : {}),
        apnsId: 'id-1',
      };
      expect(apnsOutcome(answer, NOW)).toEqual(expected);
    }
  });

  it('maps any status to exactly one known kind', () => {
    fc.assert(
      fc.property(fc.integer({ min: 100, max: 599 }), fc.option(fc.string(), { nil: undefined }), (status, reason) => {
        const outcome = apnsOutcome({ status, ...(reason !== undefined ? { reason } : {}) }, NOW);
        expect(['delivered', 'invalid-token', 'retry', 'rejected', 'auth-failed']).toContain(outcome.kind);
      }),
    );
  });
});

describe('parseRetryAfter', () => {
  it('reads delay-seconds and HTTP dates', () => {
    expect(parseRetryAfter('3', NOW)).toBe(3000);
    expect(parseRetryAfter(' 0 ', NOW)).toBe(0);
    expect(parseRetryAfter(new Date(NOW + 7000).toUTCString(), NOW)).toBe(7000);
    expect(parseRetryAfter(new Date(NOW - 7000).toUTCString(), NOW)).toBe(0);
    expect(parseRetryAfter(undefined, NOW)).toBeUndefined();
    expect(parseRetryAfter('soon', NOW)).toBeUndefined();
  });

  it('never throws and never gives a negative delay', () => {
    fc.assert(
      fc.property(fc.string(), (value) => {
        const ms = parseRetryAfter(value, NOW);
        expect(ms === undefined || (Number.isFinite(ms) && ms >= 0)).toBe(true);
      }),
    );
    fc.assert(fc.property(fc.nat(1_000_000), (s) => parseRetryAfter(String(s), NOW) === s * 1000));
  });
});
