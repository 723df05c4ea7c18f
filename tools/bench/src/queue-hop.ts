/**
 * Cost of the queue hop: how long a DeliveryJob takes from `schedule()` to the start of its
 * handler, and how many jobs per second pass through, for the embedded InMemoryQueue and for
 * BullMQQueue on the Redis at 127.0.0.1:6379 (or PUSHRELAY_REDIS_PORT).
 *
 *   node tools/bench/run-ts.mjs tools/bench/src/queue-hop.ts [jobs]
 *
 * Two runs per queue: one job at a time (the latency of a lone call push), then `jobs` scheduled
 * at once (throughput, and the latency each job sees behind the others).
 */
import { performance } from 'node:perf_hooks';
import { InMemoryQueue, type DeliveryJob, type Queue } from '@pushrelay/core';
import { BullMQQueue } from '@pushrelay/queue-bullmq';

const jobs = Number(process.argv[2] ?? 5000);
const lone = 500;
const concurrency = 64;
const redisPort = Number(process.env['PUSHRELAY_REDIS_PORT'] ?? 6379);

interface Figures {
  p50: number;
  p99: number;
  perSecond?: number;
}

function job(id: string, lane: DeliveryJob['lane']): DeliveryJob {
  const at = new Date().toISOString();
  return {
    id,
    notification: {
      id,
      type: 'incoming_call',
      tenant: 'bench',
      recipient: 'alice',
      call: { id: `call-${id}`, from: { number: '+15550100', displayName: 'Bench' }, video: false, startedAt: at },
      createdAt: at,
      deadline: new Date(Date.now() + 30_000).toISOString(),
      priority: 'high',
    },
    bindingId: 'b-1',
    attempt: 1,
    runAt: Date.now(),
    lane,
    credential: 'apns:com.example:production',
  };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function measure(
  queue: Queue,
  label: string,
  lane: DeliveryJob['lane'],
): Promise<{ lone: Figures; burst: Figures }> {
  const started = new Map<string, number>();
  const latencies: number[] = [];
  let waiter: (() => void) | undefined;
  let target = 0;
  queue.process(async (j) => {
    latencies.push(performance.now() - started.get(j.id)!);
    if (latencies.length === target) waiter?.();
  });
  const runUntil = (n: number) =>
    new Promise<void>((resolve) => {
      target = n;
      waiter = resolve;
      if (latencies.length >= n) resolve();
    });

  for (let i = 0; i < lone; i++) {
    const id = `${label}-lone-${i}`;
    const done = runUntil(i + 1);
    started.set(id, performance.now());
    await queue.schedule(job(id, lane));
    await done;
  }
  const loneSorted = [...latencies].sort((a, b) => a - b);

  latencies.length = 0;
  const done = runUntil(jobs);
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: jobs }, (_, i) => {
      const id = `${label}-burst-${i}`;
      started.set(id, performance.now());
      return queue.schedule(job(id, lane));
    }),
  );
  await done;
  const seconds = (performance.now() - t0) / 1000;
  const burstSorted = [...latencies].sort((a, b) => a - b);
  return {
    lone: { p50: percentile(loneSorted, 50), p99: percentile(loneSorted, 99) },
    burst: { p50: percentile(burstSorted, 50), p99: percentile(burstSorted, 99), perSecond: jobs / seconds },
  };
}

const rows: Array<[string, Awaited<ReturnType<typeof measure>>]> = [];
rows.push(['InMemoryQueue', await measure(new InMemoryQueue({ concurrency }), 'mem', 'call')]);
for (const lane of ['call', 'default'] as const) {
  const queue = new BullMQQueue({
    connection: { port: redisPort },
    prefix: `pushrelay-bench:${process.pid}`,
    name: `hop-${lane}`,
    concurrency,
  });
  try {
    rows.push([`BullMQQueue (${lane} lane)`, await measure(queue, `bull-${lane}`, lane)]);
  } finally {
    await queue.close();
    await queue.destroy();
  }
}

const ms = (n: number) => `${n.toFixed(2)} ms`;
console.log(`queue hop, concurrency ${concurrency}: ${lone} jobs one at a time, then ${jobs} at once`);
console.log('| queue | lone p50 | lone p99 | burst p50 | burst p99 | burst jobs/s |');
console.log('|---|---|---|---|---|---|');
for (const [name, f] of rows) {
  console.log(
    `| ${name} | ${ms(f.lone.p50)} | ${ms(f.lone.p99)} | ${ms(f.burst.p50)} | ${ms(f.burst.p99)} | ${Math.round(f.burst.perSecond!)} |`,
  );
}
process.exit(0);
