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
 * Items in the order `before` gives, taken from the front in O(1): new ones mostly belong at the
 * end, so the insertion scan is short; taken slots are dropped once they are half the array.
 */
class SortedQueue<T> {
  private items: Array<T | undefined> = [];
  private head = 0;

  constructor(private readonly before: (a: T, b: T) => boolean) {}

  get size(): number {
    return this.items.length - this.head;
  }

  peek(): T | undefined {
    return this.items[this.head];
  }

  push(item: T): void {
    let i = this.items.length;
    while (i > this.head && this.before(item, this.items[i - 1]!)) i--;
    if (i === this.items.length) this.items.push(item);
    else this.items.splice(i, 0, item);
  }

  shift(): T | undefined {
    if (this.head === this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
}

/** By runAt, then arrival. */
function earlier(a: Entry, b: Entry): boolean {
  return a.job.runAt < b.job.runAt || (a.job.runAt === b.job.runAt && a.seq < b.seq);
}

/**
 * One lane's due jobs: a queue per tenant, served in turn, so a tenant with a thousand jobs
 * waiting delays another tenant's next job by one job, not by a thousand.
 */
class FairLane {
  private readonly byTenant = new Map<string, SortedQueue<Entry>>();
  /** Tenants with jobs, in the order they are served next. */
  private readonly turns: string[] = [];
  private turn = 0;
  size = 0;

  push(entry: Entry): void {
    const tenant = entry.job.notification.tenant;
    let jobs = this.byTenant.get(tenant);
    if (!jobs) {
      jobs = new SortedQueue(earlier);
      this.byTenant.set(tenant, jobs);
      this.turns.push(tenant);
    }
    jobs.push(entry);
    this.size++;
  }

  shift(): Entry | undefined {
    if (this.turns.length === 0) return undefined;
    // Tenants come in turn, one job each; the few tenants with jobs keep this array small.
    if (this.turn >= this.turns.length) this.turn = 0;
    const tenant = this.turns[this.turn]!;
    const jobs = this.byTenant.get(tenant)!;
    const entry = jobs.shift()!;
    if (jobs.size > 0) this.turn++;
    else {
      this.byTenant.delete(tenant);
      this.turns.splice(this.turn, 1);
    }
    this.size--;
    return entry;
  }
}

/**
 * The embedded queue: jobs in memory, the call lane ahead of the default lane. Within a lane the
 * due jobs of each tenant run in the order they came, the tenants in turn; jobs due later wait
 * apart, by time. Nothing survives a restart; use a persistent queue for that.
 */
export class InMemoryQueue implements Queue {
  private readonly lanes = { call: new FairLane(), default: new FairLane() };
  /** Jobs not due yet (a later runAt, or a paused credential), sorted by when they are due. */
  private readonly later = new SortedQueue<{ entry: Entry; at: number }>(
    (a, b) => a.at < b.at || (a.at === b.at && a.entry.seq < b.entry.seq),
  );
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
    return this.lanes.call.size + this.lanes.default.size + this.later.size + this.running;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.timer = undefined;
    if (this.running === 0) return;
    await new Promise<void>((resolve) => this.idle.push(resolve));
  }

  private insert(entry: Entry): void {
    const at = this.readyAt(entry);
    if (at <= this.clock.now()) this.lanes[entry.job.lane].push(entry);
    else this.later.push({ entry, at });
  }

  private readyAt(entry: Entry): number {
    const paused = entry.job.credential ? (this.pausedUntil.get(entry.job.credential) ?? 0) : 0;
    return Math.max(entry.job.runAt, paused);
  }

  private pump(): void {
    if (!this.handler || this.closed) return;
    const now = this.clock.now();
    let due: Entry[] | undefined;
    while ((this.later.peek()?.at ?? Infinity) <= now) (due ??= []).push(this.later.shift()!.entry);
    if (due) {
      // By time and arrival, as they would have stood had they been due all along.
      due.sort((a, b) => (earlier(a, b) ? -1 : 1));
      for (const entry of due) this.insert(entry);
    }
    while (this.running < this.concurrency) {
      const entry = this.lanes.call.shift() ?? this.lanes.default.shift();
      if (!entry) break;
      // A credential paused after its job came due: the job waits for the pause to end.
      const at = this.readyAt(entry);
      if (at > now) this.later.push({ entry, at });
      else this.run(entry);
    }
    if (this.running >= this.concurrency) return;
    this.arm(this.later.peek()?.at ?? Infinity);
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
