import { describe, expect, it } from 'vitest';
import {
  getContacts,
  getCSeq,
  getFrom,
  getHeader,
  getHeaders,
  getTo,
  getVias,
  parseMessage,
  parseAuthHeader,
  parseNameAddr,
  parseUri,
  serialize,
  SipParseError,
  splitHeaderList,
  type SipRequest,
  type SipResponse,
} from '../src/index.js';
import { fixture } from './support/fixtures.js';

const TOKEN = 'a3f1c9e07b2d4e6f8a9b0c1d2e3f405162738495a6b7c8d9e0f1a2b3c4d5e6f7';

function request(name: string): SipRequest {
  const message = parseMessage(fixture(name));
  if (message.kind !== 'request') throw new Error(`${name} is not a request`);
  return message;
}

function response(name: string): SipResponse {
  const message = parseMessage(fixture(name));
  if (message.kind !== 'response') throw new Error(`${name} is not a response`);
  return message;
}

function parseError(input: Buffer | string): SipParseError {
  try {
    parseMessage(input);
  } catch (error) {
    if (error instanceof SipParseError) return error;
    throw error;
  }
  throw new Error('expected a SipParseError');
}

describe('real-world messages', () => {
  it('parses a softphone REGISTER with X-MPUSH into the whole message', () => {
    expect(request('real/register-xmpush.sip')).toEqual({
      kind: 'request',
      method: 'REGISTER',
      uri: 'sip:sip.example.com',
      version: 'SIP/2.0',
      headers: [
        { name: 'Via', value: 'SIP/2.0/UDP 192.168.1.23:52344;branch=z9hG4bK-524287-1---7d0a2f0c3d8e1b6a;rport' },
        { name: 'Max-Forwards', value: '70' },
        { name: 'Contact', value: '<sip:alice@192.168.1.23:52344;rinstance=8b1f0c2d3e4a5b6c;transport=UDP>' },
        { name: 'To', value: '<sip:alice@sip.example.com>' },
        { name: 'From', value: '<sip:alice@sip.example.com>;tag=4f2e1a7b' },
        { name: 'Call-ID', value: 'Zjc4YTAxNTk0ZTYxMGE3YjFkMDg2ZTU3NDg3YzkxYzk' },
        { name: 'CSeq', value: '1 REGISTER' },
        { name: 'Expires', value: '3600' },
        ...['INVITE', 'ACK', 'CANCEL', 'BYE', 'NOTIFY', 'REFER', 'MESSAGE', 'OPTIONS', 'INFO', 'SUBSCRIBE'].map(
          (value) => ({
            name: 'Allow',
            value,
          }),
        ),
        ...[
          'replaces',
          'norefersub',
          'extended-refer',
          'timer',
          'sec-agree',
          'outbound',
          'path',
          'X-cisco-serviceuri',
        ].map((value) => ({ name: 'Supported', value })),
        { name: 'User-Agent', value: 'Softphone 5.2.1 (iOS)' },
        { name: 'X-MPUSH', value: `i:com.example.app:${TOKEN}` },
        ...['presence', 'kpml', 'talk', 'as-feature-event'].map((value) => ({ name: 'Allow-Events', value })),
        { name: 'Content-Length', value: '0' },
      ],
      body: Buffer.alloc(0),
    });
  });

  it('reads RFC 8599 push parameters and +sip.instance from the Contact', () => {
    const register = request('real/register-rfc8599-apns.sip');
    expect(getContacts(register)).toEqual([
      {
        uri: {
          scheme: 'sip',
          user: 'bob',
          host: '10.0.0.12',
          port: 49152,
          params: {
            transport: 'tcp',
            'pn-provider': 'apns',
            'pn-prid': TOKEN,
            'pn-param': 'ABCD1234.com.example.voip',
          },
          headers: {},
        },
        params: {
          '+sip.instance': '<urn:uuid:0d5b6d7c-1b52-00b4-a5c0-9f6ed3f1e7a0>',
          '+org.linphone.specs': 'groupchat/1.1,lime',
          expires: '600',
          'reg-id': '1',
        },
      },
    ]);
    expect(getVias(register)).toEqual([
      {
        protocol: 'SIP/2.0',
        transport: 'TCP',
        host: '10.0.0.12',
        port: 49152,
        params: { alias: null, branch: 'z9hG4bK.xY2kP9Lm3', rport: null },
      },
    ]);
    // Two Accept headers, the second a list: all four values in order.
    expect(getHeaders(register, 'accept')).toEqual([
      'application/sdp',
      'text/plain',
      'application/vnd.gsma.rcs-ft-http+xml',
    ]);
  });

  it('reads the Eltex pn-params variant and an FCM token containing a colon', () => {
    const contacts = getContacts(request('real/register-eltex-pn-params.sip'));
    expect(contacts).not.toBe('*');
    const [contact] = contacts as Exclude<typeof contacts, '*'>;
    expect(contact!.uri.params).toEqual({
      'pn-provider': 'fcm',
      'pn-prid': 'dQw4w9WgXcQ:APA91bHPRgkFLJu6aZ0_Yx-token',
      'pn-params': 'example-project-42',
    });
    expect(contact!.params).toEqual({ expires: '300', q: '0.8' });
  });

  it('keeps a Mizutech X-MPUSH token with colons whole and reads its qop-less Authorization', () => {
    const register = request('real/register-mizutech-auth.sip');
    expect(getHeader(register, 'x-mpush')).toBe(
      'i:com.mycompany.myapp:c-10-ap_Kt0:G7SThkASJx2K4Rm1033iR0mIgzI1cLg5xxpST4cjrd_cqQquRLkHMi3eY4g',
    );
    expect(parseAuthHeader(getHeader(register, 'Authorization')!)).toEqual({
      scheme: 'Digest',
      params: {
        realm: 'sip.mydomain.com',
        nonce: 'WvDOe1rwzc2EDrmrsjELzwQLYnJ7tD3H',
        username: '1111',
        uri: 'sip:gw.mydomain.com',
        response: '1336341b517678240fb092e0cf1159a7',
      },
    });
    expect(getVias(register)[0]!.params).toEqual({ alias: null, branch: 'z9hG4bK.edThn', rport: null });
  });

  it('expands compact header names', () => {
    const register = request('real/register-fcm-compact.sip');
    expect(register.headers.map((h) => h.name)).toEqual([
      'Via',
      'Max-Forwards',
      'From',
      'To',
      'Call-ID',
      'CSeq',
      'Contact',
      'Supported',
      'Supported',
      'Supported',
      'Expires',
      ...Array(12).fill('Allow'),
      'Content-Length',
    ]);
    expect(getHeader(register, 'i')).toBe('6d1e4a9b2c@198.51.100.7');
    expect(getHeader(register, 'CALL-ID')).toBe('6d1e4a9b2c@198.51.100.7');
    const contacts = getContacts(register);
    expect(contacts !== '*' && contacts[0]!.uri.params['pn-prid']).toBe('fcmToken123:APA91bE-xyz');
    expect(contacts !== '*' && contacts[0]!.uri.params['ob']).toBeNull();
  });

  it('parses an INVITE with SDP, two Vias on one line and an escaped display name', () => {
    const invite = request('real/invite-sdp.sip');
    expect(invite.body.toString()).toContain('m=audio 40000 RTP/AVP 0 8 101\r\n');
    expect(invite.body.length).toBe(Number(getHeader(invite, 'Content-Length')));
    expect(getVias(invite).map((v) => [v.host, v.port, v.params['branch']])).toEqual([
      ['203.0.113.5', 5060, 'z9hG4bK776asdhds'],
      ['10.1.1.1', 5062, 'z9hG4bKnashds8'],
    ]);
    expect(getFrom(invite).displayName).toBe('Bob "The Caller"');
    expect(getTo(invite)).toEqual({
      displayName: 'Alice',
      uri: { scheme: 'sip', user: 'alice', host: 'sip.example.com', params: {}, headers: {} },
      params: {},
    });
    expect(getCSeq(invite)).toEqual({ seq: 314159, method: 'INVITE' });
  });

  it('parses responses: 200 with a Contact list and Feature-Caps, 401 with two challenges, folded 180', () => {
    const ok = response('real/response-200-register.sip');
    expect([ok.status, ok.reason]).toEqual([200, 'OK']);
    expect(getHeaders(ok, 'Contact')).toHaveLength(2);
    expect(getHeader(ok, 'Feature-Caps')).toBe('*;+sip.pns="apns";+sip.pnsreg="130"');
    expect(getHeader(ok, 'Date')).toBe('Sat, 21 Nov 2026 10:00:00 GMT');

    const challenge = response('real/response-401-two-challenges.sip');
    expect(getHeaders(challenge, 'www-authenticate').map((v) => /algorithm=([\w-]+)/.exec(v)?.[1])).toEqual([
      'SHA-256',
      'MD5',
    ]);

    const ringing = response('real/response-180-folded.sip');
    expect(getHeader(ringing, 'To')).toBe('Alice <sip:alice@sip.example.com>;tag=a6c85cf');
    expect(getTo(ringing).params['tag']).toBe('a6c85cf');
  });

  it('serializes back to bytes that parse to the same message', () => {
    for (const name of ['real/register-xmpush.sip', 'real/invite-sdp.sip', 'real/response-200-register.sip']) {
      const parsed = parseMessage(fixture(name));
      expect(parseMessage(serialize(parsed))).toEqual(parsed);
    }
  });

  it('serializes a message with one header per line and a Content-Length matching the body', () => {
    const invite = request('real/invite-sdp.sip');
    invite.body = Buffer.from('x');
    const wire = serialize(invite).toString();
    expect(wire.startsWith('INVITE sip:alice@sip.example.com SIP/2.0\r\nVia: SIP/2.0/UDP 203.0.113.5:5060;')).toBe(
      true,
    );
    expect(wire).toContain('\r\nContent-Length: 1\r\n\r\nx');
  });
});

describe('RFC 4475 valid messages', () => {
  it('wsinv: survives folding, odd whitespace and mixed-case names', () => {
    const invite = request('torture/wsinv.sip');
    expect(getTo(invite).params['tag']).toBe('1918181833n');
    expect(getFrom(invite)).toEqual({
      displayName: 'J Rosenberg \\"',
      uri: { scheme: 'sip', user: 'jdrosen', host: 'example.com', params: {}, headers: {} },
      params: { tag: '98asjd8' },
    });
    expect(getHeader(invite, 'Max-Forwards')).toBe('0068');
    expect(getCSeq(invite)).toEqual({ seq: 9, method: 'INVITE' });
    expect(getVias(invite).map((v) => [v.transport, v.host, v.params['branch']])).toEqual([
      ['UDP', '192.0.2.2', '390skdjuw'],
      ['TCP', 'spindle.example.com', 'z9hG4bK9ikj8'],
      ['UDP', '192.168.255.111', 'z9hG4bK30239'],
    ]);
    expect(getHeader(invite, 'NewFangledHeader')).toBe('newfangled value continued newfangled value');
    expect(getHeader(invite, 'Subject')).toBe('');
    const contacts = getContacts(invite);
    expect(contacts !== '*' && contacts[0]).toEqual({
      displayName: 'Quoted string ""',
      uri: { scheme: 'sip', user: 'jdrosen', host: 'example.com', params: {}, headers: {} },
      params: { newparam: 'newvalue', secondparam: null, q: '0.33' },
    });
    expect(invite.body.toString()).toMatch(/^v=0\r\n/);
  });

  it('intmeth: unusual method token and characters', () => {
    const message = request('torture/intmeth.sip');
    expect(message.method).toBe("!interesting-Method0123456789_*+`.%indeed'~");
    expect(getCSeq(message).method).toBe(message.method);
    expect(getFrom(message).params['tag']).toBe("_token~1'+`*%!-.");
  });

  it('esc01 and escnull: escaped characters stay escaped in URIs', () => {
    const esc = request('torture/esc01.sip');
    expect(parseUri(esc.uri).user).toBe('sips%3Auser%40example.com');
    expect(getHeader(esc, 'c')).toBe('application/sdp');
    const contacts = getContacts(esc);
    expect(contacts !== '*' && contacts[0]!.uri.params).toEqual({ '%6c%72': null, 'n%61me': 'v%61lue%25%34%31' });
    const escnull = request('torture/escnull.sip');
    expect(getHeaders(escnull, 'Contact')).toEqual(['<sip:%00@host5.example.com>', '<sip:%00%00@host5.example.com>']);
  });

  it('lwsdisp, semiuri, transports, cparam01/02, unksm, inv2543', () => {
    expect(getFrom(request('torture/lwsdisp.sip')).displayName).toBe('caller');
    const semi = request('torture/semiuri.sip');
    expect(parseUri(semi.uri)).toEqual({
      scheme: 'sip',
      user: 'user;par=u%40example.net',
      host: 'example.com',
      params: {},
      headers: {},
    });
    expect(getHeaders(semi, 'Accept')).toHaveLength(6);
    expect(getVias(request('torture/transports.sip')).map((v) => v.transport)).toEqual([
      'UDP',
      'SCTP',
      'TLS',
      'UNKNOWN',
      'TCP',
    ]);
    // addr-spec form: the parameter belongs to the header, not the URI.
    const c1 = getContacts(request('torture/cparam01.sip'));
    expect(c1 !== '*' && [c1[0]!.uri.params, c1[0]!.params]).toEqual([{}, { unknownparam: null }]);
    const c2 = getContacts(request('torture/cparam02.sip'));
    expect(c2 !== '*' && [c2[0]!.uri.params, c2[0]!.params]).toEqual([{ unknownparam: null }, {}]);
    expect(parseUri(request('torture/unksm.sip').uri)).toEqual({
      scheme: 'nobodyknowsthisscheme',
      host: '',
      params: {},
      headers: {},
      opaque: 'totallyopaquecontent',
    });
    const old = request('torture/inv2543.sip');
    expect(getVias(old)[0]!.params).toEqual({});
  });

  it('unreason and noreason: UTF-8 and empty reason phrases', () => {
    expect(response('torture/unreason.sip').reason).toBe('= 2**3 * 5**2 но сто девяносто девять - простое');
    expect(response('torture/noreason.sip')).toMatchObject({ status: 100, reason: '' });
  });
});

describe('RFC 4475 invalid messages', () => {
  const cases: [string, string, boolean][] = [
    // [fixture, reason, whether the request could still be answered]
    ['torture/badvers.sip', 'bad_version', true],
    ['torture/mismatch01.sip', 'bad_cseq', true],
    ['torture/mismatch02.sip', 'bad_cseq', true],
    ['torture/clerr.sip', 'truncated_body', true],
    ['torture/scalar02.sip', 'bad_cseq', true],
    ['torture/quotbal.sip', 'bad_name_addr', true],
    ['torture/ltgtruri.sip', 'bad_uri', true],
    ['torture/lwsruri.sip', 'bad_start_line', false],
    ['torture/lwsstart.sip', 'bad_start_line', false],
    ['torture/baddn.sip', 'bad_name_addr', true],
    ['torture/multi-to.sip', 'bad_header', true],
  ];
  it.each(cases)('%s is rejected with %s', (name, reason, answerable) => {
    const error = parseError(fixture(name));
    expect(error.reason).toBe(reason);
    expect(error.request !== undefined).toBe(answerable);
  });

  it('scalarlg: a response with an oversized CSeq is rejected', () => {
    expect(parseError(fixture('torture/scalarlg.sip')).reason).toBe('bad_cseq');
  });

  it('regbadct: a Contact URI with headers outside <> is rejected when read', () => {
    const register = request('torture/regbadct.sip');
    expect(() => getContacts(register)).toThrow(SipParseError);
  });
});

describe('parser edge cases', () => {
  const base = [
    'OPTIONS sip:bob@example.com SIP/2.0',
    'Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKabc',
    'From: <sip:alice@example.com>;tag=1',
    'To: <sip:bob@example.com>',
    'Call-ID: edge@192.0.2.1',
    'CSeq: 1 OPTIONS',
  ];

  it('takes the rest of a datagram as the body when Content-Length is absent, and none on a stream', () => {
    const text = `${base.join('\r\n')}\r\n\r\nhello`;
    expect(parseMessage(text).body.toString()).toBe('hello');
    expect(parseMessage(text, { stream: true }).body.toString()).toBe('');
  });

  it('ignores bytes after Content-Length in a datagram and leading CRLFs', () => {
    const text = `\r\n\r\n${base.join('\r\n')}\r\nContent-Length: 2\r\n\r\nhello`;
    expect(parseMessage(text).body.toString()).toBe('he');
  });

  it('accepts bare LF line endings', () => {
    expect(parseMessage(`${base.join('\n')}\nl: 0\n\n`).kind).toBe('request');
  });

  it.each([
    ['', 'empty'],
    ['\r\n\r\n', 'empty'],
    ['hello world', 'bad_start_line'],
    ['SIP/2.0 99 Too Low\r\n\r\n', 'bad_status'],
    [`${base.join('\r\n')}\r\nContent-Length: -1\r\n\r\n`, 'bad_content_length'],
    [`${base.join('\r\n')}\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc`, 'bad_content_length'],
    [`${base.slice(0, 4).join('\r\n')}\r\n\r\n`, 'missing_header'],
    [`${base.join('\r\n')}\r\nno colon here\r\n\r\n`, 'bad_header'],
    [`${base[0]}\r\nVia: garbage\r\n${base.slice(2).join('\r\n')}\r\n\r\n`, 'bad_via'],
    [`${base[0]!.replace('sip:bob@example.com', 'sip:bob@exa mple.com')}\r\n\r\n`, 'bad_start_line'],
    [`OPTIONS sip:bob@[::1 SIP/2.0\r\n${base.slice(1).join('\r\n')}\r\n\r\n`, 'bad_uri'],
  ])('rejects %j with %s', (input, reason) => {
    expect(parseError(input).reason).toBe(reason);
  });

  it('splits lists only outside quotes and angle brackets', () => {
    expect(splitHeaderList('"Doe, John" <sip:a@b;x=1,2>;q=0.5, <sip:c@d>')).toEqual([
      '"Doe, John" <sip:a@b;x=1,2>;q=0.5',
      '<sip:c@d>',
    ]);
    expect(() => splitHeaderList('"unterminated, <sip:a@b>')).toThrow(SipParseError);
  });

  it('parses IPv6 hosts, passwords and URI headers', () => {
    expect(parseUri('sips:alice:secret@[2001:db8::1]:5061;transport=tls?subject=hi&priority=urgent')).toEqual({
      scheme: 'sips',
      user: 'alice',
      password: 'secret',
      host: '[2001:db8::1]',
      port: 5061,
      params: { transport: 'tls' },
      headers: { subject: 'hi', priority: 'urgent' },
    });
    expect(() => parseUri('sip:alice@host:99999')).toThrow(SipParseError);
    expect(parseNameAddr('<sip:a@b>;+sip.instance="<urn:uuid:1>";expires=0').params).toEqual({
      '+sip.instance': '<urn:uuid:1>',
      expires: '0',
    });
  });

  it('expands every compact form RFC 3261 and its extensions define', () => {
    const compact: Record<string, string> = {
      i: 'Call-ID',
      m: 'Contact',
      f: 'From',
      t: 'To',
      v: 'Via',
      l: 'Content-Length',
      c: 'Content-Type',
      k: 'Supported',
      s: 'Subject',
      e: 'Content-Encoding',
      o: 'Event',
      u: 'Allow-Events',
      r: 'Refer-To',
      b: 'Referred-By',
      x: 'Session-Expires',
      a: 'Accept-Contact',
      j: 'Reject-Contact',
      d: 'Request-Disposition',
      y: 'Identity',
      n: 'Identity-Info',
    };
    const extra = Object.keys(compact)
      .filter((k) => !'ifvtl'.includes(k))
      .map((k) => `${k.toUpperCase()}: x`);
    const text = `${base.join('\r\n').replace('Call-ID:', 'i:').replace('From:', 'f:').replace('To:', 't:').replace('Via:', 'v:')}\r\n${extra.join('\r\n')}\r\nl: 0\r\n\r\n`;
    const names = parseMessage(text).headers.map((h) => h.name);
    expect(names).toEqual([
      'Via',
      'From',
      'To',
      'Call-ID',
      'CSeq',
      ...Object.keys(compact)
        .filter((k) => !'ifvtl'.includes(k))
        .map((k) => compact[k]),
      'Content-Length',
    ]);
  });

  it('recognises the Contact wildcard', () => {
    const text = `REGISTER sip:example.com SIP/2.0\r\n${base.slice(1, 5).join('\r\n')}\r\nCSeq: 2 REGISTER\r\nContact: *\r\nExpires: 0\r\n\r\n`;
    expect(getContacts(parseMessage(text))).toBe('*');
  });
});
