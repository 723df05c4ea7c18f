import { systemClock } from './clock.js';
import type { Clock, MissedCallStore, ReportStore, TimerHandle } from './ports.js';

export const DEFAULT_RETENTION_DAYS = 7;
const DAY_MS = 24 * 3600 * 1000;

export interface RetentionSweeperOptions {
  /** Reports accepted longer ago than `retentionMs` are deleted (when the store can purge). */
  reports?: ReportStore;
  /** Missed calls past their time to live are deleted (when the store can purge). */
  missedCalls?: MissedCallStore;
  /** How long a delivery report is kept. Default 7 days. */
  retentionMs?: number;
  clock?: Clock;
  /** Between two sweeps. Default 60 000 ms. */
  intervalMs?: number;
  /** Rows deleted per store call, each its own short transaction. Default 500. */
  batchSize?: number;
  /**
   * Pause between two batches of one sweep, so a long backlog never holds the event loop or a
   * table lock for long; 0 only yields to pending I/O (setImmediate). Default 10 ms.
   */
  pauseMs?: number;
  /** Called with what a purge threw; the sweep goes on with the next store and runs again later. */
  onError?: (error: unknown, target: 'reports' | 'missedCalls') => void;
  /** Called after each sweep that deleted something. */
  onPurged?: (purged: SweepResult) => void;
}

export interface SweepResult {
  reports: number;
  missedCalls: number;
}

/**
 * Deletes expired delivery reports and missed calls, in small batches, now and then. Stores keep
 * their own rules of what is expired (a report's age, a missed call's time to live); the sweeper
 * only paces the deletes. Several processes may sweep the same database: each batch deletes rows
 * no other batch holds.
 */
export class RetentionSweeper {
  readonly retentionMs: number;
  private readonly clock: Clock;
  private readonly intervalMs: number;
  private readonly batchSize: number;
  private readonly pauseMs: number;
  private timer: TimerHandle | undefined;
  private running: Promise<SweepResult> | undefined;
  private stopped = true;
  /** Set while stop() waits: the sweep under way ends after its current batch. */
  private halting = false;

  constructor(private readonly options: RetentionSweeperOptions) {
    this.retentionMs = positive('retentionMs', options.retentionMs ?? DEFAULT_RETENTION_DAYS * DAY_MS);
    this.clock = options.clock ?? systemClock;
    this.intervalMs = positive('intervalMs', options.intervalMs ?? 60_000);
    this.batchSize = positive('batchSize', options.batchSize ?? 500);
    this.pauseMs = options.pauseMs ?? 10;
    if (!Number.isFinite(this.pauseMs) || this.pauseMs < 0)
      throw new RangeError(`pauseMs must be 0 or more, got ${this.pauseMs}`);
  }

  /** Sweeps now, then every `intervalMs` until `stop`. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(0);
  }

  /** Stops sweeping; resolves once a sweep under way has finished its current batch. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.timer = undefined;
    this.halting = true;
    try {
      await this.running?.catch(() => {});
    } finally {
      this.halting = false;
    }
  }

  /** One sweep: every store until nothing expired is left (or `stop` was called). */
  sweep(): Promise<SweepResult> {
    this.running ??= this.sweepAll().finally(() => (this.running = undefined));
    return this.running;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = this.clock.setTimer(() => {
      this.timer = undefined;
      void this.sweep().finally(() => this.schedule(this.intervalMs));
    }, delayMs);
  }

  private async sweepAll(): Promise<SweepResult> {
    const result: SweepResult = { reports: 0, missedCalls: 0 };
    const { reports, missedCalls } = this.options;
    if (reports?.purgeAcceptedBefore) {
      const cutoff = this.clock.now() - this.retentionMs;
      result.reports = await this.drain('reports', (limit) => reports.purgeAcceptedBefore!(cutoff, limit));
    }
    if (missedCalls?.purgeExpired) {
      result.missedCalls = await this.drain('missedCalls', (limit) => missedCalls.purgeExpired!(limit));
    }
    if (result.reports + result.missedCalls > 0) this.options.onPurged?.(result);
    return result;
  }

  private async drain(target: 'reports' | 'missedCalls', purge: (limit: number) => Promise<number>): Promise<number> {
    let total = 0;
    try {
      for (;;) {
        const n = await purge(this.batchSize);
        total += n;
        if (n < this.batchSize || this.halting) break;
        await this.pause();
      }
    } catch (error) {
      this.options.onError?.(error, target);
    }
    return total;
  }

  private pause(): Promise<void> {
    if (this.pauseMs === 0) return new Promise((resolve) => setImmediate(resolve));
    return new Promise((resolve) => this.clock.setTimer(resolve, this.pauseMs));
  }
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${name} must be a positive number, got ${value}`);
  return value;
}
