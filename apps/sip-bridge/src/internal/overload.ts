import { getHeader, parseNameAddr, type SipRequest } from '@pushrelay/sip';
import type { LimitsConfig } from './config-registrar.js';
import type { Metrics } from './metrics.js';

export type OverloadReason = 'held_calls' | 'transactions' | 'event_loop_lag';

/** What the overload control reads from the bridge; each is O(1). */
export interface OverloadGauges {
  heldCalls(): number;
  openTransactions(): number;
  /** Whether a pushed device of `user` is awaited by a held call (its REGISTER completes that call). */
  awaited(user: string): boolean;
}

/** How often the event loop is sampled; the lag is how late such a timer fires. */
const SAMPLE_MS = 20;
/** The share of wall time on the CPU from which a lagging event loop counts as overload. */
const BUSY_SHARE = 0.5;
/**
 * How long the lag must stay past its bound before it sheds load: one long pause (a GC, a
 * synchronous start-up step) is over before this, a backlog of work is not.
 */
const SUSTAINED_MS = 250;

/**
 * Admission of new work under overload. Past a bound of held calls, open transactions or
 * event-loop lag, a new INVITE or REGISTER is refused (the transaction layer answers a stateless
 * 503 with Retry-After and absorbs its retransmissions), so the CPU goes to the calls already
 * admitted. In-dialog requests (BYE, ACK, re-INVITE), CANCEL, responses and the REGISTER of a
 * device a held call waits for always pass: refusing them would fail calls already admitted.
 */
export class OverloadControl {
  /** Smoothed lag: one late timer (a GC pause) does not shed load, a run of them does. */
  private lagMs = 0;
  /** Smoothed share of wall time the process spent on the CPU. */
  private busy = 0;
  /** Since when (ms, the sampler's clock) the lag has been past its bound with the CPU busy. */
  private laggingSince: number | undefined;
  private lagging = false;
  private expectedAt = 0;
  private lastCpuMicros = 0;
  private lastAt = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly limits: LimitsConfig,
    private readonly gauges: OverloadGauges,
    private readonly metrics: Metrics,
  ) {}

  /** Starts sampling the event loop (an unref'd timer) when a lag bound is configured. */
  start(): void {
    if (this.limits.maxEventLoopLagMs <= 0 || this.timer) return;
    this.restart(performance.now(), cpuMicros());
    this.timer = setInterval(() => this.sample(performance.now(), cpuMicros()), SAMPLE_MS);
    this.timer.unref();
  }

  /** Begins a run of samples at `now` (ms) with the process's CPU time so far (µs). */
  restart(now: number, cpu: number): void {
    this.expectedAt = now + SAMPLE_MS;
    this.lastAt = now;
    this.lastCpuMicros = cpu;
  }

  /**
   * One sample of the event loop, taken by a timer due every SAMPLE_MS: `now` in ms and the
   * process's CPU time so far in µs (given, so that the rule can be checked sample by sample).
   */
  sample(now: number, cpu: number): void {
    const late = Math.max(0, now - this.expectedAt);
    this.lagMs = this.lagMs * 0.6 + late * 0.4;
    // Back under a tenth of a millisecond reads as none, so an idle bridge shows 0.
    if (this.lagMs < 0.1) this.lagMs = 0;
    const wall = now - this.lastAt;
    if (wall > 0) this.busy = this.busy * 0.6 + Math.min(1, (cpu - this.lastCpuMicros) / 1000 / wall) * 0.4;
    this.lastCpuMicros = cpu;
    this.lastAt = now;
    this.expectedAt = now + SAMPLE_MS;
    // Late timers alone may be other processes holding the CPU: only a bridge busy with its own
    // work (over half the wall time on the CPU) sheds load for it.
    const past =
      this.limits.maxEventLoopLagMs > 0 && this.lagMs > this.limits.maxEventLoopLagMs && this.busy > BUSY_SHARE;
    if (!past) this.laggingSince = undefined;
    else this.laggingSince ??= now;
    this.lagging = this.laggingSince !== undefined && now - this.laggingSince >= SUSTAINED_MS;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  get eventLoopLagMs(): number {
    return this.lagMs;
  }

  /** Smoothed share of wall time the process spent on the CPU (0 to 1, more with worker threads). */
  get cpuBusy(): number {
    return this.busy;
  }

  /** Which bound is past now, if any. */
  overloaded(): OverloadReason | undefined {
    const l = this.limits;
    if (this.gauges.heldCalls() >= l.maxHeldCalls) return 'held_calls';
    if (this.gauges.openTransactions() >= l.maxOpenTransactions) return 'transactions';
    if (this.lagging) return 'event_loop_lag';
    return undefined;
  }

  /**
   * The Retry-After seconds to refuse `request` with, or undefined to admit it. Only INVITE and
   * REGISTER outside a dialog are ever refused.
   */
  refuse(request: SipRequest): number | undefined {
    const method = request.method;
    if (method !== 'INVITE' && method !== 'REGISTER') return undefined;
    const reason = this.overloaded();
    if (reason === undefined) return undefined;
    const to = toOf(request);
    if (to === undefined) return undefined; // Malformed: the TU answers it with its 400.
    if (to.tag !== undefined) return undefined;
    if (method === 'REGISTER' && to.user !== undefined && this.gauges.awaited(to.user)) return undefined;
    this.metrics.inc('sip_bridge_overload_rejections_total', { method, reason });
    return this.limits.retryAfterSeconds;
  }
}

function cpuMicros(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

function toOf(request: SipRequest): { user: string | undefined; tag: string | undefined } | undefined {
  const value = getHeader(request, 'To');
  if (value === undefined) return undefined;
  try {
    const to = parseNameAddr(value, 'To');
    let user = to.uri.user;
    if (user !== undefined) {
      try {
        user = decodeURIComponent(user);
      } catch {
        // Not percent-encoded properly: matched as written.
      }
    }
    const tag = to.params['tag'];
    return { user, tag: typeof tag === 'string' ? tag : undefined };
  } catch {
    return undefined;
  }
}
