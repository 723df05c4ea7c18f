import { PushRelayError } from './errors.js';
import type { Clock, Queue } from './ports.js';

/** Bounds on the work a relay accepts but has not done yet. */
export interface AdmissionPolicy {
  /**
   * Jobs waiting, delayed or running in the queue (every process's, for a shared queue) past
   * which new notifications are refused. 0: no bound.
   */
  maxPendingJobs: number;
  /**
   * Percent of `maxPendingJobs` kept for call pushes (`incoming_call`, `call_cancelled`): other
   * types are refused once the queue holds `100 - callReservePercent` percent of the bound.
   */
  callReservePercent: number;
  /** Resident memory of this process (bytes) past which new notifications are refused. 0: no bound. */
  maxRssBytes: number;
  /**
   * Percent of `maxPendingJobs` one tenant's sends may hold, counted by this process (the sends
   * it admitted or retried and has not finished running), so that one tenant's flood leaves room
   * for the others. 100: no share of its own.
   */
  maxTenantPercent: number;
  /** What a refusal tells the sender to wait before trying again. */
  retryAfterMs: number;
  /**
   * How old the queue's count may grow before it is read again. Between two reads the jobs this
   * relay queued are added to it, so the estimate only ever runs high.
   */
  refreshMs: number;
}

/** An admission policy as given to the relay: any field left out is the default's. */
export interface AdmissionOptions extends Partial<AdmissionPolicy> {
  /** Reads this process's resident memory in bytes; `process.memoryUsage.rss` unless given. */
  residentMemory?: () => number;
}

export const DEFAULT_ADMISSION_POLICY: AdmissionPolicy = {
  maxPendingJobs: 10_000,
  callReservePercent: 20,
  maxTenantPercent: 100,
  maxRssBytes: 0,
  retryAfterMs: 1000,
  refreshMs: 250,
};

export type OverloadReason = 'pending-jobs' | 'tenant-share' | 'memory';

/** The relay refused new work to stay within its admission bounds; nothing was written. */
export class OverloadedError extends PushRelayError {
  constructor(
    readonly reason: OverloadReason,
    readonly retryAfterMs: number,
    message: string,
  ) {
    super('overloaded', message);
  }
}

const CALL_TYPES = new Set(['incoming_call', 'call_cancelled']);

/**
 * Decides whether a notification with `jobs` sends may be accepted now. The queue's size is read
 * at most every `refreshMs` (one read shared by the requests that need it); the jobs admitted
 * since are counted here, so a burst between two reads cannot overshoot the bound.
 */
export class AdmissionControl {
  private pending = 0;
  private readAt = -Infinity;
  private reading: Promise<void> | undefined;
  private rss = 0;
  private rssAt = -Infinity;
  /** Sends of each tenant admitted or retried here and not finished yet. */
  private readonly byTenant = new Map<string, number>();

  constructor(
    private readonly policy: AdmissionPolicy,
    private readonly queue: Queue,
    private readonly clock: Clock,
    private readonly residentMemory: () => number = () => process.memoryUsage.rss(),
  ) {}

  /** Throws OverloadedError when `jobs` more sends of a notification of `type` would pass a bound. */
  async admit(tenant: string, type: string, jobs: number): Promise<void> {
    const p = this.policy;
    if (p.maxRssBytes > 0) {
      const now = this.clock.now();
      if (now - this.rssAt >= p.refreshMs) {
        this.rss = this.residentMemory();
        this.rssAt = now;
      }
      if (this.rss > p.maxRssBytes) {
        throw new OverloadedError(
          'memory',
          p.retryAfterMs,
          `the relay is over its memory bound (${Math.round(this.rss / 1048576)} MB resident); try again later`,
        );
      }
    }
    if (p.maxPendingJobs <= 0 || jobs === 0) return;
    const held = this.byTenant.get(tenant) ?? 0;
    const share = Math.floor((p.maxPendingJobs * p.maxTenantPercent) / 100);
    if (p.maxTenantPercent < 100 && held + jobs > share) {
      throw new OverloadedError(
        'tenant-share',
        p.retryAfterMs,
        `tenant ${tenant} has ${held} sends waiting, its share of the relay is ${share}; try again later`,
      );
    }
    await this.refresh();
    const bound = CALL_TYPES.has(type)
      ? p.maxPendingJobs
      : Math.floor((p.maxPendingJobs * (100 - p.callReservePercent)) / 100);
    if (this.pending + jobs > bound) {
      throw new OverloadedError(
        'pending-jobs',
        p.retryAfterMs,
        `the relay has ${this.pending} sends waiting, its bound for ${CALL_TYPES.has(type) ? 'calls' : 'this type'} is ${bound}; try again later`,
      );
    }
    // Counted now, before the jobs are queued, so that requests admitted at once cannot overshoot.
    this.pending += jobs;
    this.byTenant.set(tenant, held + jobs);
  }

  /** A send of `tenant` was queued again (a retry): it holds its place in the tenant's share. */
  retried(tenant: string): void {
    this.byTenant.set(tenant, (this.byTenant.get(tenant) ?? 0) + 1);
  }

  /** A run of a send of `tenant` ended (delivered, given up, or queued again as a retry). */
  ran(tenant: string): void {
    const held = (this.byTenant.get(tenant) ?? 0) - 1;
    // Sends queued by another process and run here were never counted here.
    if (held > 0) this.byTenant.set(tenant, held);
    else this.byTenant.delete(tenant);
  }

  private async refresh(): Promise<void> {
    if (this.clock.now() - this.readAt < this.policy.refreshMs) return;
    this.reading ??= (async () => {
      try {
        this.pending = await this.queue.size();
      } catch {
        // A queue that cannot be counted now refuses its schedules itself; keep the estimate.
      } finally {
        this.readAt = this.clock.now();
        this.reading = undefined;
      }
    })();
    await this.reading;
  }
}
