import { systemClock } from '../clock.js';
import type { Clock, DeliveryJob, JobHandler, Queue, TimerHandle } from '../ports.js';

export interface InMemoryQueueOptions {
  clock?: Clock;
  /** Jobs running at once. Default 256. */
  concurrency?: number;
  /** A handler that throws gets its job run again after this delay, up to `maxFailures` times. */
  failureRetryMs?: number;
  maxFailures?: number;
  /** Called with errors a handler threw; the job is then retried or dropped. */
  onError?: (error: unknown, job: DeliveryJob) => void;
}

interface Entry {
  job: DeliveryJob;
  seq: number;
  failures: number;
}

/**
 * The embedded queue: jobs in memory, the call lane ahead of the default lane, each lane by
 * runAt then arrival. Nothing survives a restart; use a persistent queue for that.
 */
export class InMemoryQueue implements Queue {
  /** Sorted; entries before `head` were taken already (cleared), so taking the next is O(1). */
  private readonly waiting: Array<Entry | undefined> = [];
  private head = 0;
  private readonly known = new Set<string>();
  private readonly pausedUntil = new Map<string, number>();
  private readonly clock: Clock;
  private readonly concurrency: number;
  private readonly failureRetryMs: number;
  private readonly maxFailures: number;
  private readonly onError: (error: unknown, job: DeliveryJob) => void;
  private handler: JobHandler | undefined;
  private running = 0;
  private closed = false;
  private timer: TimerHandle | undefined;
  private timerAt = Infinity;
  private seq = 0;
  private readonly idle: Array<() => void> = [];

  constructor(options: InMemoryQueueOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.concurrency = options.concurrency ?? 256;
    this.failureRetryMs = options.failureRetryMs ?? 1000;
    this.maxFailures = options.maxFailures ?? 3;
    this.onError = options.onError ?? (() => {});
  }

  async schedule(job: DeliveryJob): Promise<boolean> {
    if (this.closed || this.known.has(job.id)) return false;
    this.known.add(job.id);
    // Kept as given: the queue never changes a job it was handed (a failed run is rescheduled
    // as a copy, see `failed`), so no copy is made on the way in.
    this.insert({ job, seq: this.seq++, failures: 0 });
    this.pump();
    return true;
  }

  process(handler: JobHandler): void {
    this.handler = handler;
    this.pump();
  }

  async pauseCredential(credential: string, untilMs: number): Promise<void> {
    this.pausedUntil.set(credential, Math.max(untilMs, this.pausedUntil.get(credential) ?? 0));
    this.pump();
  }

  async size(): Promise<number> {
    return this.waiting.length - this.head + this.running;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.timer = undefined;
    if (this.running === 0) return;
    await new Promise<void>((resolve) => this.idle.push(resolve));
  }

  private insert(entry: Entry): void {
    // Kept sorted so the next due job is found from the front.
    let i = this.waiting.length;
    while (i > this.head && compare(this.waiting[i - 1]!, entry) > 0) i--;
    if (i === this.waiting.length) this.waiting.push(entry);
    else this.waiting.splice(i, 0, entry);
  }

  /** Drops the taken slots at the front once they are at least half the array: amortised O(1). */
  private compact(): void {
    if (this.head === this.waiting.length) {
      this.waiting.length = 0;
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.waiting.length) {
      this.waiting.splice(0, this.head);
      this.head = 0;
    }
  }

  private readyAt(entry: Entry): number {
    const paused = entry.job.credential ? (this.pausedUntil.get(entry.job.credential) ?? 0) : 0;
    return Math.max(entry.job.runAt, paused);
  }

  private pump(): void {
    if (!this.handler || this.closed) return;
    const now = this.clock.now();
    let nextWake = Infinity;
    for (let i = this.head; i < this.waiting.length && this.running < this.concurrency;) {
      const entry = this.waiting[i]!;
      const ready = this.readyAt(entry);
      if (ready > now) {
        nextWake = Math.min(nextWake, ready);
        i++;
        continue;
      }
      if (i === this.head) {
        this.waiting[i] = undefined;
        this.head = ++i;
      } else {
        this.waiting.splice(i, 1);
      }
      this.run(entry);
    }
    this.compact();
    if (this.running >= this.concurrency) return;
    for (let i = this.head; i < this.waiting.length; i++) {
      nextWake = Math.min(nextWake, this.readyAt(this.waiting[i]!));
    }
    this.arm(nextWake);
  }

  private arm(at: number): void {
    if (at === Infinity || at >= this.timerAt) {
      if (at === Infinity && this.timer !== undefined) {
        this.clock.clearTimer(this.timer);
        this.timer = undefined;
        this.timerAt = Infinity;
      }
      return;
    }
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.timerAt = at;
    this.timer = this.clock.setTimer(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      this.pump();
    }, at - this.clock.now());
  }

  private run(entry: Entry): void {
    this.running++;
    void this.runEntry(entry, this.handler!);
  }

  private async runEntry(entry: Entry, handler: JobHandler): Promise<void> {
    // The await keeps a handler that throws synchronously, or runs to completion without
    // waiting, from re-entering pump() while it is still taking jobs.
    await undefined;
    try {
      await handler(entry.job);
      this.known.delete(entry.job.id);
    } catch (error) {
      this.failed(entry, error);
    } finally {
      this.running--;
      if (this.running === 0 && this.closed) for (const resolve of this.idle.splice(0)) resolve();
      this.pump();
    }
  }

  private failed(entry: Entry, error: unknown): void {
    this.onError(error, entry.job);
    if (entry.failures + 1 < this.maxFailures && !this.closed) {
      entry.failures++;
      entry.job = { ...entry.job, runAt: this.clock.now() + this.failureRetryMs, redelivered: true };
      this.insert(entry);
    } else {
      this.known.delete(entry.job.id);
    }
  }
}

function compare(a: Entry, b: Entry): number {
  if (a.job.lane !== b.job.lane) return a.job.lane === 'call' ? -1 : 1;
  return a.job.runAt - b.job.runAt || a.seq - b.seq;
}
