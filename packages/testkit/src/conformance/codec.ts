import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CodecError,
  payloadLimit,
  payloadSize,
  type CallNotification,
  type Codec,
  type DeviceBinding,
  type PushRequest,
} from '@pushrelay/core';
import type { TestApi } from '../runner.js';

/**
 * One fixture file in a codec's `fixtures/` folder. A fixture may hold any of the three parts.
 * Times are ISO strings; `now` defaults to `createdAt` of the notification or 2024-01-01.
 */
export interface CodecFixture {
  description?: string;
  decode?: {
    input: unknown;
    tenant?: string;
    now?: string;
    /** The notifications the vendor input stands for, in order. */
    expected: CallNotification[];
  };
  encode?: {
    notification: CallNotification;
    binding: DeviceBinding;
    now?: string;
    /** The whole request the device's provider must get, or null when nothing is pushed. */
    expected: PushRequest | null;
  };
  malformed?: {
    input: unknown;
    /** A substring of the CodecError message. */
    error: string;
  };
}

export interface CodecConformanceOptions {
  codec: Codec;
  /** Absolute path of the folder holding `*.json` fixtures. */
  fixturesDir: string;
}

export function loadCodecFixtures(fixturesDir: string): Array<{ name: string; fixture: CodecFixture }> {
  return readdirSync(fixturesDir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((name) => ({ name, fixture: JSON.parse(readFileSync(join(fixturesDir, name), 'utf8')) as CodecFixture }));
}

const DEFAULT_NOW = '2024-01-01T00:00:00.000Z';

/** Inputs no vendor sends: every decoding codec must answer them with a CodecError. */
const GARBAGE: unknown[] = [null, undefined, 42, 'text', true, [], [1, 2], { unrelated: 1 }];

/**
 * The behaviour every codec shares: fixtures decode and encode to exactly their expected
 * values, output stays within the provider's size limit, and bad input gives a CodecError.
 */
export function describeCodecConformance(t: TestApi, options: CodecConformanceOptions): void {
  const { codec, fixturesDir } = options;
  const fixtures = loadCodecFixtures(fixturesDir);

  t.describe(`codec conformance: ${codec.id}`, () => {
    t.it('has fixtures', () => {
      t.expect(fixtures.length).toBeGreaterThan(0);
    });

    t.it('declares its capabilities', () => {
      t.expect(typeof codec.id).toBe('string');
      t.expect(codec.id.length).toBeGreaterThan(0);
      t.expect(codec.capabilities.providers.length).toBeGreaterThan(0);
      t.expect(typeof codec.decode === 'function').toBe(codec.capabilities.decode);
    });

    for (const { name, fixture } of fixtures) {
      const label = fixture.description ? `${name} (${fixture.description})` : name;
      const decode = fixture.decode;
      if (decode) {
        t.it(`decodes ${label}`, () => {
          t.expect(codec.decode, `${codec.id} has fixtures to decode but no decode`).toBeTypeOf('function');
          const now = Date.parse(decode.now ?? DEFAULT_NOW);
          const out = codec.decode!(structuredClone(decode.input), { tenant: decode.tenant ?? 'tenant-1', now });
          t.expect(out).toEqual(decode.expected);
        });
        t.it(`decoding ${label} is deterministic and does not touch the input`, () => {
          const now = Date.parse(decode.now ?? DEFAULT_NOW);
          const input = structuredClone(decode.input);
          const first = codec.decode!(input, { tenant: decode.tenant ?? 'tenant-1', now });
          t.expect(input).toEqual(decode.input);
          t.expect(codec.decode!(input, { tenant: decode.tenant ?? 'tenant-1', now })).toEqual(first);
        });
      }
      const encode = fixture.encode;
      if (encode) {
        t.it(`encodes ${label}`, () => {
          const now = Date.parse(encode.now ?? encode.notification.createdAt ?? DEFAULT_NOW);
          const out = codec.encode(structuredClone(encode.notification), structuredClone(encode.binding), { now });
          t.expect(out).toEqual(encode.expected);
        });
        if (encode.expected) {
          t.it(`${label} fits the provider's limits and targets the binding`, () => {
            const now = Date.parse(encode.now ?? encode.notification.createdAt ?? DEFAULT_NOW);
            const out = codec.encode(encode.notification, encode.binding, { now })!;
            t.expect(out.provider).toBe(encode.binding.provider);
            t.expect(out.token).toBe(encode.binding.token);
            t.expect(codec.capabilities.providers).toContain(out.provider);
            t.expect(payloadSize(out)).toBeLessThanOrEqual(payloadLimit(out));
          });
        }
      }
      const malformed = fixture.malformed;
      if (malformed) {
        t.it(`rejects ${label} with a CodecError`, () => {
          let caught: unknown;
          try {
            codec.decode!(malformed.input, { tenant: 'tenant-1', now: Date.parse(DEFAULT_NOW) });
          } catch (error) {
            caught = error;
          }
          t.expect(caught).toBeInstanceOf(CodecError);
          t.expect((caught as CodecError).message).toContain(malformed.error);
        });
      }
    }

    if (codec.capabilities.decode) {
      t.it('answers input that is no vendor payload with a CodecError', () => {
        for (const input of GARBAGE) {
          let caught: unknown;
          try {
            codec.decode!(input, { tenant: 'tenant-1', now: Date.parse(DEFAULT_NOW) });
          } catch (error) {
            caught = error;
          }
          t.expect(caught, `decode(${JSON.stringify(input)})`).toBeInstanceOf(CodecError);
        }
      });
    }
  });
}
