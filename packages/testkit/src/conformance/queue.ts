import { ManualClock, settle, type DeliveryJob, type Queue } from '@pushrelay/core';
import type { TestApi } from '../runner.js';
import { sampleNotification } from './stores.js';

export interface QueueContext {
  clock: ManualClock;
  namespace: string;
  /** Jobs the queue may run at once. */
  concurrency: number;
  /** How soon a job whose handler threw runs again. */
  failureRetryMs: number;
}

export interface QueueSuiteOptions {
  name: string;
  create: (context: QueueContext) => Queue | Promise<Queue>;
  /** Called after `close()`, to drop what the queue left on its server. */
  destroy?: (queue: Queue, context: QueueContext) => void | Promise<void>;
  /** False when the queue keeps time itself: delays then pass in real time. */
  usesInjectedClock?: boolean;
}

let counter = 0;

export function describeQueueConformance(t: TestApi, options: QueueSuiteOptions): void {
  const real = options.usesInjectedClock === false;
  // Delays are short when they pass in real time; the manual clock makes any delay free.
  const unit = real ? 150 : 1000;

  const run = (concurrency: number, body: (q: Queue, ctx: QueueContext, h: Harness) => Promise<void>) => async () => {
    const start = real ? Date.now() : Date.parse('2024-01-01T00:00:00.000Z');
    const ctx: QueueContext = {
      clock: new ManualClock(start),
      namespace: `q${process.pid}x${Date.now()}x${counter++}`,
      concurrency,
      failureRetryMs: unit,
    };
    const queue = await options.create(ctx);
    const harness = new Harness(ctx, real);
    try {
      await body(queue, ctx, harness);
    } finally {
      await queue.close();
      await options.destroy?.(queue, ctx);
    }
  };

  const job = (ctx: QueueContext, id: string, overrides: Partial<DeliveryJob> = {}): DeliveryJob => ({
    id: `${ctx.namespace}-${id}`,
    notification: sampleNotification({ id }),
    bindingId: 'b-1',
    attempt: 1,
    runAt: ctx.clock.now(),
    lane: 'default',
    ...overrides,
  });
  const short = (id: string) => id.slice(id.lastIndexOf('-') + 1);

  t.describe(`Queue conformance: ${options.name}`, () => {
    t.it(
      'runs a due job once with the job as scheduled',
      run(4, async (q, ctx, h) => {
        const seen: DeliveryJob[] = [];
        q.process(async (j) => void seen.push(j));
        const j = job(ctx, '1', { credential: 'apns:com.example:production', attempt: 3 });
        t.expect(await q.schedule(j)).toBe(true);
        await h.until(() => seen.length === 1);
        await h.pass(unit);
        t.expect(seen).toEqual([j]);
      }),
      15_000,
    );

    t.it(
      'refuses a second job with the id of one still waiting, and runs it once',
      run(4, async (q, ctx, h) => {
        const seen: string[] = [];
        t.expect(await q.schedule(job(ctx, '1', { runAt: ctx.clock.now() + unit }))).toBe(true);
        t.expect(await q.schedule(job(ctx, '1', { runAt: ctx.clock.now() + unit }))).toBe(false);
        q.process(async (j) => void seen.push(short(j.id)));
        await h.pass(unit * 3);
        await h.until(() => seen.length >= 1);
        t.expect(seen).toEqual(['1']);
      }),
      15_000,
    );

    t.it(
      'holds a delayed job until its time',
      run(4, async (q, ctx, h) => {
        const seen: string[] = [];
        q.process(async (j) => void seen.push(short(j.id)));
        await q.schedule(job(ctx, 'later', { runAt: ctx.clock.now() + unit * 4 }));
        await q.schedule(job(ctx, 'now'));
        await h.until(() => seen.length === 1);
        t.expect(seen).toEqual(['now']);
        await h.pass(unit * 6);
        await h.until(() => seen.length === 2);
        t.expect(seen).toEqual(['now', 'later']);
      }),
      15_000,
    );

    t.it(
      'runs the call lane ahead of the default lane, each by time',
      run(1, async (q, ctx, h) => {
        const seen: string[] = [];
        const now = ctx.clock.now();
        await q.schedule(job(ctx, 'd2', { runAt: now - 10 }));
        await q.schedule(job(ctx, 'd1', { runAt: now - 20 }));
        await q.schedule(job(ctx, 'c2', { lane: 'call', runAt: now - 10 }));
        await q.schedule(job(ctx, 'c1', { lane: 'call', runAt: now - 20 }));
        q.process(async (j) => void seen.push(short(j.id)));
        await h.until(() => seen.length === 4);
        t.expect(seen).toEqual(['c1', 'c2', 'd1', 'd2']);
      }),
      15_000,
    );

    t.it(
      'runs a job again when its handler throws, so nothing is lost, marked redelivered',
      run(4, async (q, ctx, h) => {
        let calls = 0;
        const marks: Array<boolean | undefined> = [];
        q.process(async (j) => {
          calls++;
          marks.push(j.redelivered);
          if (calls === 1) throw new Error('store down');
        });
        await q.schedule(job(ctx, '1'));
        await h.until(() => calls >= 1);
        await h.pass(unit * 3);
        await h.until(() => calls === 2);
        await h.pass(unit * 3);
        t.expect(calls).toBe(2);
        t.expect(marks.map(Boolean)).toEqual([false, true]);
      }),
      15_000,
    );

    t.it(
      'runs many jobs exactly once each',
      run(8, async (q, ctx, h) => {
        const counts = new Map<string, number>();
        q.process(async (j) => {
          await new Promise((r) => setImmediate(r));
          counts.set(j.id, (counts.get(j.id) ?? 0) + 1);
        });
        const ids = Array.from({ length: 100 }, (_, i) => `m${i}`);
        await Promise.all(ids.map((id) => q.schedule(job(ctx, id))));
        await h.until(() => counts.size === 100);
        t.expect([...counts.values()].every((n) => n === 1)).toBe(true);
      }),
      30_000,
    );

    t.it(
      'accepts a job id again once that job has run (a retry reuses nothing else)',
      run(4, async (q, ctx, h) => {
        const seen: string[] = [];
        q.process(async (j) => void seen.push(short(j.id)));
        await q.schedule(job(ctx, '1'));
        await h.until(() => seen.length === 1);
        await h.pass(unit);
        t.expect(await q.schedule(job(ctx, '1'))).toBe(true);
        await h.until(() => seen.length === 2);
      }),
      15_000,
    );

    if (options.usesInjectedClock !== false) {
      t.it(
        'holds a paused credential until the pause ends, others go on',
        run(4, async (q, ctx, h) => {
          if (!q.pauseCredential) return;
          const seen: string[] = [];
          q.process(async (j) => void seen.push(short(j.id)));
          await q.pauseCredential('apns:a:production', ctx.clock.now() + unit * 5);
          await q.schedule(job(ctx, 'paused', { credential: 'apns:a:production' }));
          await q.schedule(job(ctx, 'free', { credential: 'fcm:b:production' }));
          await h.until(() => seen.length === 1);
          t.expect(seen).toEqual(['free']);
          await h.pass(unit * 6);
          await h.until(() => seen.length === 2);
          t.expect(seen).toEqual(['free', 'paused']);
        }),
        15_000,
      );
    }

    t.it(
      'counts waiting jobs and waits for a running one on close',
      run(4, async (q, ctx, h) => {
        await q.schedule(job(ctx, 'a', { runAt: ctx.clock.now() + unit * 100 }));
        await q.schedule(job(ctx, 'b', { runAt: ctx.clock.now() + unit * 100 }));
        t.expect(await q.size()).toBe(2);
        let release!: () => void;
        let finished = false;
        q.process(async () => {
          await new Promise<void>((r) => (release = r));
          finished = true;
        });
        await q.schedule(job(ctx, 'c'));
        await h.until(() => release !== undefined);
        const closing = q.close();
        release();
        await closing;
        t.expect(finished).toBe(true);
      }),
      15_000,
    );
  });
}

/** Moves time (manual or real) and waits for conditions without asserting on durations. */
class Harness {
  constructor(
    private readonly ctx: QueueContext,
    private readonly real: boolean,
  ) {}

  async pass(ms: number): Promise<void> {
    if (this.real) await new Promise((r) => setTimeout(r, ms));
    else await this.ctx.clock.advance(ms);
  }

  async until(condition: () => boolean, limitMs = 10_000): Promise<void> {
    const started = Date.now();
    while (!condition()) {
      if (Date.now() - started > limitMs) throw new Error('condition not reached');
      if (this.real) await new Promise((r) => setTimeout(r, 10));
      else await settle(2);
    }
  }
}
