import { createSocket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createAckFor2xx,
  createCancel,
  createRequest,
  createUdpTransport,
  digestClientAuthorization,
  digestHa1,
  DigestServer,
  generateTag,
  getCSeq,
  getHeader,
  getHeaders,
  parseAuthHeader,
  TransactionLayer,
  type SipRequest,
  type SipResponse,
  type SipTransport,
} from '@pushrelay/sip';
import { PostgresSipUserStore, type PostgresDatabase } from '@pushrelay/store-postgres';
import { startBridge, TOKENS, type BridgeConfigInput, type RunningBridge } from '../src/index.js';
import { eventually, POSTGRES_URL, postgresService, TestBackends } from './backends.js';
import { CALLER, TestPhone } from './phone.js';
import { freePort, RecordingTransport } from './support.js';

/** Short SIP timers, so that finished transactions are gone within about a second. */
const SIP_TIMERS = { t1: 20, t2: 80, t4: 100, timerD: 200 };

interface Harness {
  bridge: RunningBridge;
  phone(): Promise<TestPhone>;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function harness(config: Partial<BridgeConfigInput> = {}): Promise<Harness> {
  const bridge = await startBridge({
    config: {
      domain: '127.0.0.1',
      listen: { host: '127.0.0.1', port: 0, tcp: false },
      users: [{ username: 'alice', password: 'wonderland' }, { username: 'carol', password: 'looking-glass' }, CALLER],
      calls: { ringTimeoutMs: 5000, pushWaitMs: 3000 },
      metrics: null,
      log: { level: 'silent' },
      shutdownTimeoutMs: 1000,
      ...config,
    },
    transports: { apns: new RecordingTransport('apns'), fcm: new RecordingTransport('fcm') },
    sipTimers: SIP_TIMERS,
  });
  const phones: TestPhone[] = [];
  // Whatever a test did, nothing may stay held once it is over.
  cleanups.push(async () => {
    await settled(bridge);
    for (const p of phones) await p.close();
    await bridge.stop();
  });
  return {
    bridge,
    phone: async () => {
      const p = await TestPhone.start(bridge.sip.port);
      phones.push(p);
      return p;
    },
  };
}

/** Waits until the bridge holds no transaction, timer or call, and fails if that never happens. */
async function settled(bridge: RunningBridge): Promise<void> {
  const idle = { serverTransactions: 0, clientTransactions: 0, timers: 0, calls: 0, inFlight: 0 };
  await eventually(
    `the bridge back to idle (now ${JSON.stringify(bridge.load())})`,
    () => {
      const { serverTransactions, clientTransactions, timers, calls, inFlight } = bridge.load();
      const now = { serverTransactions, clientTransactions, timers, calls, inFlight };
      return JSON.stringify(now) === JSON.stringify(idle) ? true : undefined;
    },
    5000,
  );
}

/** A desk phone of `user` (no push parameters) that answers every INVITE at once. */
async function desk(h: Harness, user = 'alice', password = 'wonderland'): Promise<TestPhone> {
  const p = await h.phone();
  expect((await p.register(user, password)).status).toBe(200);
  return p;
}

function ack(invite: SipRequest, answer: SipResponse, caller: TestPhone): Promise<void> {
  return caller.layer.sendRaw(
    createAckFor2xx(invite, answer, { transport: 'UDP', host: '127.0.0.1', port: caller.port }),
    caller.bridge,
  );
}

/** The caller's BYE along the route set of the 2xx, with the next CSeq of its INVITE. */
function bye(invite: SipRequest, answer: SipResponse, caller: TestPhone): SipRequest {
  const contact = /<([^>]+)>/.exec(getHeader(answer, 'Contact') ?? '')![1]!;
  return createRequest({
    method: 'BYE',
    uri: contact,
    from: getHeader(invite, 'From')!,
    to: getHeader(answer, 'To')!,
    callId: getHeader(invite, 'Call-ID')!,
    cseq: getCSeq(invite).seq + 1,
    via: { transport: 'UDP', host: '127.0.0.1', port: caller.port },
    headers: getHeaders(answer, 'Record-Route')
      .reverse()
      .map((value) => ({ name: 'Route', value })),
  });
}

describe('requests from phones are digest-authenticated', () => {
  it('challenges an INVITE with 407 (SHA-256 and MD5, qop=auth, one nonce), and rings the callee once answered', async () => {
    const h = await harness();
    const alice = await desk(h);
    const caller = await h.phone();
    const challenged = await caller.send(caller.inviteRequest('alice'));
    expect(challenged.status).toBe(407);
    const challenges = getHeaders(challenged, 'Proxy-Authenticate').map((v) => parseAuthHeader(v)!.params);
    expect(challenges.map((c) => [c['realm'], c['algorithm'], c['qop']])).toEqual([
      ['127.0.0.1', 'SHA-256', 'auth'],
      ['127.0.0.1', 'MD5', 'auth'],
    ]);
    expect(challenges[0]!['nonce']).toBe(challenges[1]!['nonce']);
    expect(alice.invites()).toEqual([]);
    expect(h.bridge.metrics.get('sip_bridge_request_rejections_total', { method: 'INVITE', status: '407' })).toBe(1);

    caller.asCaller();
    const invite = caller.inviteRequest('alice');
    const answered = await caller.send(invite);
    expect(answered.status).toBe(200);
    expect(alice.invites()).toHaveLength(1);
    // The phone's credentials are the bridge's business: the callee never sees them.
    expect(getHeaders(alice.invites()[0]!, 'Proxy-Authorization')).toEqual([]);
    await ack(invite, answered, caller);
    expect((await caller.send(bye(invite, answered, caller))).status).toBe(200);
  });

  it('refuses a wrong password, an unknown user and a From that is not the authenticated user with 403', async () => {
    const h = await harness();
    await desk(h);
    const wrong = await h.phone();
    wrong.credentials = { username: CALLER.username, password: 'not-it' };
    expect((await wrong.send(wrong.inviteRequest('alice'))).status).toBe(403);
    const stranger = await h.phone();
    stranger.credentials = { username: 'mallory', password: 'x' };
    expect((await stranger.send(stranger.inviteRequest('alice'))).status).toBe(403);
    // carol's password, but calling as +15551234567.
    const spoofer = await h.phone();
    spoofer.credentials = { username: 'carol', password: 'looking-glass' };
    const refused = await spoofer.send(spoofer.inviteRequest('alice'));
    expect([refused.status, refused.reason]).toEqual([
      403,
      'Forbidden (From user differs from the authenticated user)',
    ]);
    expect(h.bridge.metrics.get('sip_bridge_request_rejections_total', { method: 'INVITE', status: '403' })).toBe(3);
  });

  it('answers an expired nonce with a new challenge marked stale=true', async () => {
    const h = await harness({ digest: { nonceTtlMs: 1000 } });
    await desk(h);
    const caller = await h.phone();
    const first = await caller.send(caller.inviteRequest('alice'));
    const challenge = getHeaders(first, 'Proxy-Authenticate')[0]!;
    await new Promise((r) => setTimeout(r, 1200));
    const late = caller.inviteRequest('alice');
    late.headers.push({
      name: 'Proxy-Authorization',
      value: digestClientAuthorization({ challenge, method: 'INVITE', uri: late.uri, ...CALLER }),
    });
    const again = await caller.send(late);
    expect(again.status).toBe(407);
    expect(getHeaders(again, 'Proxy-Authenticate').map((v) => parseAuthHeader(v)!.params['stale'])).toEqual([
      'true',
      'true',
    ]);
  });

  it('challenges other out-of-dialog requests too, but not an OPTIONS ping of the bridge itself', async () => {
    const h = await harness();
    const phone = await h.phone();
    const message = createRequest({
      method: 'MESSAGE',
      uri: `sip:alice@127.0.0.1:${h.bridge.sip.port}`,
      from: `<sip:${CALLER.username}@127.0.0.1>`,
      to: `<sip:alice@127.0.0.1>`,
      via: { transport: 'UDP', host: '127.0.0.1', port: phone.port },
      body: 'hello',
      contentType: 'text/plain',
    });
    expect((await phone.send(message)).status).toBe(407);
    const ping = createRequest({
      method: 'OPTIONS',
      uri: `sip:127.0.0.1:${h.bridge.sip.port}`,
      from: `<sip:${CALLER.username}@127.0.0.1>`,
      to: `<sip:127.0.0.1:${h.bridge.sip.port}>`,
      via: { transport: 'UDP', host: '127.0.0.1', port: phone.port },
    });
    expect((await phone.send(ping)).status).toBe(200);
  });
});

interface Trunk {
  port: number;
  received: SipRequest[];
  /** `once`: challenge the first attempt of each request; `always`: never accept; `never`: accept all. */
  challenge: 'once' | 'always' | 'never';
  /** `now`: 180 and 200 at once; `ring`: 180 only (a CANCEL gets 487). */
  answer: 'now' | 'ring';
  layer: TransactionLayer;
  close(): Promise<void>;
}

/** The trunk a test owns: a UAS on UDP that challenges with its own realm and answers calls. */
async function startTrunk(challenge: Trunk['challenge'] = 'once', port = 0): Promise<Trunk> {
  const transport: SipTransport = await createUdpTransport({ host: '127.0.0.1', port });
  const digest = new DigestServer({
    realm: 'trunk.example',
    credentials: (user) => (user === 'bridge' ? 'trunk-secret' : undefined),
  });
  const trunk: Trunk = {
    port: transport.local.port,
    received: [],
    challenge,
    answer: 'now',
    layer: undefined as unknown as TransactionLayer,
    close: () => transport.close(),
  };
  trunk.layer = new TransactionLayer({
    transports: [transport],
    timers: SIP_TIMERS,
    onRequest: async (request, tx) => {
      trunk.received.push(request);
      if (!tx) return;
      const hasToTag = /;\s*tag=/.test(getHeader(request, 'To') ?? '');
      if (!hasToTag && trunk.challenge !== 'never') {
        const auth = await digest.verify(request, { proxy: true });
        if (!auth.ok || trunk.challenge === 'always') {
          tx.respond(digest.challenge(request, { proxy: true, stale: auth.ok ? false : auth.stale }));
          return;
        }
      }
      if (request.method === 'INVITE' && !hasToTag) {
        const toTag = generateTag();
        tx.reply(180, 'Ringing', { toTag });
        if (trunk.answer === 'now')
          tx.reply(200, 'OK', { toTag, headers: [{ name: 'Contact', value: `<sip:pbx@127.0.0.1:${trunk.port}>` }] });
      } else tx.reply(200);
    },
    onCancel: (invite, cancel) => {
      trunk.received.push(cancel);
      invite.reply(487);
    },
  });
  cleanups.push(() => trunk.close());
  return trunk;
}

describe('calls to non-local users go to the trunk', () => {
  it('answers the trunk challenge with the trunk credentials and keeps the CSeq of each side right', async () => {
    const trunk = await startTrunk('once');
    const h = await harness({
      trunk: { uri: `sip:127.0.0.1:${trunk.port}`, username: 'bridge', password: 'trunk-secret' },
    });
    const caller = (await h.phone()).asCaller();
    const invite = caller.inviteRequest('+4930123456');
    const provisional: number[] = [];
    const answered = await caller.send(invite, (r) => provisional.push(r.status));
    expect(answered.status).toBe(200);
    expect(provisional).toContain(180);
    // The caller answered the bridge's 407 (CSeq 2); the bridge answered the trunk's (CSeq 3).
    expect(getCSeq(invite).seq).toBe(2);
    expect(getHeader(answered, 'CSeq')).toBe('2 INVITE');
    const invites = trunk.received.filter((r) => r.method === 'INVITE');
    expect(invites.map((r) => [r.uri, getHeader(r, 'CSeq')])).toEqual([
      [`sip:+4930123456@127.0.0.1:${trunk.port}`, '2 INVITE'],
      [`sip:+4930123456@127.0.0.1:${trunk.port}`, '3 INVITE'],
    ]);
    const authorizations = getHeaders(invites[1]!, 'Proxy-Authorization').map((v) => parseAuthHeader(v)!.params);
    expect(authorizations.map((p) => [p['username'], p['realm']])).toEqual([['bridge', 'trunk.example']]);
    expect(getHeaders(invites[1]!, 'Record-Route')).toEqual([
      expect.stringMatching(new RegExp(`^<sip:127\\.0\\.0\\.1:${h.bridge.sip.port};pr-cso=1;pr-cst=[0-9a-f]+;lr>$`)),
    ]);

    await ack(invite, answered, caller);
    await eventually('the ACK at the trunk', () => trunk.received.find((r) => r.method === 'ACK'));
    const ended = await caller.send(bye(invite, answered, caller));
    expect([ended.status, getHeader(ended, 'CSeq')]).toEqual([200, '3 BYE']);
    expect(
      trunk.received.filter((r) => r.method === 'ACK' || r.method === 'BYE').map((r) => getHeader(r, 'CSeq')),
    ).toEqual(['3 ACK', '4 BYE']);
    expect(h.bridge.metrics.get('sip_bridge_trunk_requests_total', { method: 'INVITE' })).toBe(1);
  });

  it('gives the caller 403 when the trunk refuses the credentials, and 408 when it does not answer', async () => {
    const trunk = await startTrunk('always');
    const h = await harness({
      trunk: { uri: `sip:127.0.0.1:${trunk.port}`, username: 'bridge', password: 'trunk-secret' },
    });
    const caller = (await h.phone()).asCaller();
    const refused = await caller.send(caller.inviteRequest('+4930123456'));
    expect([refused.status, refused.reason]).toEqual([403, 'Forbidden (the trunk refused the credentials)']);
    // Tried with credentials once: no loop of challenges.
    expect(trunk.received.filter((r) => r.method === 'INVITE')).toHaveLength(2);
    await trunk.close();
    const timedOut = await caller.send(caller.inviteRequest('+4930123456'));
    expect(timedOut.status).toBe(408);
  });

  it('relays a MESSAGE for a non-local user through the trunk, and 404s a call when there is no trunk', async () => {
    const trunk = await startTrunk('never');
    const h = await harness({ trunk: { uri: `sip:127.0.0.1:${trunk.port}` } });
    const caller = (await h.phone()).asCaller();
    const message = createRequest({
      method: 'MESSAGE',
      uri: `sip:+4930123456@127.0.0.1:${h.bridge.sip.port}`,
      from: `<sip:${CALLER.username}@127.0.0.1>`,
      to: `<sip:+4930123456@127.0.0.1>`,
      via: { transport: 'UDP', host: '127.0.0.1', port: caller.port },
      body: 'hello',
      contentType: 'text/plain',
    });
    expect((await caller.send(message)).status).toBe(200);
    const relayed = trunk.received.find((r) => r.method === 'MESSAGE')!;
    expect([relayed.uri, relayed.body.toString()]).toEqual([`sip:+4930123456@127.0.0.1:${trunk.port}`, 'hello']);

    const island = await harness();
    const lonely = (await island.phone()).asCaller();
    expect((await lonely.send(lonely.inviteRequest('+4930123456'))).status).toBe(404);
  });

  it('relays a CANCEL of a call ringing at the trunk', async () => {
    const trunk = await startTrunk('never');
    trunk.answer = 'ring';
    const h = await harness({ trunk: { uri: `sip:127.0.0.1:${trunk.port}` } });
    const caller = (await h.phone()).asCaller();
    const invite = caller.inviteRequest('+4930123456');
    let rang: () => void = () => {};
    const ringing = new Promise<void>((r) => (rang = r));
    const final = caller.send(invite, (r) => r.status === 180 && rang());
    await ringing;
    expect((await caller.send(createCancel(invite))).status).toBe(200);
    expect((await final).status).toBe(487);
    await eventually('the CANCEL at the trunk', () => trunk.received.find((r) => r.method === 'CANCEL'));
  });
});

describe('requests from the trunk', () => {
  it('are accepted from its address without a challenge, and from anywhere else only with its credentials', async () => {
    const trunk = await startTrunk('never');
    const h = await harness({
      trunk: { uri: `sip:127.0.0.1:${trunk.port}`, inbound: { username: 'pbx', password: 'pbx-secret' } },
    });
    const alice = await desk(h);
    const fromTrunk = createRequest({
      method: 'INVITE',
      uri: `sip:alice@127.0.0.1:${h.bridge.sip.port}`,
      from: '<sip:+4930123456@trunk.example>',
      to: '<sip:alice@127.0.0.1>',
      via: { transport: 'UDP', host: '127.0.0.1', port: trunk.port },
      contact: `<sip:pbx@127.0.0.1:${trunk.port}>`,
    });
    const answered = await new Promise<SipResponse>((resolve, reject) =>
      trunk.layer.sendRequest(
        fromTrunk,
        { transport: 'udp', address: '127.0.0.1', port: h.bridge.sip.port },
        {
          onResponse: (r) => r.status >= 200 && resolve(r),
          onTimeout: () => reject(new Error('timeout')),
        },
      ),
    );
    expect(answered.status).toBe(200);
    expect(alice.invites()).toHaveLength(1);
    expect(h.bridge.metrics.get('sip_bridge_inbound_trunk_requests_total', { how: 'address' })).toBe(1);

    // The same INVITE from another address is a stranger's: 407, and the trunk's account opens it.
    const elsewhere = await h.phone();
    const invite = elsewhere.inviteRequest('alice');
    invite.headers = invite.headers.map((x) =>
      x.name === 'From' ? { name: 'From', value: `<sip:+4930123456@trunk.example>;tag=${generateTag()}` } : x,
    );
    expect((await elsewhere.send(invite)).status).toBe(407);
    elsewhere.credentials = { username: 'pbx', password: 'pbx-secret' };
    expect((await elsewhere.send(invite)).status).toBe(200);
    expect(alice.invites()).toHaveLength(2);
    expect(h.bridge.metrics.get('sip_bridge_inbound_trunk_requests_total', { how: 'credentials' })).toBe(1);
    // The trunk's account is no phone: it cannot register.
    expect((await (await h.phone()).register('pbx', 'pbx-secret')).status).toBe(403);
  });

  it('never sends a trunk call back to the trunk: a call for someone unknown here is 404', async () => {
    const trunk = await startTrunk('never');
    const h = await harness({ trunk: { uri: `sip:127.0.0.1:${trunk.port}` } });
    const request = createRequest({
      method: 'INVITE',
      uri: `sip:nobody@127.0.0.1:${h.bridge.sip.port}`,
      from: '<sip:+4930123456@trunk.example>',
      to: '<sip:nobody@127.0.0.1>',
      via: { transport: 'UDP', host: '127.0.0.1', port: trunk.port },
    });
    const answer = await new Promise<SipResponse>((resolve) =>
      trunk.layer.sendRequest(
        request,
        { transport: 'udp', address: '127.0.0.1', port: h.bridge.sip.port },
        {
          onResponse: (r) => r.status >= 200 && resolve(r),
        },
      ),
    );
    expect(answer.status).toBe(404);
    expect(trunk.received.filter((r) => r.method === 'INVITE')).toEqual([]);
  });
});

describe('bad input gets a clear SIP answer, and nothing stays held', () => {
  interface RawAnswer {
    status: number;
    reason: string;
    retryAfter: string | undefined;
  }

  /**
   * Sends raw datagrams from one socket (paced, so that the kernel keeps every answer) and
   * collects the status lines that come back. Answers to garbage echo the garbage, so they are
   * read as text, not parsed.
   */
  async function raw(port: number, datagrams: string[], waitMs = 300): Promise<RawAnswer[]> {
    const socket = createSocket('udp4');
    const answers: RawAnswer[] = [];
    socket.on('message', (data) => {
      const text = data.toString('latin1');
      const line = /^SIP\/2\.0 (\d{3}) ([^\r\n]*)/.exec(text);
      if (line)
        answers.push({
          status: Number(line[1]),
          reason: line[2]!,
          retryAfter: /\r\nRetry-After: (\d+)/.exec(text)?.[1],
        });
    });
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
    const local = socket.address().port;
    for (const [i, d] of datagrams.entries()) {
      socket.send(d.replaceAll('LOCALPORT', String(local)), port, '127.0.0.1');
      if (i % 20 === 19) await new Promise((r) => setTimeout(r, 5));
    }
    await new Promise((r) => setTimeout(r, waitMs));
    socket.close();
    return answers;
  }

  const head = (method: string, extra = '', cseq = `1 ${method}`) =>
    `${method} sip:alice@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:LOCALPORT;branch=z9hG4bK${Math.random().toString(16).slice(2)}\r\n` +
    `From: <sip:x@127.0.0.1>;tag=1\r\nTo: <sip:alice@127.0.0.1>\r\nCall-ID: ${Math.random()}@x\r\nCSeq: ${cseq}\r\n${extra}`;

  it('answers malformed requests with 400 or 505 naming the problem, drops what cannot be answered, and keeps serving', async () => {
    const h = await harness();
    const answers = await raw(h.bridge.sip.port, [
      head('INVITE', 'Content-Length: 0\r\n\r\n', 'one INVITE'),
      head('INVITE', 'Content-Length: 0\r\n\r\n', '1 BYE'),
      head('OPTIONS', 'Content-Length: 99\r\n\r\nshort'),
      head('OPTIONS', 'Content-Length: 0\r\n\r\n').replace(' SIP/2.0\r\n', ' SIP/3.0\r\n'),
      head('INVITE', 'Contact: <sip:alice@127.0.0.1\r\nContent-Length: 0\r\n\r\n').replace(
        'To: <sip:alice@127.0.0.1>',
        'To: sip:alice@[::1',
      ),
      'INVITE sip:alice@127.0.0.1 SIP/2.0\r\nFrom: <sip:x@y>;tag=1\r\n\r\n',
      '\u0000\u0001garbage',
    ]);
    expect(answers.map((a) => [a.status, a.reason]).sort()).toEqual([
      [400, 'Bad Request (bad_cseq)'],
      [400, 'Bad Request (bad_cseq)'],
      [400, 'Bad Request (bad_uri)'],
      [400, 'Bad Request (truncated_body)'],
      [505, 'Version Not Supported'],
    ]);
    const caller = (await h.phone()).asCaller();
    await desk(h);
    expect((await caller.send(caller.inviteRequest('alice'))).status).toBe(200);
  });

  it('answers 483 when Max-Forwards is used up, and 482 to a request that comes back through the bridge', async () => {
    const port = await freePort();
    // A trunk pointing back at the bridge: a call out comes straight back in.
    const h = await harness({
      listen: { host: '127.0.0.1', port, tcp: false },
      trunk: { uri: `sip:127.0.0.1:${port}` },
    });
    await desk(h);
    const caller = (await h.phone()).asCaller();
    const exhausted = caller.inviteRequest('alice');
    exhausted.headers = exhausted.headers.map((x) =>
      x.name === 'Max-Forwards' ? { name: 'Max-Forwards', value: '0' } : x,
    );
    expect((await caller.send(exhausted)).status).toBe(483);
    const looped = await caller.send(caller.inviteRequest('+4930123456'));
    expect([looped.status, looped.reason]).toEqual([482, 'Loop Detected']);
    expect(h.bridge.metrics.get('sip_bridge_request_rejections_total', { method: 'INVITE', status: '482' })).toBe(1);
  });

  it('answers a flood of REGISTERs beyond its limit with 503 and Retry-After, and comes back to idle', async () => {
    const h = await harness({ limits: { maxServerTransactions: 25 } });
    const register = (i: number) =>
      `REGISTER sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:LOCALPORT;branch=z9hG4bKflood${i};rport\r\n` +
      `From: <sip:alice@127.0.0.1>;tag=f${i}\r\nTo: <sip:alice@127.0.0.1>\r\nCall-ID: flood-${i}@x\r\nCSeq: 1 REGISTER\r\n` +
      `Contact: <sip:alice@127.0.0.1:5999>\r\nContent-Length: 0\r\n\r\n`;
    const answers = await raw(
      h.bridge.sip.port,
      Array.from({ length: 300 }, (_, i) => register(i)),
      1500,
    );
    const byStatus = new Map<number, RawAnswer[]>();
    for (const a of answers) byStatus.set(a.status, [...(byStatus.get(a.status) ?? []), a]);
    expect([...byStatus.keys()].sort()).toEqual([401, 503]);
    expect((byStatus.get(401)?.length ?? 0) + (byStatus.get(503)?.length ?? 0)).toBe(300);
    expect(byStatus.get(503)!.every((a) => a.retryAfter === '5')).toBe(true);
    expect(
      ['transactions', 'held_calls', 'event_loop_lag'].reduce(
        (sum, reason) =>
          sum + h.bridge.metrics.get('sip_bridge_overload_rejections_total', { method: 'REGISTER', reason }),
        0,
      ),
    ).toBe(byStatus.get(503)!.length);
    await settled(h.bridge);
    expect((await (await h.phone()).register('alice', 'wonderland')).status).toBe(200);
  });
});

describe.skipIf(!postgresService.available)('users in PostgreSQL, as HA1s', () => {
  it('registers and calls with the HA1s of the sip_users table, and refuses what it does not hold', async () => {
    const backends = new TestBackends('users');
    await backends.connect();
    cleanups.push(() => backends.drop());
    const h = await harness({
      users: undefined,
      store: { engine: 'postgres', url: POSTGRES_URL, schema: backends.schema },
      auth: { users: 'postgres', userCacheTtlMs: 0 },
    });
    const users = new PostgresSipUserStore(h.bridge.container.resolve<PostgresDatabase>(TOKENS.Database));
    const put = (username: string, password: string, algorithms: ('MD5' | 'SHA-256')[] = ['MD5', 'SHA-256']) =>
      users.put({
        realm: '127.0.0.1',
        username,
        ...(algorithms.includes('MD5') ? { ha1Md5: digestHa1('MD5', username, '127.0.0.1', password) } : {}),
        ...(algorithms.includes('SHA-256') ? { ha1Sha256: digestHa1('SHA-256', username, '127.0.0.1', password) } : {}),
      });
    await put('alice', 'wonderland');
    await put(CALLER.username, CALLER.password, ['SHA-256']);
    const { rows } = await backends.db.query(`SELECT * FROM "${backends.schema}".sip_users ORDER BY username`);
    expect(JSON.stringify(rows)).not.toContain('wonderland');

    const phone = await h.phone();
    expect((await phone.register('alice', 'wonderland', { algorithm: 'SHA-256' })).status).toBe(200);
    expect((await phone.register('alice', 'wonderland', { algorithm: 'MD5' })).status).toBe(200);
    expect((await phone.register('alice', 'not-it', { algorithm: 'MD5' })).status).toBe(403);
    expect((await (await h.phone()).register('bob', 'x')).status).toBe(403);

    const caller = (await h.phone()).asCaller();
    expect((await caller.send(caller.inviteRequest('alice'))).status).toBe(200);
    expect((await caller.send(caller.inviteRequest('bob'))).status).toBe(404);
    expect(phone.invites()).toHaveLength(1);

    // A changed password takes effect at once here (userCacheTtlMs: 0); a disabled user is gone.
    await put('alice', 'new-wonderland');
    expect((await phone.register('alice', 'wonderland')).status).toBe(403);
    expect((await phone.register('alice', 'new-wonderland')).status).toBe(200);
    await backends.db.query(`UPDATE "${backends.schema}".sip_users SET enabled = false WHERE username = 'alice'`);
    expect((await phone.register('alice', 'new-wonderland')).status).toBe(403);
  });
});
