import { afterEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import type { DeliveryJob } from '@pushrelay/core';
import { sampleNotification } from '@pushrelay/testkit';
import { BullMQQueue, type BullMQQueueOptions } from '../src/index.js';
import { redis, REDIS_PORT, runPrefix, until } from './helpers.js';

const prefix = runPrefix('fair');
let counter = 0;
const fresh = () => `f${counter++}`;
const job = (tenant: string, n: number, overrides: Partial<DeliveryJob> = {}): DeliveryJob => ({
  id: `${tenant}/${n}/b-1`,
  notification: sampleNotification({ id: `${tenant}-${n}`, tenant }),
  bindingId: 'b-1',
  attempt: 1,
  runAt: Date.now(),
  lane: 'call',
  ...overrides,
});

describe.skipIf(!redis.available)('BullMQQueue fair order between tenants', () => {
  const open: BullMQQueue[] = [];
  const make = (name: string, options: Partial<BullMQQueueOptions> = {}) => {
    const q = new BullMQQueue({ connection: { port: REDIS_PORT }, prefix, name, concurrency: 1, ...options });
    open.push(q);
    return q;
  };
  afterEach(async () => {
    for (const q of open.splice(0)) {
      await q.close();
      await q.destroy();
    }
  });

  /** Tenant A's backlog of 60 from one process, then 3 of tenant B from another; one worker runs them. */
  const runBacklog = async (options: Partial<BullMQQueueOptions>) => {
    const name = fresh();
    const flooder = make(name, options);
    const other = make(name, options);
    for (let n = 0; n < 60; n++) await flooder.schedule(job('tenant-a', n));
    for (let n = 0; n < 3; n++) await other.schedule(job('tenant-b', n));
    const worker = make(name, options);
    const seen: string[] = [];
    worker.process(async (j) => void seen.push(j.notification.id));
    await until(() => seen.length === 63, 15_000);
    return seen;
  };

  it("runs a quiet tenant's jobs after one turn of the busy tenant's backlog, in every process", async () => {
    const seen = await runBacklog({ jobsPerTenantTurn: 8 });
    const b = ['tenant-b-0', 'tenant-b-1', 'tenant-b-2'].map((id) => seen.indexOf(id));
    expect(Math.max(...b)).toBeLessThan(8 + 3);
    // Each tenant's own jobs keep the order they were scheduled in.
    expect(b).toEqual([...b].sort((x, y) => x - y));
    const a = seen.filter((id) => id.startsWith('tenant-a-'));
    expect(a).toEqual(Array.from({ length: 60 }, (_, n) => `tenant-a-${n}`));
  });

  it('runs due jobs in plain order when fair ordering is off', async () => {
    const seen = await runBacklog({ jobsPerTenantTurn: 0 });
    expect(seen.slice(60)).toEqual(['tenant-b-0', 'tenant-b-1', 'tenant-b-2']);
  });

  it('starts its clock again near the priority limit without leaving a delayed job behind new ones', async () => {
    const name = fresh();
    const q = make(name);
    const direct = new Redis({ port: REDIS_PORT });
    const seen: string[] = [];
    const gates = new Map<string, () => void>();
    try {
      await q.schedule(job('tenant-w', 0));
      await q.schedule(job('tenant-w', 1));
      await new Promise((r) => setTimeout(r, 20));
      // The worker's first fetch takes tenant-w-0 and leaves tenant-w-1 waiting, as under load.
      q.process(async (j) => {
        seen.push(j.notification.id);
        if (j.notification.tenant === 'tenant-w') await new Promise<void>((r) => gates.set(j.notification.id, r));
      });
      await until(() => gates.has('tenant-w-0'), 15_000);
      expect(await direct.zcard(`${prefix}:${name}-call:prioritized`)).toBe(1);
      // As after about a million levels; tenant-w-1 waits for the worker, so the clock goes on.
      await direct.hset(`${prefix}:${name}-call:fair`, '~v', String(1_500_000));
      await q.schedule(job('tenant-x', 0, { runAt: Date.now() + 1000 }));
      gates.get('tenant-w-0')!();
      await until(() => gates.has('tenant-w-1'), 15_000);
      // Nothing waits for the worker now: this tenant's first job starts the clock again.
      for (let n = 0; n < 30; n++) await q.schedule(job('tenant-c', n, { runAt: Date.now() + 1100 }));
      // The job running through the restart is moved to the top too: were it retried or put
      // back, it would not come after what was scheduled later.
      expect(await direct.hget(`${prefix}:${name}-call:j/tenant-w/1/b-1`, 'priority')).toBe('1');
      await new Promise((r) => setTimeout(r, 1300));
      gates.get('tenant-w-1')!();
      await until(() => seen.length === 33, 15_000);
      // Kept at its old tag it would run last; moved to the top it runs first of what was due.
      expect(seen.slice(2, 4)).toEqual(['tenant-x-0', 'tenant-c-0']);
      // Its start moved the clock to its new tag, not back to the old one.
      await new Promise((r) => setTimeout(r, 50));
      expect(Number(await direct.hget(`${prefix}:${name}-call:fair`, '~v'))).toBeLessThan(100);
    } finally {
      direct.disconnect();
    }
  });

  it('refuses a jobsPerTenantTurn that is negative or not a number', () => {
    expect(() => new BullMQQueue({ jobsPerTenantTurn: -1 })).toThrow(/jobsPerTenantTurn/);
    expect(() => new BullMQQueue({ jobsPerTenantTurn: Number.NaN })).toThrow(/jobsPerTenantTurn/);
  });
});
