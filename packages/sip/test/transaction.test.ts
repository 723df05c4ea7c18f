import { describe, expect, it } from 'vitest';
import {
  createRequest,
  createResponse,
  getCSeq,
  getTo,
  TransactionLayer,
  type Endpoint,
  type ServerTransaction,
  type SipMessage,
  type SipRequest,
  type SipResponse,
  type TransactionLayerOptions,
} from '../src/index.js';
import { FakeClock } from './support/fake-clock.js';

const udpPeer: Endpoint = { transport: 'udp', address: '192.0.2.10', port: 5060 };
const tcpPeer: Endpoint = { transport: 'tcp', address: '192.0.2.10', port: 5060, connectionId: 'tcp-1' };

interface Sent {
  at: number;
  message: SipMessage;
  to: Endpoint;
}

function setup(overrides: Partial<TransactionLayerOptions> = {}) {
  const clock = new FakeClock();
  const sent: Sent[] = [];
  const requests: { request: SipRequest; tx: ServerTransaction | null }[] = [];
  const layer = new TransactionLayer({
    clock,
    send: async (message, to) => {
      sent.push({ at: clock.now(), message, to });
    },
    onRequest: (request, tx) => void requests.push({ request, tx }),
    ...overrides,
  });
  return { clock, sent, requests, layer };
}

function request(method: string, transport = 'UDP', branch = `z9hG4bK${method.toLowerCase()}1`): SipRequest {
  return createRequest({
    method,
    uri: 'sip:bob@example.com',
    from: '<sip:alice@example.com>;tag=a1',
    to: '<sip:bob@example.com>',
    callId: 'call-1@example.com',
    cseq: 1,
    via: { transport, host: '192.0.2.10', port: 5060, branch },
  });
}

function summary(sent: Sent[]): string[] {
  return sent.map((s) =>
    s.message.kind === 'request' ? `${s.at} ${s.message.method}` : `${s.at} ${s.message.status}`,
  );
}

describe('non-INVITE client transaction', () => {
  it('retransmits over UDP at T1, 2T1, 4T1... capped at T2, then times out with Timer F', () => {
    const { clock, sent, layer } = setup();
    let timedOut = 0;
    const tx = layer.sendRequest(request('OPTIONS'), udpPeer, { onTimeout: () => timedOut++ });
    clock.advance(40_000);
    expect(sent.map((s) => s.at)).toEqual([0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]);
    expect(timedOut).toBe(1);
    expect(tx.state).toBe('terminated');
    expect(tx.terminationReason).toBe('timeout');
    expect(layer.clientTransactionCount).toBe(0);
  });

  it('stops retransmitting and leaves the table when abandoned, without a timeout callback', () => {
    const { clock, sent, layer } = setup();
    let timedOut = 0;
    const tx = layer.sendRequest(request('OPTIONS'), udpPeer, { onTimeout: () => timedOut++ });
    clock.advance(600);
    tx.abandon();
    clock.advance(40_000);
    expect(sent.map((s) => s.at)).toEqual([0, 500]);
    expect([timedOut, tx.state, tx.activeTimers, layer.clientTransactionCount]).toEqual([0, 'terminated', [], 0]);
  });

  it('uses injected T1 and T2', () => {
    const { clock, sent, layer } = setup({ timers: { t1: 100, t2: 300 } });
    layer.sendRequest(request('OPTIONS'), udpPeer);
    clock.advance(10_000);
    expect(sent.map((s) => s.at)).toEqual([
      0, 100, 300, 600, 900, 1200, 1500, 1800, 2100, 2400, 2700, 3000, 3300, 3600, 3900, 4200, 4500, 4800, 5100, 5400,
      5700, 6000, 6300,
    ]);
  });

  it('does not retransmit over TCP but still times out at 64*T1', () => {
    const { clock, sent, layer } = setup();
    let timedOutAt = -1;
    layer.sendRequest(request('OPTIONS', 'TCP'), tcpPeer, { onTimeout: () => (timedOutAt = clock.now()) });
    clock.advance(40_000);
    expect(sent.map((s) => s.at)).toEqual([0]);
    expect(timedOutAt).toBe(32_000);
  });

  it('retransmits every T2 once a provisional arrives, and holds Completed for T4 on UDP', () => {
    const { clock, sent, layer } = setup();
    const seen: number[] = [];
    const options = request('OPTIONS');
    const tx = layer.sendRequest(options, udpPeer, { onResponse: (r) => seen.push(r.status) });
    clock.advance(600);
    layer.receive(createResponse(options, 100), udpPeer);
    expect(tx.state).toBe('proceeding');
    clock.advance(9000); // next E at 1500, then every 4000
    expect(sent.map((s) => s.at)).toEqual([0, 500, 1500, 5500, 9500]);
    const ok = createResponse(options, 200);
    layer.receive(ok, udpPeer);
    layer.receive(ok, udpPeer); // retransmission: absorbed
    expect(seen).toEqual([100, 200]);
    expect(tx.state).toBe('completed');
    expect(tx.activeTimers).toEqual(['K']);
    clock.advance(4999);
    expect(tx.state).toBe('completed');
    clock.advance(1);
    expect(tx.state).toBe('terminated');
    expect(sent).toHaveLength(5);
  });

  it('terminates at once after a final response over TCP (Timer K = 0)', () => {
    const { clock, layer } = setup();
    const register = request('REGISTER', 'TCP');
    const tx = layer.sendRequest(register, tcpPeer);
    layer.receive(createResponse(register, 200), tcpPeer);
    clock.advance(0);
    expect(tx.state).toBe('terminated');
    expect(tx.terminationReason).toBe('done');
  });

  it('reports a transport failure', async () => {
    const clock = new FakeClock();
    const errors: unknown[] = [];
    const layer = new TransactionLayer({
      clock,
      send: () => Promise.reject(new Error('connection refused')),
      onRequest: () => {},
    });
    const tx = layer.sendRequest(request('OPTIONS', 'TCP'), tcpPeer, { onTransportError: (e) => errors.push(e) });
    await new Promise((resolve) => setImmediate(resolve));
    expect(errors.map((e) => (e as Error).message)).toEqual(['connection refused']);
    expect(tx.terminationReason).toBe('transport_error');
  });
});

describe('INVITE client transaction', () => {
  it('retransmits with Timer A doubling until Timer B fires at 64*T1', () => {
    const { clock, sent, layer } = setup();
    let timedOut = false;
    layer.sendRequest(request('INVITE'), udpPeer, { onTimeout: () => (timedOut = true) });
    clock.advance(40_000);
    expect(sent.map((s) => s.at)).toEqual([0, 500, 1500, 3500, 7500, 15500, 31500]);
    expect(timedOut).toBe(true);
  });

  it('stops retransmitting on a provisional and stays until the final', () => {
    const { clock, sent, layer } = setup();
    const invite = request('INVITE');
    const tx = layer.sendRequest(invite, udpPeer);
    clock.advance(600);
    layer.receive(createResponse(invite, 180), udpPeer);
    clock.advance(120_000);
    expect(sent.map((s) => s.at)).toEqual([0, 500]);
    expect(tx.state).toBe('proceeding');
  });

  it('ACKs a failure itself, re-ACKs retransmissions and waits Timer D (32 s on UDP)', () => {
    const { clock, sent, layer } = setup();
    const invite = request('INVITE');
    const seen: number[] = [];
    const tx = layer.sendRequest(invite, udpPeer, { onResponse: (r) => seen.push(r.status) });
    const busy = createResponse(invite, 486, undefined, { toTag: 'b2' });
    layer.receive(busy, udpPeer);
    clock.advance(1000);
    layer.receive(busy, udpPeer);
    expect(summary(sent)).toEqual(['0 INVITE', '0 ACK', '1000 ACK']);
    const ack = sent[1]!.message as SipRequest;
    expect(getCSeq(ack)).toEqual({ seq: 1, method: 'ACK' });
    expect(getTo(ack).params['tag']).toBe('b2');
    expect(ack.headers.find((h) => h.name === 'Via')).toEqual(invite.headers.find((h) => h.name === 'Via'));
    expect(seen).toEqual([486]);
    clock.advance(30_999);
    expect(tx.state).toBe('completed');
    clock.advance(1);
    expect(tx.state).toBe('terminated');
  });

  it('uses Timer D = 0 over TCP', () => {
    const { clock, layer } = setup();
    const invite = request('INVITE', 'TCP');
    const tx = layer.sendRequest(invite, tcpPeer);
    layer.receive(createResponse(invite, 603), tcpPeer);
    clock.advance(0);
    expect(tx.state).toBe('terminated');
  });

  it('enters Accepted on 2xx (RFC 6026), passes every 2xx up and ends with Timer M', () => {
    const { clock, sent, layer } = setup();
    const invite = request('INVITE');
    const seen: string[] = [];
    const tx = layer.sendRequest(invite, udpPeer, {
      onResponse: (r) => seen.push(`${r.status}:${getTo(r).params['tag']}`),
    });
    layer.receive(createResponse(invite, 200, undefined, { toTag: 'x' }), udpPeer);
    expect(tx.state).toBe('accepted');
    layer.receive(createResponse(invite, 200, undefined, { toTag: 'y' }), udpPeer); // a forked answer
    expect(seen).toEqual(['200:x', '200:y']);
    expect(summary(sent)).toEqual(['0 INVITE']); // ACK for 2xx belongs to the TU
    clock.advance(31_999);
    expect(tx.state).toBe('accepted');
    clock.advance(1);
    expect(tx.state).toBe('terminated');
  });
});

describe('INVITE server transaction', () => {
  it('sends 100 Trying, retransmits a failure at T1..T2 until Timer H, and reports the missing ACK', () => {
    let timeouts = 0;
    const { clock, sent, requests, layer } = setup({ onServerTimeout: () => timeouts++ });
    layer.receive(request('INVITE'), udpPeer);
    const tx = requests[0]!.tx!;
    expect(tx.state).toBe('proceeding');
    tx.reply(486);
    clock.advance(40_000);
    expect(summary(sent)).toEqual([
      '0 100',
      '0 486',
      '500 486',
      '1500 486',
      '3500 486',
      '7500 486',
      '11500 486',
      '15500 486',
      '19500 486',
      '23500 486',
      '27500 486',
      '31500 486',
    ]);
    expect(timeouts).toBe(1);
    expect(tx.terminationReason).toBe('timeout');
  });

  it('resends the last provisional on a retransmitted INVITE and stops on ACK (Timer I = T4)', () => {
    const { clock, sent, requests, layer } = setup();
    const invite = request('INVITE');
    layer.receive(invite, udpPeer);
    layer.receive(invite, udpPeer);
    expect(requests).toHaveLength(1);
    const tx = requests[0]!.tx!;
    const failure = tx.reply(480);
    clock.advance(600);
    const ack: SipRequest = {
      ...invite,
      method: 'ACK',
      headers: invite.headers.map((h) => (h.name === 'CSeq' ? { name: 'CSeq', value: '1 ACK' } : h)),
    };
    layer.receive(ack, udpPeer);
    expect(tx.state).toBe('confirmed');
    expect(getTo(failure).params['tag']).toBeDefined();
    clock.advance(4999);
    expect(tx.state).toBe('confirmed');
    clock.advance(1);
    expect(tx.state).toBe('terminated');
    expect(summary(sent)).toEqual(['0 100', '0 100', '0 480', '500 480']);
    expect(requests).toHaveLength(1); // the ACK of a failure is absorbed
  });

  it('does not retransmit responses over TCP', () => {
    const { clock, sent, requests, layer } = setup();
    layer.receive(request('INVITE', 'TCP'), tcpPeer);
    requests[0]!.tx!.reply(486);
    clock.advance(40_000);
    expect(summary(sent)).toEqual(['0 100', '0 486']);
    expect(sent.every((s) => s.to.connectionId === 'tcp-1')).toBe(true);
  });

  it('enters Accepted on 2xx, absorbs INVITE retransmissions, passes the ACK up and ends with Timer L', () => {
    const acks: SipRequest[] = [];
    const { clock, sent, requests, layer } = setup({ onAck: (ack) => acks.push(ack) });
    const invite = request('INVITE');
    layer.receive(invite, udpPeer);
    const tx = requests[0]!.tx!;
    const ok = tx.reply(200);
    expect(tx.state).toBe('accepted');
    layer.receive(invite, udpPeer);
    tx.respond(ok); // the TU's own 2xx retransmission goes out
    const ack = createRequest({
      method: 'ACK',
      uri: 'sip:bob@example.com',
      from: '<sip:alice@example.com>;tag=a1',
      to: '<sip:bob@example.com>',
      callId: 'call-1@example.com',
      cseq: 1,
      via: { transport: 'UDP', host: '192.0.2.10', port: 5060, branch: 'z9hG4bKinvite1' },
    });
    layer.receive(ack, udpPeer);
    expect(acks).toHaveLength(1);
    expect(summary(sent)).toEqual(['0 100', '0 200', '0 200']);
    clock.advance(32_000);
    expect(tx.state).toBe('terminated');
  });
});

describe('ACK for a 2xx that reuses the INVITE branch', () => {
  it('goes to onRequest with a null transaction when no onAck is given', () => {
    const { requests, layer } = setup();
    const invite = request('INVITE');
    layer.receive(invite, udpPeer);
    requests[0]!.tx!.reply(200);
    layer.receive(request('ACK', 'UDP', 'z9hG4bKinvite1'), udpPeer);
    expect(requests.map((r) => [r.request.method, r.tx === null])).toEqual([
      ['INVITE', false],
      ['ACK', true],
    ]);
  });
});

describe('non-INVITE server transaction', () => {
  it('answers retransmissions from Completed and ends after Timer J (64*T1 on UDP, 0 on TCP)', () => {
    const { clock, sent, requests, layer } = setup();
    const register = request('REGISTER');
    layer.receive(register, udpPeer);
    const tx = requests[0]!.tx!;
    expect(tx.state).toBe('trying');
    layer.receive(register, udpPeer); // nothing to resend yet
    tx.reply(200);
    layer.receive(register, udpPeer);
    expect(summary(sent)).toEqual(['0 200', '0 200']);
    clock.advance(31_999);
    expect(tx.state).toBe('completed');
    clock.advance(1);
    expect(tx.state).toBe('terminated');

    const tcp = setup();
    tcp.layer.receive(request('REGISTER', 'TCP'), tcpPeer);
    const tcpTx = tcp.requests[0]!.tx!;
    tcpTx.reply(200);
    tcp.clock.advance(0);
    expect(tcpTx.state).toBe('terminated');
  });
});

describe('server transaction housekeeping', () => {
  it('ends a non-INVITE server transaction the TU never answers after 64*T1', () => {
    const timeouts: string[] = [];
    const { clock, requests, layer } = setup({ onServerTimeout: (tx) => timeouts.push(tx.request.method) });
    layer.receive(request('MESSAGE'), udpPeer);
    clock.advance(31_999);
    expect(layer.serverTransactionCount).toBe(1);
    clock.advance(1);
    expect(layer.serverTransactionCount).toBe(0);
    expect(requests[0]!.tx!.terminationReason).toBe('timeout');
    expect(timeouts).toEqual(['MESSAGE']);
  });

  it('keeps an unanswered INVITE server transaction for as long as the TU needs (push wait)', () => {
    const { clock, requests, layer } = setup();
    layer.receive(request('INVITE'), udpPeer);
    clock.advance(10 * 60_000);
    expect(requests[0]!.tx!.state).toBe('proceeding');
    expect(requests[0]!.tx!.activeTimers).toEqual([]);
  });
});

describe('transaction matching', () => {
  it('matches CANCEL to its INVITE, answers it 200 and tells the TU', () => {
    const cancels: string[] = [];
    const { sent, requests, layer } = setup({
      onCancel: (tx, cancel) => cancels.push(`${tx.request.method}<-${cancel.method}`),
    });
    const invite = request('INVITE', 'UDP', 'z9hG4bKsame');
    layer.receive(invite, udpPeer);
    const cancel = request('CANCEL', 'UDP', 'z9hG4bKsame');
    layer.receive(cancel, udpPeer);
    expect(cancels).toEqual(['INVITE<-CANCEL']);
    const inviteTx = requests[0]!.tx!;
    expect(inviteTx.cancelled).toBe(true);
    inviteTx.reply(487);
    expect(summary(sent)).toEqual(['0 100', '0 200', '0 487']);
    expect(getCSeq(sent[1]!.message)).toEqual({ seq: 1, method: 'CANCEL' });
    expect(requests).toHaveLength(1);
  });

  it('answers 481 to a CANCEL that matches nothing', () => {
    const { sent, layer } = setup();
    layer.receive(request('CANCEL', 'UDP', 'z9hG4bKnothing'), udpPeer);
    expect(summary(sent)).toEqual(['0 481']);
  });

  it('hands an ACK for a 2xx (new branch) to the TU without a transaction', () => {
    const { requests, layer } = setup();
    layer.receive(request('ACK', 'UDP', 'z9hG4bKack2xx'), udpPeer);
    expect(requests.map((r) => [r.request.method, r.tx])).toEqual([['ACK', null]]);
  });

  it('keeps transactions apart by sent-by and by method for the same branch', () => {
    const { requests, layer } = setup();
    layer.receive(request('OPTIONS', 'UDP', 'z9hG4bKshared'), udpPeer);
    const other = request('OPTIONS', 'UDP', 'z9hG4bKshared');
    other.headers[0] = { name: 'Via', value: 'SIP/2.0/UDP 192.0.2.99:5060;branch=z9hG4bKshared' };
    layer.receive(other, udpPeer);
    layer.receive(request('INFO', 'UDP', 'z9hG4bKshared'), udpPeer);
    expect(requests).toHaveLength(3);
    expect(layer.serverTransactionCount).toBe(3);
  });

  it('matches RFC 2543 requests without the magic cookie by their dialog identifiers', () => {
    const { sent, requests, layer } = setup();
    const old = request('OPTIONS', 'UDP', '1234');
    layer.receive(old, udpPeer);
    requests[0]!.tx!.reply(200);
    layer.receive(old, udpPeer);
    expect(requests).toHaveLength(1);
    expect(summary(sent)).toEqual(['0 200', '0 200']);
  });

  it('routes responses by branch and CSeq method, and reports strays', () => {
    const strays: SipResponse[] = [];
    const { layer } = setup({ onStrayResponse: (r) => strays.push(r) });
    const invite = request('INVITE', 'UDP', 'z9hG4bKx');
    const seen: number[] = [];
    layer.sendRequest(invite, udpPeer, { onResponse: (r) => seen.push(r.status) });
    const cancelResponse = createResponse(request('CANCEL', 'UDP', 'z9hG4bKx'), 200);
    layer.receive(cancelResponse, udpPeer);
    layer.receive(createResponse(invite, 180), udpPeer);
    expect(seen).toEqual([180]);
    expect(strays).toEqual([cancelResponse]);
  });

  it('sends UDP responses to received/rport as stamped on arrival', () => {
    const { sent, requests, layer } = setup();
    const options = request('OPTIONS');
    options.headers[0] = {
      name: 'Via',
      value: 'SIP/2.0/UDP 10.0.0.5:5070;branch=z9hG4bKnat;rport=40000;received=198.51.100.9',
    };
    layer.receive(options, { transport: 'udp', address: '198.51.100.9', port: 40000 });
    requests[0]!.tx!.reply(200);
    expect(sent[0]!.to).toEqual({ transport: 'udp', address: '198.51.100.9', port: 40000 });
  });

  it('reports a throwing or rejecting request handler through onError and keeps working', async () => {
    const errors: string[] = [];
    let calls = 0;
    const { layer } = setup({
      onRequest: (request) => {
        calls++;
        if (request.method === 'OPTIONS') throw new Error('sync failure');
        return Promise.reject(new Error('async failure'));
      },
      onError: (error) => errors.push((error as Error).message),
    });
    layer.receive(request('OPTIONS'), udpPeer);
    layer.receive(request('INFO'), udpPeer);
    await new Promise((resolve) => setImmediate(resolve));
    expect(calls).toBe(2);
    expect(errors).toEqual(['sync failure', 'async failure']);
  });
});

describe('leak and overload accounting', () => {
  it('counts running transaction timers and gets back to zero once every transaction is over', () => {
    const { clock, layer, requests } = setup();
    expect(layer.timerCount).toBe(0);
    layer.sendRequest(request('OPTIONS'), udpPeer);
    layer.sendRequest(request('INVITE'), udpPeer);
    expect(layer.timerCount).toBe(4); // E, F, A, B
    layer.receive(request('MESSAGE'), udpPeer);
    expect(layer.timerCount).toBe(5); // + the guard of the unanswered MESSAGE
    requests[0]!.tx!.reply(200);
    expect(layer.timerCount).toBe(5); // guard stopped, Timer J started
    clock.advance(64 * 500 + 1);
    expect(layer.timerCount).toBe(0);
    expect(clock.pending).toBe(0);
    expect([layer.serverTransactionCount, layer.clientTransactionCount]).toEqual([0, 0]);
  });

  it('answers 503 with Retry-After, without a transaction, beyond maxServerTransactions', () => {
    const overloaded: string[] = [];
    const { sent, layer, requests } = setup({
      maxServerTransactions: 2,
      overloadRetryAfterSeconds: 9,
      onOverload: (r) => overloaded.push(r.method),
    });
    layer.receive(request('REGISTER', 'UDP', 'z9hG4bKr1'), udpPeer);
    layer.receive(request('REGISTER', 'UDP', 'z9hG4bKr2'), udpPeer);
    layer.receive(request('REGISTER', 'UDP', 'z9hG4bKr3'), udpPeer);
    expect(requests).toHaveLength(2);
    expect(layer.serverTransactionCount).toBe(2);
    expect(overloaded).toEqual(['REGISTER']);
    const refusal = sent.at(-1)!.message as SipResponse;
    expect([refusal.status, refusal.headers.find((h) => h.name === 'Retry-After')?.value]).toEqual([503, '9']);
    // A retransmission of an admitted request still reaches its transaction, and CANCEL is never refused.
    layer.receive(request('REGISTER', 'UDP', 'z9hG4bKr1'), udpPeer);
    expect(requests).toHaveLength(2);
    layer.receive(request('CANCEL', 'UDP', 'z9hG4bKc1'), udpPeer);
    expect((sent.at(-1)!.message as SipResponse).status).toBe(481);
  });

  it('never asks `refuse` about a request within a dialog; the memory bound still holds for it', () => {
    const asked: string[] = [];
    const { sent, layer, requests } = setup({ maxServerTransactions: 3, refuse: (r) => (asked.push(r.method), 5) });
    const inDialog = (method: string, branch: string) => {
      const r = request(method, 'UDP', branch);
      r.headers = r.headers.map((h) => (h.name === 'To' ? { ...h, value: `${h.value};tag=b1` } : h));
      return r;
    };
    layer.receive(request('INVITE', 'UDP', 'z9hG4bKi1'), udpPeer);
    expect((sent.at(-1)!.message as SipResponse).status).toBe(503);
    layer.receive(inDialog('BYE', 'z9hG4bKb1'), udpPeer);
    layer.receive(inDialog('INFO', 'z9hG4bKb2'), udpPeer);
    layer.receive(inDialog('BYE', 'z9hG4bKb3'), udpPeer);
    // A BYE ends what was admitted: the load bound lets it through, and is not even asked.
    expect(requests.map((r) => r.request.method)).toEqual(['BYE', 'INFO', 'BYE']);
    expect(asked).toEqual(['INVITE']);
    // Past the memory bound a To tag (easily forged) does not help.
    layer.receive(inDialog('BYE', 'z9hG4bKb4'), udpPeer);
    expect(requests).toHaveLength(3);
    expect((sent.at(-1)!.message as SipResponse).status).toBe(503);
  });

  it('refuses what `refuse` says with a stateless 503, and absorbs the retransmissions and the ACK of it', () => {
    const overloaded: string[] = [];
    let full = true;
    const { clock, sent, layer, requests } = setup({
      refuse: (r) => (full && r.method === 'INVITE' ? 3 : undefined),
      onOverload: (r, _from, cause) => overloaded.push(`${r.method} ${cause}`),
    });
    const invite = request('INVITE', 'UDP', 'z9hG4bKi1');
    layer.receive(invite, udpPeer);
    expect(requests).toHaveLength(0);
    expect(layer.serverTransactionCount).toBe(0);
    expect(overloaded).toEqual(['INVITE refused']);
    const refusal = sent.at(-1)!.message as SipResponse;
    expect([refusal.status, refusal.headers.find((h) => h.name === 'Retry-After')?.value]).toEqual([503, '3']);
    expect(layer.refusedCount).toBe(1);

    // Room again, but a retransmission of the refused INVITE is still that refused request.
    full = false;
    layer.receive(invite, udpPeer);
    expect((sent.at(-1)!.message as SipResponse).status).toBe(503);
    expect(sent).toHaveLength(2);
    layer.receive({ ...invite, method: 'ACK' }, udpPeer);
    expect(sent).toHaveLength(2);
    expect(requests).toHaveLength(0);
    expect(overloaded).toHaveLength(1);

    // A new request is admitted; the refused key is forgotten within two spans of 64*T1.
    layer.receive(request('INVITE', 'UDP', 'z9hG4bKi2'), udpPeer);
    expect(requests).toHaveLength(1);
    clock.advance(2 * 64 * layer.timers.t1);
    expect(layer.refusedCount).toBe(0);
    expect(layer.timerCount).toBe(0);
  });

  it('holds a bounded number of refused keys', () => {
    const { layer } = setup({ refuse: () => 5, maxRefusedRemembered: 10 });
    for (let i = 0; i < 100; i++) layer.receive(request('REGISTER', 'UDP', `z9hG4bKf${i}`), udpPeer);
    expect(layer.refusedCount).toBeLessThanOrEqual(20);
    expect(layer.serverTransactionCount).toBe(0);
  });
});
