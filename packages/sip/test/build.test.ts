import { describe, expect, it } from 'vitest';
import {
  addHeader,
  createAckFor2xx,
  createCancel,
  createRequest,
  createResponse,
  generateBranch,
  generateCallId,
  generateTag,
  getHeader,
  getMaxForwards,
  getTo,
  getVias,
  parseMessage,
  prepareForward,
  randomHex,
  removeFirstHeader,
  serialize,
  setHeader,
  type SipRequest,
} from '../src/index.js';
import { fixture } from './support/fixtures.js';

function invite(): SipRequest {
  const message = parseMessage(fixture('real/invite-sdp.sip'));
  if (message.kind !== 'request') throw new Error('fixture is not a request');
  return message;
}

describe('createResponse', () => {
  it('copies Via, From, To (adding a tag), Call-ID, CSeq and Record-Route', () => {
    expect(createResponse(invite(), 180, undefined, { toTag: 'uas1' })).toEqual({
      kind: 'response',
      status: 180,
      reason: 'Ringing',
      version: 'SIP/2.0',
      headers: [
        { name: 'Via', value: 'SIP/2.0/UDP 203.0.113.5:5060;branch=z9hG4bK776asdhds;received=203.0.113.5' },
        { name: 'Via', value: 'SIP/2.0/UDP 10.1.1.1:5062;branch=z9hG4bKnashds8' },
        { name: 'From', value: '"Bob \\"The Caller\\"" <sip:bob@biloxi.example.com>;tag=1928301774' },
        { name: 'To', value: 'Alice <sip:alice@sip.example.com>;tag=uas1' },
        { name: 'Call-ID', value: 'a84b4c76e66710@pc33.biloxi.example.com' },
        { name: 'CSeq', value: '314159 INVITE' },
        { name: 'Record-Route', value: '<sip:203.0.113.5;lr>' },
        { name: 'Content-Length', value: '0' },
      ],
      body: Buffer.alloc(0),
    });
  });

  it('adds no To tag to 100 Trying, keeps an existing tag, and carries a body', () => {
    expect(getTo(createResponse(invite(), 100)).params['tag']).toBeUndefined();
    const tagged = invite();
    setHeader(tagged, 'To', '<sip:alice@sip.example.com>;tag=keep');
    expect(getHeader(createResponse(tagged, 200), 'To')).toBe('<sip:alice@sip.example.com>;tag=keep');
    const withBody = createResponse(invite(), 200, 'OK', {
      body: 'v=0\r\n',
      contentType: 'application/sdp',
      headers: [{ name: 'Contact', value: '<sip:alice@192.0.2.4>' }],
    });
    expect(serialize(withBody).toString()).toMatch(
      /Contact: <sip:alice@192\.0\.2\.4>\r\nContent-Type: application\/sdp\r\nContent-Length: 5\r\n\r\nv=0\r\n$/,
    );
    expect(createResponse(invite(), 555).reason).toBe('Push Notification Service Not Supported');
  });
});

describe('request helpers', () => {
  it('createRequest builds a request with a branch, rport and From tag that parses back', () => {
    const request = createRequest({
      method: 'INVITE',
      uri: 'sip:alice@192.0.2.4:5060',
      from: '"Relay" <sip:relay@example.com>',
      to: '<sip:alice@example.com>',
      callId: 'c1',
      cseq: 7,
      via: { transport: 'udp', host: '192.0.2.1', port: 5060 },
      contact: '<sip:relay@192.0.2.1>',
      body: 'v=0\r\n',
      contentType: 'application/sdp',
    });
    const parsed = parseMessage(serialize(request));
    expect(parsed).toEqual(request);
    const [via] = getVias(request);
    expect(via!.params['branch']).toMatch(/^z9hG4bK[0-9a-f]{20}$/);
    expect(via!.params).toHaveProperty('rport', null);
    expect(getHeader(request, 'From')).toMatch(/^"Relay" <sip:relay@example\.com>;tag=[0-9a-f]{12}$/);
  });

  it('createAckFor2xx targets the 2xx Contact along the reversed Record-Route with a new branch', () => {
    const request = invite();
    const ok = createResponse(request, 200, 'OK', {
      toTag: 'callee',
      headers: [{ name: 'Contact', value: '<sip:alice@192.0.2.4:5070;transport=udp>' }],
    });
    addHeader(ok, 'Record-Route', '<sip:198.51.100.1;lr>', { first: true });
    const ack = createAckFor2xx(request, ok, {
      transport: 'UDP',
      host: '203.0.113.5',
      port: 5060,
      branch: 'z9hG4bKack',
    });
    expect(ack.uri).toBe('sip:alice@192.0.2.4:5070;transport=udp');
    expect(ack.headers).toEqual([
      { name: 'Via', value: 'SIP/2.0/UDP 203.0.113.5:5060;branch=z9hG4bKack;rport' },
      { name: 'Max-Forwards', value: '70' },
      { name: 'From', value: '"Bob \\"The Caller\\"" <sip:bob@biloxi.example.com>;tag=1928301774' },
      { name: 'To', value: 'Alice <sip:alice@sip.example.com>;tag=callee' },
      { name: 'Call-ID', value: 'a84b4c76e66710@pc33.biloxi.example.com' },
      { name: 'CSeq', value: '314159 ACK' },
      { name: 'Route', value: '<sip:203.0.113.5;lr>' },
      { name: 'Route', value: '<sip:198.51.100.1;lr>' },
      { name: 'Content-Length', value: '0' },
    ]);
  });

  it('createCancel keeps the INVITE top Via, Call-ID, From, To and CSeq number', () => {
    const cancel = createCancel(invite());
    expect(cancel.uri).toBe('sip:alice@sip.example.com');
    expect(cancel.headers).toEqual([
      { name: 'Via', value: 'SIP/2.0/UDP 203.0.113.5:5060;branch=z9hG4bK776asdhds;received=203.0.113.5' },
      { name: 'Max-Forwards', value: '70' },
      { name: 'From', value: '"Bob \\"The Caller\\"" <sip:bob@biloxi.example.com>;tag=1928301774' },
      { name: 'To', value: 'Alice <sip:alice@sip.example.com>' },
      { name: 'Call-ID', value: 'a84b4c76e66710@pc33.biloxi.example.com' },
      { name: 'CSeq', value: '314159 CANCEL' },
      { name: 'Content-Length', value: '0' },
    ]);
  });

  it('prepareForward decrements Max-Forwards, pushes a Via and a Record-Route, and leaves the original alone', () => {
    const original = invite();
    const forwarded = prepareForward(original, {
      via: { transport: 'TCP', host: '192.0.2.1', port: 5060, branch: 'z9hG4bKfwd' },
      uri: 'sip:alice@198.51.100.7:40112;transport=tcp',
      recordRoute: 'sip:192.0.2.1',
    })!;
    expect(forwarded.uri).toBe('sip:alice@198.51.100.7:40112;transport=tcp');
    expect(getMaxForwards(forwarded)).toBe(68);
    expect(getVias(forwarded).map((v) => v.params['branch'])).toEqual([
      'z9hG4bKfwd',
      'z9hG4bK776asdhds',
      'z9hG4bKnashds8',
    ]);
    expect(forwarded.headers.filter((h) => h.name === 'Record-Route').map((h) => h.value)).toEqual([
      '<sip:192.0.2.1;lr>',
      '<sip:203.0.113.5;lr>',
    ]);
    expect(original).toEqual(invite());
    setHeader(original, 'Max-Forwards', '0');
    expect(prepareForward(original, { via: { transport: 'UDP', host: 'h' } })).toBeUndefined();
  });

  it('serialize turns line breaks inside header values into spaces so no header can be injected', () => {
    const request = invite();
    setHeader(request, 'Subject', 'hello\r\nRoute: <sip:evil.example.com>');
    const parsed = parseMessage(serialize(request));
    expect(getHeader(parsed, 'Subject')).toBe('hello Route: <sip:evil.example.com>');
    expect(getHeader(parsed, 'Route')).toBeUndefined();
  });

  it('header accessors are case-insensitive and know compact names', () => {
    const request = invite();
    addHeader(request, 'v', 'SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKtop', { first: true });
    expect(getVias(request)[0]!.host).toBe('192.0.2.1');
    expect(removeFirstHeader(request, 'VIA')).toBe('SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKtop');
    expect(getHeader(request, 'call-id')).toBe(getHeader(request, 'i'));
  });
});

describe('random identifiers', () => {
  it('are hex of the asked length and never repeat, across refills of the pool', () => {
    const seen = new Set<string>();
    // 3000 × 10 bytes spans several 4 KiB refills.
    for (let i = 0; i < 3000; i++) {
      const hex = randomHex(10);
      expect(hex).toMatch(/^[0-9a-f]{20}$/);
      seen.add(hex);
    }
    expect(seen.size).toBe(3000);
    expect(randomHex(5000)).toMatch(/^[0-9a-f]{10000}$/);
    expect(generateBranch()).toMatch(/^z9hG4bK[0-9a-f]{20}$/);
    expect(generateTag()).toMatch(/^[0-9a-f]{12}$/);
    expect(generateCallId('h.example')).toMatch(/^[0-9a-f]{24}@h\.example$/);
  });
});
