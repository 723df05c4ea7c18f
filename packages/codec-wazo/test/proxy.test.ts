import { readdirSync, readFileSync } from 'node:fs';
import { CodecError, MAX_DEADLINE_MS, payloadLimit, payloadSize } from '@pushrelay/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PROXY_RECIPIENT, translateApnsProxy, translateLegacyFcm, type ApnsProxySend } from '../src/index.js';

interface ProxyFixture {
  description: string;
  kind: 'fcm' | 'apns';
  context: { tenant: string; id: string; now: string; project?: string };
  input: unknown;
  expected: { request?: unknown; notification?: unknown; error?: { path: string } };
}

const dir = new URL('../fixtures/proxy/', import.meta.url);
const fixtures = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((name) => ({ name, fixture: JSON.parse(readFileSync(new URL(name, dir), 'utf8')) as ProxyFixture }));

function translate(fixture: ProxyFixture) {
  const context = { ...fixture.context, now: Date.parse(fixture.context.now) };
  return fixture.kind === 'fcm'
    ? translateLegacyFcm(fixture.input, { ...context, project: fixture.context.project ?? 'p' })
    : translateApnsProxy(fixture.input as ApnsProxySend, context);
}

describe('push-proxy translation fixtures', () => {
  it('has fixtures of both kinds', () => {
    expect(new Set(fixtures.map((f) => f.fixture.kind))).toEqual(new Set(['fcm', 'apns']));
  });
  for (const { name, fixture } of fixtures) {
    it(`${name}: ${fixture.description}`, () => {
      if (fixture.expected.error) {
        let caught: unknown;
        try {
          translate(fixture);
        } catch (error) {
          caught = error;
        }
        expect(caught).toBeInstanceOf(CodecError);
        expect((caught as CodecError).path).toBe(fixture.expected.error.path);
        return;
      }
      const { request, notification } = translate(fixture);
      expect(request).toEqual(fixture.expected.request);
      const { vendor, ...rest } = notification;
      expect(rest).toEqual(fixture.expected.notification);
      expect(vendor).toHaveProperty('wazo');
    });
  }
});

const NOW = Date.parse('2024-08-06T12:00:00.000Z');
const fcmContext = { tenant: 't', id: 'p', now: NOW, project: 'project-1' };
const legacyLike = fc.record(
  {
    to: fc.oneof(fc.string({ minLength: 1, maxLength: 200 }), fc.jsonValue()),
    priority: fc.oneof(fc.constantFrom('high', 'normal'), fc.jsonValue()),
    time_to_live: fc.oneof(fc.nat({ max: 3_000_000 }), fc.integer({ min: -5, max: 5 }), fc.jsonValue()),
    data: fc.oneof(
      fc.record(
        {
          notification_type: fc.oneof(
            fc.constantFrom('incomingCall', 'cancelIncomingCall', 'messageReceived', 'plugin'),
            fc.jsonValue(),
          ),
          items: fc.jsonValue(),
        },
        { requiredKeys: [] },
      ),
      fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue()),
      fc.jsonValue(),
    ),
    notification: fc.oneof(
      fc.record({ title: fc.string(), body: fc.string(), badge: fc.nat() }, { requiredKeys: [] }),
      fc.jsonValue(),
    ),
  },
  { requiredKeys: [] },
);

describe('push-proxy translation properties', () => {
  it('throws nothing but CodecError on arbitrary input', () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), legacyLike), (input) => {
        try {
          translateLegacyFcm(input, fcmContext);
        } catch (error) {
          if (!(error instanceof CodecError)) throw error;
        }
        try {
          translateApnsProxy({ token: 'a'.repeat(64), headers: { 'apns-topic': 'com.x' }, body: input }, fcmContext);
        } catch (error) {
          if (!(error instanceof CodecError)) throw error;
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('a translated FCM push targets the given token, carries only string data, fits FCM, and has a future deadline no later than the relay allows', () => {
    fc.assert(
      fc.property(legacyLike, (input) => {
        let translated;
        try {
          translated = translateLegacyFcm(input, fcmContext);
        } catch (error) {
          if (error instanceof CodecError) return;
          throw error;
        }
        const { request, notification } = translated;
        expect(request.token).toBe((input as { to: string }).to);
        expect(request.app).toBe('project-1');
        const data = (request.payload as { data: Record<string, unknown> }).data;
        for (const value of Object.values(data)) expect(typeof value).toBe('string');
        expect(payloadSize(request)).toBeLessThanOrEqual(payloadLimit(request));
        const deadline = Date.parse(notification.deadline);
        expect(deadline).toBeGreaterThan(NOW);
        expect(deadline).toBeLessThanOrEqual(NOW + MAX_DEADLINE_MS);
        expect([notification.id, notification.tenant, notification.recipient]).toEqual(['p', 't', PROXY_RECIPIENT]);
      }),
      { numRuns: 1000 },
    );
  });

  it('items survive as JSON that parses back to what webhookd sent', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 3 }), { minKeys: 1, maxKeys: 5 }),
        (items) => {
          let request;
          try {
            ({ request } = translateLegacyFcm({ to: 't', data: { notification_type: 'x', items } }, fcmContext));
          } catch (error) {
            // Only a push over FCM's size limit may be refused.
            if (error instanceof CodecError && error.path === 'data') return;
            throw error;
          }
          const data = (request.payload as { data: { items: string } }).data;
          expect(data.items).toMatch(/^[\x20-\x7e]*$/);
          expect(JSON.parse(data.items)).toEqual(JSON.parse(JSON.stringify(items)));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('an APNs proxied push on a .voip topic is always a VoIP push of a call', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(undefined, 'alert', 'background', 'voip'),
        fc.stringMatching(/^[a-z]{1,8}(\.[a-z]{1,8}){1,3}$/),
        (pushType, bundle) => {
          const headers: Record<string, string> = { 'apns-topic': `${bundle}.voip` };
          if (pushType) headers['apns-push-type'] = pushType;
          const { request, notification } = translateApnsProxy(
            { token: 'a'.repeat(64), headers, body: {} },
            fcmContext,
          );
          expect([request.pushType, request.app, notification.type]).toEqual(['voip', bundle, 'incoming_call']);
        },
      ),
    );
  });
});
