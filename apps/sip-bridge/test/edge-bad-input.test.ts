import { createSocket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { addHeader, createRequest, generateCallId, generateTag, type SipRequest } from '@pushrelay/sip';
import { startBridge, TOKENS, type BridgeConfigInput, type RunningBridge } from '../src/index.js';
import type { EdgeLoad, EdgeService } from '../src/internal/edge/edge-service.js';
import { forwardBranch } from '../src/internal/edge/loop.js';
import { eventually } from './backends.js';
import { Kamailio, kamailioService } from './kamailio.js';
import { SipUa, type RegisterOptions } from './sip-ua.js';
import { freePort, RecordingTransport } from './support.js';

/** Short SIP timers, so that finished transactions are gone within about a second. */
const SIP_TIMERS = { t1: 20, t2: 80, t4: 100, timerD: 200 };
const MIZU: RegisterOptions = {
  headers: [
    { name: 'X-MPUSH', value: 'i:com.example.mizu:0a0b0c0d0e0f0a0b0c0d0e0f0a0b0c0d0e0f0a0b0c0d0e0f0a0b0c0d0e0f0a0b' },
  ],
};

interface Edge {
  bridge: RunningBridge;
  edge: EdgeService;
  kamailio?: Kamailio;
  phone(user: string, password?: string): Promise<SipUa>;
}

/** Everything the bridge and its edge part hold now: transactions, timers, calls, forwarded and held requests. */
interface Held {
  bridge: Pick<
    ReturnType<RunningBridge['load']>,
    'serverTransactions' | 'clientTransactions' | 'timers' | 'calls' | 'inFlight'
  >;
  edge: EdgeLoad;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function held(e: Edge): Held {
  // What a request holds while it runs; the remembered push ids and refusals have their own test.
  const { serverTransactions, clientTransactions, timers, calls, inFlight } = e.bridge.load();
  return { bridge: { serverTransactions, clientTransactions, timers, calls, inFlight }, edge: e.edge.load() };
}

/** Nothing in flight: no transaction, no request timer, no call; only the watched phones' keeper timers. */
function idle(watched: number): Held {
  return {
    bridge: { serverTransactions: 0, clientTransactions: 0, timers: 0, calls: 0, inFlight: 0 },
    edge: { forwarded: 0, held: 0, watched, timers: 2 * watched },
  };
}

async function settles(e: Edge, expected: Held): Promise<void> {
  await eventually(
    `the bridge back to ${JSON.stringify(expected)} (now ${JSON.stringify(held(e))})`,
    () => (JSON.stringify(held(e)) === JSON.stringify(expected) ? true : undefined),
    5000,
  );
}

async function edgeBridge(
  edgeConfig: BridgeConfigInput['edge'],
  extra: Partial<BridgeConfigInput> = {},
  kamailio?: Kamailio,
): Promise<Edge> {
  const bridge = await startBridge({
    config: {
      mode: 'edge',
      domain: kamailio?.domain ?? 'pbx.test',
      edge: edgeConfig,
      listen: { host: '127.0.0.1', port: 0, tcp: false },
      calls: { ringTimeoutMs: 5000, pushWaitMs: 3000 },
      metrics: null,
      log: { level: 'silent' },
      shutdownTimeoutMs: 1000,
      ...extra,
    },
    transports: { apns: new RecordingTransport('apns'), fcm: new RecordingTransport('fcm') },
    sipTimers: SIP_TIMERS,
  });
  const uas: SipUa[] = [];
  cleanups.push(async () => {
    for (const ua of uas) await ua.close();
    await bridge.stop();
    await kamailio?.stop();
  });
  const e: Edge = {
    bridge,
    edge: bridge.container.resolve<EdgeService>(TOKENS.Edge),
    phone: async (user, password = kamailio?.password(user) ?? 'x') => {
      const ua = await SipUa.start({
        user,
        password,
        domain: kamailio?.domain ?? 'pbx.test',
        outbound: { transport: 'udp', address: '127.0.0.1', port: bridge.sip.port },
      });
      uas.push(ua);
      return ua;
    },
  };
  if (kamailio) e.kamailio = kamailio;
  return e;
}

interface RawAnswer {
  status: number;
  reason: string;
  retryAfter: string | undefined;
}

/** Sends raw datagrams from one socket (paced) and collects the status lines that come back. */
async function raw(port: number, datagrams: string[], waitMs = 400): Promise<RawAnswer[]> {
  const socket = createSocket('udp4');
  const answers: RawAnswer[] = [];
  socket.on('message', (data) => {
    const text = data.toString('latin1');
    const line = /^SIP\/2\.0 (\d{3}) ([^\r\n]*)/.exec(text);
    if (line)
      answers.push({ status: Number(line[1]), reason: line[2]!, retryAfter: /\r\nRetry-After: (\d+)/.exec(text)?.[1] });
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

const head = (method: string, extra = '', cseq = `1 ${method}`, domain = 'kamailio.test') =>
  `${method} sip:alice@${domain} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:LOCALPORT;branch=z9hG4bK${Math.random().toString(16).slice(2)}\r\n` +
  `From: <sip:alice@${domain}>;tag=1\r\nTo: <sip:alice@${domain}>\r\nCall-ID: ${Math.random()}@x\r\nCSeq: ${cseq}\r\n` +
  `Max-Forwards: 70\r\n${extra}`;

describe.skipIf(!kamailioService.available)(
  'edge mode: bad input gets a clear SIP answer, and nothing stays held',
  () => {
    it('answers malformed messages and broken REGISTERs with 400/505/555 naming the problem, and keeps serving', async () => {
      const kamailio = await Kamailio.start();
      const e = await edgeBridge({ upstream: kamailio.uri('udp'), upstreamTimeoutMs: 2000 }, {}, kamailio);
      const alice = await e.phone('alice');
      expect((await alice.register(MIZU)).status).toBe(200);
      await settles(e, idle(1));
      const before = held(e);

      const answers = await raw(e.bridge.sip.port, [
        // Broken framing and headers: the parser's answers.
        head('INVITE', 'Content-Length: 0\r\n\r\n', 'one INVITE'),
        head('INVITE', 'Content-Length: 0\r\n\r\n', '1 BYE'),
        head('OPTIONS', 'Content-Length: 99\r\n\r\nshort'),
        head('OPTIONS', 'Content-Length: 0\r\n\r\n').replace(' SIP/2.0\r\n', ' SIP/3.0\r\n'),
        head('INVITE', 'Content-Length: 0\r\n\r\n').replace('To: <sip:alice@kamailio.test>', 'To: sip:alice@[::1'),
        // REGISTERs the edge refuses before anything goes upstream.
        head('REGISTER', 'Contact: <sip:alice@127.0.0.1:5999>\r\nContent-Length: 0\r\n\r\n').replace(
          'To: <sip:alice@kamailio.test>',
          'To: <sip:kamailio.test>',
        ),
        head('REGISTER', 'Contact: <sip:alice@127.0.0.1:5999>\r\nX-MPUSH: x:nothing\r\nContent-Length: 0\r\n\r\n'),
        head(
          'REGISTER',
          'Contact: <sip:alice@127.0.0.1:5999;pn-provider=webpush;pn-prid=abc>\r\nContent-Length: 0\r\n\r\n',
        ),
        // Nothing to answer to: dropped.
        'INVITE sip:alice@127.0.0.1 SIP/2.0\r\nFrom: <sip:x@y>;tag=1\r\n\r\n',
        '\u0000\u0001garbage',
        'SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKnothing\r\nContent-Length: 0\r\n\r\n',
      ]);
      expect(answers.map((a) => `${a.status} ${a.reason}`).sort()).toEqual([
        '400 Bad Request (To has no user part)',
        '400 Bad Request (bad_cseq)',
        '400 Bad Request (bad_cseq)',
        '400 Bad Request (bad_uri)',
        '400 Bad Request (mizutech: X-MPUSH: must be PROVIDER:PACKAGE:TOKEN)',
        '400 Bad Request (truncated_body)',
        '505 Version Not Supported',
        '555 Push Notification Service Not Supported',
      ]);
      // Nothing went upstream, no binding moved, and the bridge still serves.
      await settles(e, before);
      expect((await kamailio.location('alice')).map((b) => b.contact)).toEqual([alice.contactUri()]);
      const again = await e.phone('alice');
      expect((await again.register(MIZU)).status).toBe(200);
      await settles(e, idle(1));
    }, 30_000);

    it('answers 482 to a Path or Via loop and to a call that comes back, 483 when Max-Forwards is used up', async () => {
      const port = await freePort();
      // Calls for users Kamailio does not know come back to the bridge.
      const kamailio = await Kamailio.start({ forwardUnknownTo: `sip:127.0.0.1:${port}` });
      const e = await edgeBridge(
        { upstream: kamailio.uri('udp'), upstreamTimeoutMs: 2000 },
        { listen: { host: '127.0.0.1', port, tcp: false } },
        kamailio,
      );
      const alice = await e.phone('alice');
      const before = held(e);
      expect(before).toEqual(idle(0));

      const pathLoop = await alice.register({
        ...MIZU,
        headers: [...MIZU.headers!, { name: 'Path', value: `<sip:127.0.0.1:${port};lr>` }],
      });
      expect([pathLoop.status, pathLoop.reason]).toEqual([482, 'Loop Detected']);

      // An INVITE that already carries the Via the bridge would add when forwarding it.
      const invite = (): SipRequest =>
        createRequest({
          method: 'INVITE',
          uri: `sip:bob@${kamailio.domain}`,
          from: `<${alice.aor}>;tag=${generateTag()}`,
          to: `<sip:bob@${kamailio.domain}>`,
          callId: generateCallId('127.0.0.1'),
          via: alice.via(),
          contact: `<${alice.contactUri()}>`,
        });
      const viaLoop = invite();
      addHeader(viaLoop, 'Via', `SIP/2.0/UDP 127.0.0.1:${port};branch=${forwardBranch(viaLoop)}`);
      expect((await alice.send(viaLoop)).status).toBe(482);

      const exhausted = invite();
      exhausted.headers = exhausted.headers.map((h) => (h.name === 'Max-Forwards' ? { ...h, value: '0' } : h));
      const tooMany = await alice.send(exhausted);
      expect([tooMany.status, tooMany.reason]).toEqual([483, 'Too Many Hops']);

      // Through Kamailio and back: the bridge recognises its own forward.
      expect((await alice.call('nobody')).response.status).toBe(482);
      expect(e.bridge.metrics.get('sip_bridge_edge_loops_total', { method: 'REGISTER' })).toBe(1);
      expect(e.bridge.metrics.get('sip_bridge_edge_loops_total', { method: 'INVITE' })).toBe(2);
      expect(await kamailio.location('alice')).toEqual([]);
      await settles(e, before);
    }, 30_000);

    it('answers 408 when the upstream is silent, for REGISTER, INVITE and MESSAGE, and holds nothing afterwards', async () => {
      const silent = createSocket('udp4');
      await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', () => resolve()));
      cleanups.push(() => new Promise<void>((resolve) => silent.close(() => resolve())));
      let swallowed = 0;
      silent.on('message', () => swallowed++);
      const e = await edgeBridge({ upstream: `sip:127.0.0.1:${silent.address().port}`, upstreamTimeoutMs: 600 });
      const before = held(e);
      expect(before).toEqual(idle(0));
      const ua = await e.phone('alice');
      const [registered, call, message] = await Promise.all([
        ua.register(MIZU),
        ua.call('bob'),
        ua.message('bob', 'anyone?'),
      ]);
      expect([registered.status, registered.reason]).toEqual([408, 'Request Timeout']);
      expect([call.response.status, call.provisionals]).toEqual([408, [100]]);
      expect(message.status).toBe(408);
      expect(swallowed).toBeGreaterThanOrEqual(3);
      for (const method of ['REGISTER', 'INVITE', 'MESSAGE'])
        expect(e.bridge.metrics.get('sip_bridge_edge_upstream_timeouts_total', { method }), method).toBe(1);
      await settles(e, before);
    }, 20_000);

    it('answers a flood of REGISTERs beyond its limit with 503 and Retry-After, passes the rest to Kamailio, and comes back to idle', async () => {
      const kamailio = await Kamailio.start();
      const e = await edgeBridge(
        { upstream: kamailio.uri('udp'), upstreamTimeoutMs: 2000 },
        { limits: { maxServerTransactions: 25 } },
        kamailio,
      );
      const before = held(e);
      expect(before).toEqual(idle(0));
      const register = (i: number) =>
        `REGISTER sip:${kamailio.domain} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:LOCALPORT;branch=z9hG4bKflood${i};rport\r\n` +
        `From: <sip:alice@${kamailio.domain}>;tag=f${i}\r\nTo: <sip:alice@${kamailio.domain}>\r\nCall-ID: flood-${i}@x\r\n` +
        `CSeq: 1 REGISTER\r\nMax-Forwards: 70\r\nContact: <sip:alice@127.0.0.1:5999>\r\nContent-Length: 0\r\n\r\n`;
      const answers = await raw(
        e.bridge.sip.port,
        Array.from({ length: 300 }, (_, i) => register(i)),
        1500,
      );
      const byStatus = new Map<number, RawAnswer[]>();
      for (const a of answers) byStatus.set(a.status, [...(byStatus.get(a.status) ?? []), a]);
      // Kamailio's own challenge for those it saw, the bridge's 503 for the rest.
      expect([...byStatus.keys()].sort()).toEqual([401, 503]);
      expect(byStatus.get(401)!.length + byStatus.get(503)!.length).toBe(300);
      expect(byStatus.get(503)!.every((a) => a.retryAfter === '5')).toBe(true);
      expect(
        ['transactions', 'held_calls', 'event_loop_lag'].reduce(
          (sum, reason) =>
            sum + e.bridge.metrics.get('sip_bridge_overload_rejections_total', { method: 'REGISTER', reason }),
          0,
        ),
      ).toBe(byStatus.get(503)!.length);
      await settles(e, before);
      const alice = await e.phone('alice');
      expect((await alice.register(MIZU)).status).toBe(200);
      await settles(e, idle(1));
    }, 30_000);
  },
);
