import { describe, expect, it } from 'vitest';
import {
  InMemoryMissedCallStore,
  InMemoryReportStore,
  ManualClock,
  RetentionSweeper,
  type DeliveryReport,
  type ReportStore,
} from '../src/index.js';

const DAY = 24 * 3600 * 1000;
const START = Date.parse('2024-05-01T10:00:00.000Z');

function report(id: string, acceptedAt: number): DeliveryReport {
  const at = new Date(acceptedAt).toISOString();
  return {
    notificationId: id,
    tenant: 't',
    recipient: 'alice',
    type: 'incoming_call',
    acceptedAt: at,
    deadline: at,
    status: 'completed',
    completedAt: at,
    devices: [],
  };
}

describe('RetentionSweeper', () => {
  it('sweeps at start and then every interval, in batches with pauses on the injected clock', async () => {
    const clock = new ManualClock(START);
    const reports = new InMemoryReportStore();
    for (let i = 0; i < 25; i++) await reports.create(report(`r${i}`, START - 8 * DAY));
    const calls: number[] = [];
    const counting: ReportStore = Object.assign(Object.create(reports) as ReportStore, {
      purgeAcceptedBefore: async (before: number, limit: number) => {
        const n = await reports.purgeAcceptedBefore(before, limit);
        calls.push(n);
        return n;
      },
    });
    const purged: number[] = [];
    const sweeper = new RetentionSweeper({
      reports: counting,
      clock,
      retentionMs: 7 * DAY,
      batchSize: 10,
      pauseMs: 50,
      intervalMs: 60_000,
      onPurged: (r) => purged.push(r.reports),
    });
    sweeper.start();
    await clock.advance(0);
    expect(calls).toEqual([10]);
    await clock.advance(50);
    expect(calls).toEqual([10, 10]);
    await clock.advance(50);
    expect(calls).toEqual([10, 10, 5]);
    expect(purged).toEqual([25]);
    expect(reports.size).toBe(0);

    await reports.create(report('later', START + 100 - 7 * DAY));
    await clock.advance(60_000);
    expect(calls).toEqual([10, 10, 5, 1]);
    expect(reports.size).toBe(0);
    await sweeper.stop();
    expect(clock.pending).toBe(0);
  });

  it('stops a long sweep after the batch under way', async () => {
    const clock = new ManualClock(START);
    const reports = new InMemoryReportStore();
    for (let i = 0; i < 30; i++) await reports.create(report(`r${i}`, START - 8 * DAY));
    const sweeper = new RetentionSweeper({ reports, clock, batchSize: 10, pauseMs: 1000 });
    sweeper.start();
    await clock.advance(0);
    expect(reports.size).toBe(20);
    const stopping = sweeper.stop();
    await clock.advance(1000);
    await stopping;
    expect(reports.size).toBe(10);
    expect(clock.pending).toBe(0);
  });

  it('reports a failing store and still sweeps the others', async () => {
    const clock = new ManualClock(START);
    const missedCalls = new InMemoryMissedCallStore({ clock });
    await missedCalls.add('t', 'alice', { ref: 'a', callId: 'a', from: { number: '1' }, at: 'x' }, 10);
    await clock.advance(20);
    const errors: string[] = [];
    const sweeper = new RetentionSweeper({
      reports: {
        ...new InMemoryReportStore(),
        purgeAcceptedBefore: async () => {
          throw new Error('disk on fire');
        },
      } as unknown as ReportStore,
      missedCalls,
      clock,
      pauseMs: 0,
      onError: (error, target) => errors.push(`${target}: ${(error as Error).message}`),
    });
    expect(await sweeper.sweep()).toEqual({ reports: 0, missedCalls: 1 });
    expect(errors).toEqual(['reports: disk on fire']);
  });

  it('refuses settings that would never sweep', () => {
    expect(() => new RetentionSweeper({ retentionMs: 0 })).toThrow(/retentionMs must be a positive number/);
    expect(() => new RetentionSweeper({ batchSize: Number.NaN })).toThrow(/batchSize/);
    expect(() => new RetentionSweeper({ pauseMs: -1 })).toThrow(/pauseMs/);
  });
});
