import { describe, expect, it } from 'vitest';
import { getCSeq, parseMessage, serialize, StreamParser, type StreamEvent } from '../src/index.js';
import { fixture } from './support/fixtures.js';

const register = fixture('real/register-rfc8599-apns.sip');
const invite = fixture('real/invite-sdp.sip');

function messages(events: StreamEvent[]): string[] {
  return events.map((e) => (e.type === 'message' ? `${e.message.kind}:${getCSeq(e.message).seq}` : e.type));
}

describe('StreamParser', () => {
  it('buffers a message split at every byte and yields it once complete', () => {
    const parser = new StreamParser();
    const events: StreamEvent[] = [];
    for (let i = 0; i < invite.length; i++) events.push(...parser.push(invite.subarray(i, i + 1)));
    expect(messages(events)).toEqual(['request:314159']);
    expect(parser.buffered).toBe(0);
    const only = events[0]!;
    expect(only.type === 'message' && only.message).toEqual(parseMessage(invite, { stream: true }));
  });

  it('yields several messages from one chunk, with keep-alives between them', () => {
    const parser = new StreamParser();
    const chunk = Buffer.concat([register, Buffer.from('\r\n\r\n'), invite, Buffer.from('\r\n'), register]);
    expect(messages(parser.push(chunk))).toEqual(['request:20', 'ping', 'request:314159', 'request:20']);
  });

  it('waits for a whole double-CRLF before calling it a ping', () => {
    const parser = new StreamParser();
    expect(parser.push(Buffer.from('\r\n'))).toEqual([]);
    expect(parser.push(Buffer.from('\r\n'))).toEqual([{ type: 'ping' }]);
  });

  it('reads a folded Content-Length', () => {
    const text =
      'OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: f\r\nCSeq: 1 OPTIONS\r\nContent-Length:\r\n 3\r\n\r\nabc';
    const events = new StreamParser().push(Buffer.from(text));
    expect(events.map((e) => e.type === 'message' && e.message.body.toString())).toEqual(['abc']);
  });

  it('keeps going after a framed message that does not parse', () => {
    const parser = new StreamParser();
    const bad = Buffer.from('GARBAGE LINE\r\nContent-Length: 0\r\n\r\n');
    const events = parser.push(Buffer.concat([bad, register]));
    expect(events.map((e) => (e.type === 'error' ? `${e.error.reason}:${e.fatal}` : e.type))).toEqual([
      'bad_start_line:false',
      'message',
    ]);
  });

  it('gives up on the stream when framing is lost', () => {
    const parser = new StreamParser();
    const events = parser.push(Buffer.from('OPTIONS sip:a@b SIP/2.0\r\nContent-Length: lots\r\n\r\n'));
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'error', fatal: true, error: { reason: 'bad_content_length' } });
    expect(parser.isBroken).toBe(true);
    expect(parser.push(register)).toEqual([]);
  });

  it('refuses header blocks and bodies over the limits', () => {
    const headers = new StreamParser({ maxHeaderBytes: 100 });
    expect(headers.push(Buffer.alloc(200, 'a'))[0]).toMatchObject({
      type: 'error',
      fatal: true,
      error: { reason: 'too_large' },
    });
    const body = new StreamParser({ maxBodyBytes: 10 });
    expect(body.push(Buffer.from('OPTIONS sip:a@b SIP/2.0\r\nl: 11\r\n\r\n'))[0]).toMatchObject({
      type: 'error',
      fatal: true,
      error: { reason: 'too_large' },
    });
  });

  it('frames serialized output', () => {
    const parser = new StreamParser();
    const original = parseMessage(invite);
    const events = parser.push(Buffer.concat([serialize(original), serialize(original)]));
    expect(events.map((e) => e.type === 'message' && e.message)).toEqual([original, original]);
  });
});
