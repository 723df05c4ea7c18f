import { describe, expect, it } from 'vitest';
import { InMemoryQueue, ManualClock, parseCallNotification, type DeliveryJob } from '../src/index.js';

const START = Date.parse('2024-05-01T10:00:00.000Z');

function job(tenant: string, n: number, runAt = START): DeliveryJob {
  const notification = parseCallNotification(
    {
      id: `${tenant}-${n}`,
      type: 'incoming_call',
      tenant,
      recipient: 'u',
      call: { id: `c${n}`, from: { number: '1' } },
    },
    { now: START },
  );
  return { id: `${tenant}/${n}`, notification, bindingId: 'b', attempt: 1, runAt, lane: 'call' };
}

describe('the in-memory queue across tenants', () => {
  it("runs a tenant's job next in turn, not after another tenant's backlog", async () => {
    const clock = new ManualClock(START);
    const queue = new InMemoryQueue({ clock, concurrency: 1 });
    for (let i = 0; i < 1000; i++) await queue.schedule(job('flood', i));
    await queue.schedule(job('quiet', 0));
    await queue.schedule(job('quiet', 1));
    const ran: string[] = [];
    queue.process(async (j) => void ran.push(j.id));
    while (ran.length < 1002) await clock.advance(0);
    expect(ran.slice(0, 5)).toEqual(['flood/0', 'quiet/0', 'flood/1', 'quiet/1', 'flood/2']);
    // Each tenant's own jobs in the order they came.
    expect(ran.filter((id) => id.startsWith('flood/'))).toEqual(Array.from({ length: 1000 }, (_, i) => `flood/${i}`));
  });

  it("keeps a delayed job apart until it is due, then in its tenant's turn", async () => {
    const clock = new ManualClock(START);
    const queue = new InMemoryQueue({ clock, concurrency: 1 });
    await queue.schedule(job('a', 0, START + 1000));
    await queue.schedule(job('a', 1));
    await queue.schedule(job('b', 0));
    const ran: string[] = [];
    queue.process(async (j) => void ran.push(j.id));
    await clock.advance(0);
    expect(ran).toEqual(['a/1', 'b/0']);
    expect(await queue.size()).toBe(1);
    await clock.advance(1000);
    expect(ran).toEqual(['a/1', 'b/0', 'a/0']);
    expect(await queue.size()).toBe(0);
  });
});
