/**
 * The event-loop rule of the overload control, sample by sample: the samples are given (time
 * and CPU time), so what is checked is the rule, not how fast this machine is.
 */
import { parseMessage, type SipRequest } from '@pushrelay/sip';
import { describe, expect, it } from 'vitest';
import { Metrics } from '../src/internal/metrics.js';
import { OverloadControl } from '../src/internal/overload.js';

const LIMITS = {
  maxServerTransactions: 10_000,
  maxHeldCalls: 2000,
  maxOpenTransactions: 40_000,
  maxEventLoopLagMs: 50,
  retryAfterSeconds: 5,
};

function control() {
  const metrics = new Metrics();
  const overload = new OverloadControl(
    LIMITS,
    { heldCalls: () => 0, openTransactions: () => 0, awaited: () => false },
    metrics,
  );
  overload.restart(0, 0);
  return { overload, metrics };
}

/** Timers due every 20 ms that each fire `lateMs` late, the process on the CPU `busy` of the time. */
function run(
  overload: OverloadControl,
  from: { at: number; cpu: number },
  samples: number,
  lateMs: number,
  busy: number,
) {
  let { at, cpu } = from;
  for (let i = 0; i < samples; i++) {
    const step = 20 + lateMs;
    at += step;
    cpu += step * 1000 * busy;
    overload.sample(at, cpu);
  }
  return { at, cpu };
}

const invite = parseMessage(
  Buffer.from(
    'INVITE sip:bob@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1\r\n' +
      'From: <sip:alice@127.0.0.1>;tag=a\r\nTo: <sip:bob@127.0.0.1>\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\n' +
      'Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n',
  ),
) as SipRequest;

describe('the overload control on a lagging event loop', () => {
  it('does not shed load for one long pause of a busy process', () => {
    const { overload, metrics } = control();
    // Busy and on time, then one 400 ms stall (a start-up step, a GC), then on time again.
    let t = run(overload, { at: 0, cpu: 0 }, 10, 0, 1);
    t = run(overload, t, 1, 400, 1);
    expect(overload.eventLoopLagMs).toBeGreaterThan(LIMITS.maxEventLoopLagMs);
    expect(overload.overloaded()).toBeUndefined();
    run(overload, t, 20, 0, 1);
    expect(overload.overloaded()).toBeUndefined();
    expect(overload.refuse(invite)).toBeUndefined();
    expect(metrics.get('sip_bridge_overload_rejections_total', { method: 'INVITE', reason: 'event_loop_lag' })).toBe(0);
  });

  it('sheds load once the lag stays past its bound with the process busy, and stops when it ends', () => {
    const { overload, metrics } = control();
    let t = run(overload, { at: 0, cpu: 0 }, 3, 80, 1);
    expect(overload.overloaded()).toBeUndefined();
    t = run(overload, t, 5, 80, 1);
    expect(overload.overloaded()).toBe('event_loop_lag');
    expect(overload.refuse(invite)).toBe(5);
    expect(metrics.get('sip_bridge_overload_rejections_total', { method: 'INVITE', reason: 'event_loop_lag' })).toBe(1);
    run(overload, t, 10, 0, 0.2);
    expect(overload.overloaded()).toBeUndefined();
  });

  it('does not shed load when the timers are late because other processes hold the CPU', () => {
    const { overload } = control();
    run(overload, { at: 0, cpu: 0 }, 50, 80, 0.1);
    expect(overload.eventLoopLagMs).toBeGreaterThan(LIMITS.maxEventLoopLagMs);
    expect(overload.overloaded()).toBeUndefined();
  });
});
