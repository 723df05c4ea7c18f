import { createSocket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createAckFor2xx,
  createRequest,
  getCSeq,
  getHeader,
  getHeaders,
  parseMessage,
  serialize,
  type SipRequest,
  type SipResponse,
} from '@pushrelay/sip';
import { get } from '@pushrelay/app-kit';
import { startBridge, TOKENS, type BridgeConfigInput, type RunningBridge } from '../src/index.js';
import { eventually } from './backends.js';
import { CALLER, TestPhone } from './phone.js';
import { RecordingTransport } from './support.js';

/** Short SIP timers, so that finished transactions are gone within about a second. */
const SIP_TIMERS = { t1: 20, t2: 80, t4: 100, timerD: 200 };
const USERS = 10;
const tokenOf = (i: number): string => (i + 1).toString(16).padStart(64, '0');
const mpushOf = (i: number) => [{ name: 'X-MPUSH', value: `i:com.example.mizu:${tokenOf(i)}` }];

interface Harness {
  bridge: RunningBridge;
  apns: RecordingTransport;
  phone(): Promise<TestPhone>;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function harness(config: Partial<BridgeConfigInput> = {}): Promise<Harness> {
  const apns = new RecordingTransport('apns');
  const bridge = await startBridge({
    config: {
      domain: '127.0.0.1',
      listen: { host: '127.0.0.1', port: 0, tcp: false },
      users: [...Array.from({ length: USERS }, (_, i) => ({ username: `user${i}`, password: 'secret' })), CALLER],
      calls: { ringTimeoutMs: 1000, pushWaitMs: 1000 },
      metrics: null,
      log: { level: 'silent' },
      shutdownTimeoutMs: 1000,
      ...config,
    },
    transports: { apns, fcm: new RecordingTransport('fcm') },
    sipTimers: SIP_TIMERS,
  });
  const phones: TestPhone[] = [];
  cleanups.push(async () => {
    for (const p of phones) await p.close();
    await bridge.stop();
  });
  return {
    bridge,
    apns,
    phone: async () => {
      const p = await TestPhone.start(bridge.sip.port);
      phones.push(p);
      return p;
    },
  };
}

function ack(invite: SipRequest, answer: SipResponse, caller: TestPhone): Promise<void> {
  return caller.layer.sendRaw(
    createAckFor2xx(invite, answer, { transport: 'UDP', host: '127.0.0.1', port: caller.port }),
    caller.bridge,
  );
}

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

/** One whole push cycle: INVITE, push, the woken phone's REGISTER, forward, 200, ACK, BYE. */
async function pushedCall(h: Harness, caller: TestPhone, i: number): Promise<void> {
  const before = h.apns.sent.length;
  const invite = caller.inviteRequest(`user${i}`);
  const answered = caller.send(invite);
  await eventually(`push ${i}`, () => (h.apns.sent.length > before ? true : undefined), 5000);
  const woken = await h.phone();
  expect((await woken.register(`user${i}`, 'secret', { headers: mpushOf(i) })).status).toBe(200);
  const answer = await answered;
  expect(answer.status).toBe(200);
  await ack(invite, answer, caller);
  expect((await caller.send(bye(invite, answer, caller))).status).toBe(200);
  await woken.close();
}

/** The structures a call holds while it runs; all of them must go once it is over. */
function held(bridge: RunningBridge): ReturnType<RunningBridge['load']> {
  return bridge.load();
}

describe('per-call structures', () => {
  it('are all freed once the calls end: transactions, timers, calls, reports, refusals', async () => {
    const h = await harness();
    const caller = (await h.phone()).asCaller();
    for (let i = 0; i < USERS; i++)
      expect((await (await h.phone()).register(`user${i}`, 'secret', { headers: mpushOf(i) })).status).toBe(200);
    // Idle: the registrations' own transactions are over too.
    const baseline = {
      serverTransactions: 0,
      clientTransactions: 0,
      timers: 0,
      calls: 0,
      inFlight: 0,
      heldCalls: 0,
      reports: 0,
      refused: 0,
    };
    await eventually(
      'the registrations to settle',
      () => (JSON.stringify(held(h.bridge)) === JSON.stringify(baseline) ? true : undefined),
      15_000,
    );
    const CALLS = 60;
    for (let n = 0; n < CALLS; n++) await pushedCall(h, caller, n % USERS);
    const during = held(h.bridge);
    // While the calls' pushes are fresh, their ids are remembered against a repeat.
    expect(during.reports).toBeGreaterThan(0);
    get(h.bridge.container, TOKENS.CallReports)!.sweep(Date.now() + 2000);
    await eventually(
      `the bridge back to ${JSON.stringify(baseline)} (now ${JSON.stringify(held(h.bridge))})`,
      () => (JSON.stringify(held(h.bridge)) === JSON.stringify(baseline) ? true : undefined),
      15_000,
    );
    expect(h.apns.sent.length).toBe(CALLS);
    // No queue entry, no report: the relay holds nothing for the calls that ended.
    expect(await get(h.bridge.container, TOKENS.Queue).size()).toBe(0);
  }, 60_000);
});

describe('overload control', () => {
  it('past maxHeldCalls answers new INVITEs and REGISTERs 503 with Retry-After, absorbs their retransmissions, and still completes the held call', async () => {
    const h = await harness({
      limits: { maxHeldCalls: 1, retryAfterSeconds: 7 },
      calls: { ringTimeoutMs: 10_000, pushWaitMs: 5000 },
    });
    const caller = (await h.phone()).asCaller();
    for (const i of [0, 1])
      expect((await (await h.phone()).register(`user${i}`, 'secret', { headers: mpushOf(i) })).status).toBe(200);

    const invite = caller.inviteRequest('user0');
    const answered = caller.send(invite);
    await eventually('the push', () => (h.apns.sent.length === 1 ? true : undefined), 5000);
    expect(h.bridge.load().heldCalls).toBe(1);

    // A second call: refused at once, statelessly.
    const raw = await rawSocket();
    cleanups.push(() => raw.close());
    const second = createRequest({
      method: 'INVITE',
      uri: `sip:user1@127.0.0.1:${h.bridge.sip.port}`,
      from: `<sip:+15551234567@127.0.0.1:${raw.port}>`,
      to: `<sip:user1@127.0.0.1:${h.bridge.sip.port}>`,
      callId: 'refused-call@127.0.0.1',
      via: { transport: 'UDP', host: '127.0.0.1', port: raw.port },
      contact: `<sip:+15551234567@127.0.0.1:${raw.port}>`,
    });
    raw.send(second, h.bridge.sip.port);
    await eventually('the 503', () => (raw.responses.length === 1 ? true : undefined), 2000);
    const refused = raw.responses[0]!;
    expect(refused.status).toBe(503);
    expect(getHeader(refused, 'Retry-After')).toBe('7');
    expect(get(h.bridge.container, TOKENS.SipLayer).findServerTransaction(second)).toBeUndefined();
    expect(h.bridge.load().refused).toBe(1);
    const rejections = (): number | undefined =>
      h.bridge.metrics.get('sip_bridge_overload_rejections_total', { method: 'INVITE', reason: 'held_calls' });
    expect(rejections()).toBe(1);

    // Its retransmission (same branch) is matched and answered again: no new call, no new count,
    // no transaction.
    raw.send(second, h.bridge.sip.port);
    await eventually('the second 503', () => (raw.responses.length === 2 ? true : undefined), 2000);
    expect(raw.responses.map((r) => r.status)).toEqual([503, 503]);
    expect(rejections()).toBe(1);
    expect(get(h.bridge.container, TOKENS.SipLayer).findServerTransaction(second)).toBeUndefined();
    expect(h.apns.sent).toHaveLength(1);

    // A REGISTER of a user no held call waits for is refused too...
    const other = await h.phone();
    const registerRefused = await other.send(other.registerRequest('user1', { headers: mpushOf(1) }));
    expect(registerRefused.status).toBe(503);
    expect(getHeader(registerRefused, 'Retry-After')).toBe('7');

    // ...but the woken phone the held call waits for gets in, and the call completes.
    const woken = await h.phone();
    expect((await woken.register('user0', 'secret', { headers: mpushOf(0) })).status).toBe(200);
    const answer = await answered;
    expect(answer.status).toBe(200);
    await ack(invite, answer, caller);
    expect((await caller.send(bye(invite, answer, caller))).status).toBe(200);

    // Below the bound again: admitted.
    expect(h.bridge.load().heldCalls).toBe(0);
    expect((await other.register('user1', 'secret', { headers: mpushOf(1) })).status).toBe(200);
  });

  it('reads its bounds from the config, with defaults', async () => {
    const h = await harness();
    expect(h.bridge.config.limits).toEqual({
      maxServerTransactions: 50_000,
      maxHeldCalls: 2000,
      maxOpenTransactions: 40_000,
      maxEventLoopLagMs: 50,
      retryAfterSeconds: 5,
    });
  });
});

/** A bare UDP socket: sends datagrams as given, collects the responses that come back. */
async function rawSocket(): Promise<{
  port: number;
  send(request: SipRequest, to: number): void;
  responses: SipResponse[];
  close(): Promise<void>;
}> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const responses: SipResponse[] = [];
  socket.on('message', (data) => {
    const message = parseMessage(data);
    if (message.kind === 'response') responses.push(message);
  });
  return {
    port: socket.address().port,
    responses,
    send: (request, to) => socket.send(serialize(request), to, '127.0.0.1'),
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
