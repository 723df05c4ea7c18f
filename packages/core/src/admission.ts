import { PushRelayError } from './errors.js';
import { isCallType } from './model.js';
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
   * Percent of `maxPendingJobs` one tenant's sends may hold (the call reserve applies within it),
   * so that one tenant's flood leaves room for the others. Counted by this process: the sends it
   * admitted or retried and has not run yet. Only right when this process runs what it queues (an
   * in-process queue); with a queue shared by processes, leave it at 100 (no share).
   */
  maxTenantPercent: number;
  /** What a refusal tells the sender to wait before trying again. */
  retryAfterMs: number;
  /**
   * How old the queue's count may grow before it is read again. Between two reads the jobs this
   * relay admitted are added to it; a read replaces the estimate, so sends admitted but not yet
   * queued while it ran are missed until the next one.
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
    await this.refresh();
    // Read and counted after the await, with no await in between, so that admissions running at
    // once neither overshoot the bounds nor lose a count.
    const call = isCallType(type);
    const forType = (limit: number) => (call ? limit : Math.floor((limit * (100 - p.callReservePercent)) / 100));
    const held = this.byTenant.get(tenant) ?? 0;
    const share = forType(Math.floor((p.maxPendingJobs * p.maxTenantPercent) / 100));
    if (p.maxTenantPercent < 100 && held + jobs > share) {
      throw new OverloadedError(
        'tenant-share',
        p.retryAfterMs,
        `tenant ${tenant} has ${held} sends waiting, its share of the relay for ${call ? 'calls' : 'this type'} is ${share}; try again later`,
      );
    }
    const bound = forType(p.maxPendingJobs);
    if (this.pending + jobs > bound) {
      throw new OverloadedError(
        'pending-jobs',
        p.retryAfterMs,
        `the relay has ${this.pending} sends waiting, its bound for ${call ? 'calls' : 'this type'} is ${bound}; try again later`,
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

  /**
   * Gives back `jobs` sends of `tenant`: a run of one ended (however it ended: a run that threw
   * and is run again counts twice, which errs on the side of admitting), or admitted sends were
   * never queued (a duplicate, a store that failed).
   */
  release(tenant: string, jobs = 1): void {
    this.pending = Math.max(0, this.pending - jobs);
    const held = (this.byTenant.get(tenant) ?? 0) - jobs;
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
