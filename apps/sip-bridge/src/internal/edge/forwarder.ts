import type { Clock, TimerHandle } from '@pushrelay/core';
import {
  createCancel,
  removeFirstHeader,
  type ClientTransaction,
  type Endpoint,
  type ServerTransaction,
  type SipRequest,
  type SipResponse,
  type TransactionLayer,
} from '@pushrelay/sip';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';

/** RFC 3261 §16.6 step 11, Timer C: an INVITE that rings this long is cancelled. */
const TIMER_C_MS = 180_000;

export interface ForwardOptions {
  /** Without any response in this long, the request is abandoned and answered 408. */
  timeoutMs: number;
  /** Which way it went, for metrics: `upstream` or `device`. */
  direction: 'upstream' | 'device';
  /**
   * Sees the final response before it is relayed and may change it (a REGISTER 2xx is applied
   * first); `after` runs once it is relayed.
   */
  onFinal?: (response: SipResponse) => Promise<{ response: SipResponse; after?: () => void }>;
}

interface Forwarding {
  tx: ServerTransaction;
  request: SipRequest;
  target: Endpoint;
  client?: ClientTransaction;
  provisional: boolean;
  answered: boolean;
  cancelWanted: boolean;
  timer?: TimerHandle;
}

/**
 * Stateful forwarding of one request (RFC 3261 §16): responses relayed back without our Via,
 * CANCEL passed on once the far side sent a provisional, and a deadline after which the client
 * transaction is dropped and the sender gets 408, so nothing is held for ever.
 */
export class StatefulForwarder {
  private readonly pending = new Map<ServerTransaction, Forwarding>();

  constructor(
    private readonly layer: () => TransactionLayer,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly metrics: Metrics,
  ) {}

  /** Requests forwarded and not answered yet. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** Deadline timers armed now (no-answer, or Timer C once something answered). */
  get timerCount(): number {
    let n = 0;
    for (const f of this.pending.values()) if (f.timer !== undefined) n++;
    return n;
  }

  forward(tx: ServerTransaction, request: SipRequest, target: Endpoint, options: ForwardOptions): void {
    const f: Forwarding = { tx, request, target, provisional: false, answered: false, cancelWanted: false };
    this.pending.set(tx, f);
    this.metrics.inc('sip_bridge_edge_forwarded_total', { direction: options.direction, method: request.method });
    f.timer = this.clock.setTimer(() => this.timedOut(f, 'no answer'), options.timeoutMs);
    f.client = this.layer().sendRequest(request, target, {
      onResponse: (response) => this.response(f, response, options),
      onTimeout: () => this.timedOut(f, 'transaction timeout'),
      onTransportError: (error) => {
        this.log.warn({ err: error, method: request.method }, 'forwarded request could not be sent');
        this.done(f);
        f.tx.reply(503, 'Service Unavailable');
      },
    });
  }

  /** The sender cancelled an INVITE we forwarded; false when it was not one of ours. */
  cancel(tx: ServerTransaction): boolean {
    const f = this.pending.get(tx);
    if (!f) return false;
    f.cancelWanted = true;
    // §9.1: a CANCEL may only follow a provisional response.
    if (f.provisional) this.sendCancel(f);
    return true;
  }

  /** Shutdown: every pending request gets 503 and its client transaction is dropped. */
  abortAll(): void {
    for (const f of [...this.pending.values()]) {
      this.done(f);
      f.client?.abandon();
      f.tx.reply(503, 'Service Unavailable');
    }
  }

  private response(f: Forwarding, response: SipResponse, options: ForwardOptions): void {
    const upstream = { ...response, headers: response.headers.map((h) => ({ ...h })) };
    removeFirstHeader(upstream, 'Via');
    if (response.status < 200) {
      if (f.answered) return;
      if (!f.provisional) {
        f.provisional = true;
        if (f.request.method === 'INVITE') {
          // Something answers: from here Timer C bounds the ringing, not the no-answer deadline.
          this.restartTimer(f, TIMER_C_MS, 'Timer C');
        }
        if (f.cancelWanted) this.sendCancel(f);
      }
      if (response.status !== 100) f.tx.respond(upstream);
      return;
    }
    if (f.answered) {
      // 2xx retransmissions of an INVITE (or other forks' 2xx) go through; the sender ACKs each.
      if (response.status < 300 && f.request.method === 'INVITE') f.tx.respond(upstream);
      return;
    }
    f.answered = true;
    this.done(f);
    if (!options.onFinal) {
      f.tx.respond(upstream);
      return;
    }
    options.onFinal(upstream).then(
      ({ response: final, after }) => {
        f.tx.respond(final);
        after?.();
      },
      (error: unknown) => {
        this.log.error({ err: error, method: f.request.method }, 'applying the final response failed');
        f.tx.reply(500, 'Server Internal Error');
      },
    );
  }

  private timedOut(f: Forwarding, why: string): void {
    if (f.answered || !this.pending.has(f.tx)) return;
    f.answered = true;
    this.done(f);
    this.metrics.inc('sip_bridge_edge_upstream_timeouts_total', { method: f.request.method });
    this.log.warn({ method: f.request.method, why, to: `${f.target.address}:${f.target.port}` }, 'no answer: 408');
    if (f.provisional && f.request.method === 'INVITE') this.sendCancel(f);
    else f.client?.abandon();
    f.tx.reply(408, 'Request Timeout');
  }

  private restartTimer(f: Forwarding, ms: number, why: string): void {
    if (f.timer !== undefined) this.clock.clearTimer(f.timer);
    f.timer = this.clock.setTimer(() => this.timedOut(f, why), ms);
  }

  private sendCancel(f: Forwarding): void {
    // The INVITE's final answer (487) is relayed as usual; the CANCEL's own 200 ends here.
    this.layer().sendRequest(createCancel(f.request), f.target, {});
  }

  private done(f: Forwarding): void {
    if (f.timer !== undefined) this.clock.clearTimer(f.timer);
    f.timer = undefined;
    this.pending.delete(f.tx);
  }
}
