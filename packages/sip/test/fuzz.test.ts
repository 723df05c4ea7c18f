import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  getContacts,
  getFrom,
  getTo,
  getVias,
  parseMessage,
  serialize,
  SipParseError,
  StreamParser,
  type SipMessage,
} from '../src/index.js';
import { fixture } from './support/fixtures.js';

const corpus = [
  'real/register-xmpush.sip',
  'real/register-rfc8599-apns.sip',
  'real/register-eltex-pn-params.sip',
  'real/register-fcm-compact.sip',
  'real/register-mizutech-auth.sip',
  'real/invite-sdp.sip',
  'real/response-200-register.sip',
  'real/response-401-two-challenges.sip',
  'real/response-180-folded.sip',
  'torture/wsinv.sip',
  'torture/esc01.sip',
  'torture/semiuri.sip',
].map(fixture);

/** Parses and reads the structured headers, as a registrar would; only SipParseError may escape. */
function exercise(input: Buffer): SipMessage | undefined {
  try {
    const message = parseMessage(input);
    getVias(message);
    getFrom(message);
    getTo(message);
    getContacts(message);
    return message;
  } catch (error) {
    if (error instanceof SipParseError) return undefined;
    throw error;
  }
}

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 40 }) }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    text: fc.constantFrom(
      '"',
      '<',
      '>',
      ';',
      ',',
      ':',
      '\r\n',
      '\r\n ',
      '\r\n\r\n',
      '%',
      '=',
      '\\',
      '\0',
      'SIP/2.0',
      '@',
    ),
  }),
);

interface Mutation {
  kind: 'flip' | 'cut' | 'insert';
  at: number;
  byte?: number;
  length?: number;
  text?: string;
}

function mutate(input: Buffer, mutations: Mutation[]): Buffer {
  let bytes = Buffer.from(input);
  for (const m of mutations) {
    const at = bytes.length === 0 ? 0 : m.at % bytes.length;
    if (m.kind === 'flip') bytes[at] = m.byte!;
    else if (m.kind === 'cut') bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + m.length!)]);
    else bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from(m.text!, 'latin1'), bytes.subarray(at)]);
  }
  return bytes;
}

describe('parser fuzzing', { timeout: 60_000 }, () => {
  it('random bytes only ever raise SipParseError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), (bytes) => {
        exercise(Buffer.from(bytes));
      }),
      { numRuns: 2000 },
    );
  });

  it('random text shaped like SIP only ever raises SipParseError', () => {
    const line = fc.oneof(
      fc.string({ maxLength: 60 }),
      fc
        .tuple(
          fc.constantFrom('Via', 'v', 'From', 'f', 'To', 't', 'Contact', 'm', 'CSeq', 'Call-ID', 'l'),
          fc.string({ maxLength: 60 }),
        )
        .map(([n, v]) => `${n}: ${v}`),
    );
    fc.assert(
      fc.property(
        fc.constantFrom('INVITE sip:a@b SIP/2.0', 'SIP/2.0 200 OK', 'REGISTER sip:x SIP/2.0'),
        fc.array(line, { maxLength: 12 }),
        (start, lines) => {
          exercise(Buffer.from(`${start}\r\n${lines.join('\r\n')}\r\n\r\n`));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('mutated valid messages only ever raise SipParseError, and what parses re-serializes stably', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: corpus.length - 1 }),
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        (index, mutations) => {
          const message = exercise(mutate(corpus[index]!, mutations));
          if (message) {
            // What we accept, we must be able to write out and read back the same way.
            const again = parseMessage(serialize(message));
            expect(again).toEqual(parseMessage(serialize(again)));
          }
        },
      ),
      { numRuns: 1500 },
    );
  });

  it('the stream parser never throws, never hangs, and frames valid messages whatever the chunking', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: corpus.length - 1 }), { minLength: 1, maxLength: 4 }),
        fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 20 }),
        (indexes, cuts) => {
          const stream = Buffer.concat(indexes.map((i) => serialize(parseMessage(corpus[i]!))));
          const parser = new StreamParser();
          let count = 0;
          let offset = 0;
          let cut = 0;
          while (offset < stream.length) {
            const size = cuts[cut++ % cuts.length]!;
            for (const event of parser.push(stream.subarray(offset, offset + size))) {
              if (event.type === 'message') count++;
            }
            offset += size;
          }
          expect(count).toBe(indexes.length);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('the stream parser survives random bytes', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 500 }), { maxLength: 10 }), (chunks) => {
        const parser = new StreamParser({ maxHeaderBytes: 1000 });
        for (const chunk of chunks) {
          for (const event of parser.push(chunk)) {
            if (event.type === 'error') expect(event.error).toBeInstanceOf(SipParseError);
          }
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('long runs of whitespace, quotes and separators do not blow up (no quadratic regexes)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: corpus.length - 1 }),
        fc.nat(),
        fc.constantFrom(' ', '\t', '"', ';', ',', ':', '<', '%', 'a', '\r\n '),
        (index, at, filler) => {
          const input = corpus[index]!;
          const where = at % input.length;
          const run = Buffer.from(filler.repeat(Math.floor(40_000 / filler.length)), 'latin1');
          exercise(Buffer.concat([input.subarray(0, where), run, input.subarray(where)]));
          new StreamParser().push(Buffer.concat([input.subarray(0, where), run, input.subarray(where)]));
        },
      ),
      { numRuns: 60 },
    );
  });
});
