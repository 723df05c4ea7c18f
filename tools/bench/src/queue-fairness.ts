/**
 * What one tenant's backlog costs another tenant's calls in the queue: tenant A schedules
 * `backlog` call jobs at once, and once they are queued, while they drain, tenant B schedules one call job every 20 ms;
 * B's hop (schedule() to the start of its handler) p50/p99 is compared with B's hop on an idle
 * queue. Tenant A schedules through a queue connection of its own (as from another gateway
 * process). Run for InMemoryQueue and for BullMQQueue with fair order on (the default) and off, on
 * the Redis at 127.0.0.1:6379 (or PUSHRELAY_REDIS_PORT). Each handler holds its run slot 1 ms,
 * as a push to a nearby provider would.
 *
 *   node tools/bench/run-ts.mjs tools/bench/src/queue-fairness.ts [backlog]
 */
import { performance } from 'node:perf_hooks';
import { InMemoryQueue, type DeliveryJob, type Queue } from '@pushrelay/core';
import { BullMQQueue } from '@pushrelay/queue-bullmq';

const backlog = Number(process.argv[2] ?? 5000);
const concurrency = 64;
const redisPort = Number(process.env['PUSHRELAY_REDIS_PORT'] ?? 6379);

function job(id: string, tenant: string): DeliveryJob {
  const at = new Date().toISOString();
  return {
    id: `${tenant}/${id}/b-1`,
    notification: {
      id,
      type: 'incoming_call',
      tenant,
      recipient: 'alice',
      call: { id: `call-${id}`, from: { number: '+15550100', displayName: 'Bench' }, video: false, startedAt: at },
      createdAt: at,
      deadline: new Date(Date.now() + 60_000).toISOString(),
      priority: 'high',
    },
    bindingId: 'b-1',
    attempt: 1,
    runAt: Date.now(),
    lane: 'call',
  };
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Figures {
  idle: [number, number];
  flooded: [number, number];
  calls: number;
  drainSeconds: number;
}

async function measure(queue: Queue, flooder: Queue = queue): Promise<Figures> {
  const scheduledAt = new Map<string, number>();
  const hops: number[] = [];
  let aDone = 0;
  queue.process(async (j) => {
    if (j.notification.tenant === 'tenant-b') hops.push(performance.now() - scheduledAt.get(j.id)!);
    else aDone++;
    await sleep(1);
  });
  const callB = async (n: string) => {
    const j = job(n, 'tenant-b');
    scheduledAt.set(j.id, performance.now());
    await queue.schedule(j);
  };

  for (let i = 0; i < 100; i++) {
    await callB(`idle-${i}`);
    await sleep(10);
  }
  await sleep(200);
  const idle = [...hops].sort((a, b) => a - b);
  hops.length = 0;

  const t0 = performance.now();
  const flood = Promise.all(Array.from({ length: backlog }, (_, i) => flooder.schedule(job(`a-${i}`, 'tenant-a'))));
  // B calls once A's backlog is queued: what is measured is the order the queue runs jobs in,
  // not B's schedule() waiting behind A's adds in Redis.
  await flood;
  let n = 0;
  while (aDone < backlog) {
    await callB(`flooded-${n++}`);
    await sleep(20);
  }
  const drainSeconds = (performance.now() - t0) / 1000;
  await sleep(200);
  const flooded = [...hops].sort((a, b) => a - b);
  return {
    idle: [percentile(idle, 50), percentile(idle, 99)],
    flooded: [percentile(flooded, 50), percentile(flooded, 99)],
    calls: flooded.length,
    drainSeconds,
  };
}

const rows: Array<[string, Figures]> = [];
rows.push(['InMemoryQueue', await measure(new InMemoryQueue({ concurrency }))]);
for (const [label, jobsPerTenantTurn] of [
  ['BullMQQueue, fair order (jobsPerTenantTurn 8)', 8],
  ['BullMQQueue, plain order (jobsPerTenantTurn 0)', 0],
] as const) {
  const open = () =>
    new BullMQQueue({
      connection: { port: redisPort },
      prefix: `pushrelay-bench:${process.pid}`,
      name: `fair-${jobsPerTenantTurn}`,
      concurrency,
      jobsPerTenantTurn,
    });
  // Tenant A's jobs come through a connection of their own, as from another gateway process:
  // B's schedule() then does not wait behind A's 5000 adds on one connection.
  const queue = open();
  const flooder = open();
  try {
    rows.push([label, await measure(queue, flooder)]);
  } finally {
    await flooder.close();
    await queue.close();
    await queue.destroy();
  }
}

const ms = (n: number) => `${n.toFixed(1)} ms`;
console.log(
  `tenant A: ${backlog} call jobs at once; tenant B: one call job every 20 ms meanwhile (concurrency ${concurrency})`,
);
console.log("| queue | B idle p50 | B idle p99 | B during A's backlog p50 | p99 | B calls | A drained in |");
console.log('|---|---|---|---|---|---|---|');
for (const [name, f] of rows) {
  console.log(
    `| ${name} | ${ms(f.idle[0])} | ${ms(f.idle[1])} | ${ms(f.flooded[0])} | ${ms(f.flooded[1])} | ${f.calls} | ${f.drainSeconds.toFixed(1)} s |`,
  );
}
process.exit(0);
