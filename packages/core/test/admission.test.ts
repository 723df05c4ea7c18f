import { describe, expect, it } from 'vitest';
import {
  DEFAULT_ADMISSION_POLICY,
  InMemoryBindingStore,
  InMemoryQueue,
  InMemoryReportStore,
  ManualClock,
  OverloadedError,
  Relay,
  parseCallNotification,
  type AdmissionOptions,
  type CallNotification,
  type Codec,
  type Transport,
} from '../src/index.js';

const START = Date.parse('2024-05-01T10:00:00.000Z');

const codec: Codec = {
  id: 'plain',
  capabilities: { decode: false, providers: ['fcm'] },
  encode: (n, b) => ({
    provider: b.provider,
    token: b.token,
    app: b.app,
    environment: b.environment,
    pushType: 'alert',
    priority: n.priority,
    expiresAt: Date.parse(n.deadline),
    payload: { type: n.type },
  }),
};

const fcm: Transport = {
  provider: 'fcm',
  send: async () => ({ kind: 'delivered', providerId: 'm' }),
  close: async () => {},
};

/** A relay whose jobs stay queued (no worker in this process) until `drain`. */
async function setup(admission: AdmissionOptions | undefined, devices = 1, rss = () => 0) {
  const clock = new ManualClock(START);
  const bindings = new InMemoryBindingStore({ clock });
  const reports = new InMemoryReportStore();
  const queue = new InMemoryQueue({ clock });
  const relay = new Relay({
    bindings,
    reports,
    queue,
    clock,
    codecs: [codec],
    transports: { fcm },
    acceptOnly: true,
    ...(admission ? { admission: { refreshMs: 100, residentMemory: rss, ...admission } } : {}),
  });
  for (let d = 0; d < devices; d++) {
    for (const tenant of ['other', 'acme']) {
      await bindings.upsert({
        tenant,
        userId: 'alice',
        provider: 'fcm',
        token: `${tenant}-${d}`,
        app: 'p',
        environment: 'production',
        pushKind: 'data',
        format: 'plain',
        origin: 'api',
      });
    }
  }
  let n = 0;
  const notification = (type: 'incoming_call' | 'message', tenant = 'acme'): CallNotification =>
    parseCallNotification(
      {
        id: `n${++n}`,
        type,
        tenant,
        recipient: 'alice',
        ...(type === 'incoming_call' ? { call: { id: `c${n}`, from: { number: '1' } } } : { message: { body: 'hi' } }),
      },
      { now: clock.now() },
    );
  const drain = async () => {
    relay.start();
    while ((await queue.size()) > 0) await new Promise((r) => setTimeout(r, 1));
  };
  return { relay, reports, queue, clock, notification, drain };
}

async function refusal(promise: Promise<unknown>): Promise<OverloadedError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(OverloadedError);
  return error as OverloadedError;
}

describe('admission control', () => {
  it('keeps room for calls: other types are refused first, calls at the bound, and nothing is written', async () => {
    const s = await setup({ maxPendingJobs: 10, callReservePercent: 20, retryAfterMs: 2000 });
    for (let i = 0; i < 8; i++) await s.relay.notify(s.notification('message'));
    const message = s.notification('message');
    const refused = await refusal(s.relay.notify(message));
    expect([refused.code, refused.reason, refused.retryAfterMs]).toEqual(['overloaded', 'pending-jobs', 2000]);
    expect(await s.reports.get('acme', message.id)).toBeUndefined();

    // The calls' share is still open...
    await s.relay.notify(s.notification('incoming_call'));
    await s.relay.notify(s.notification('incoming_call'));
    // ...up to the bound itself.
    const call = s.notification('incoming_call');
    expect((await refusal(s.relay.notify(call))).reason).toBe('pending-jobs');
    expect(await s.reports.get('acme', call.id)).toBeUndefined();
    expect(await s.queue.size()).toBe(10);
  });

  it('counts every device of a notification, and admits again once the queue has drained', async () => {
    const s = await setup({ maxPendingJobs: 10, callReservePercent: 0 }, 4);
    await s.relay.notify(s.notification('incoming_call'));
    await s.relay.notify(s.notification('incoming_call'));
    // 8 queued: a third call would make 12.
    const third = s.notification('incoming_call');
    await refusal(s.relay.notify(third));
    await s.drain();
    await s.clock.advance(100);
    const again = await s.relay.notify(third);
    expect([again.duplicate, again.report.devices.length]).toEqual([false, 4]);
  });

  it('counts the jobs it queued since the last read of the queue, so a burst cannot overshoot', async () => {
    const s = await setup({ maxPendingJobs: 5, callReservePercent: 0, refreshMs: 60_000 });
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, () => s.relay.notify(s.notification('incoming_call'))),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(5);
    expect(
      results.filter((r) => r.status === 'rejected' && (r.reason as Error) instanceof OverloadedError),
    ).toHaveLength(3);
    expect(await s.queue.size()).toBe(5);
  });

  it("keeps one tenant to its share, so another tenant's calls still get in", async () => {
    const s = await setup({ maxPendingJobs: 10, callReservePercent: 0, maxTenantPercent: 50 });
    for (let i = 0; i < 5; i++) await s.relay.notify(s.notification('incoming_call'));
    const refused = await refusal(s.relay.notify(s.notification('incoming_call')));
    expect(refused.reason).toBe('tenant-share');
    for (let i = 0; i < 5; i++) await s.relay.notify(s.notification('incoming_call', 'other'));
    expect(await s.queue.size()).toBe(10);
    // Runs that ended give the share back.
    await s.drain();
    await s.clock.advance(100);
    await s.relay.notify(s.notification('incoming_call'));
  });

  it('gives the share back for a duplicate, which queued nothing', async () => {
    const s = await setup({ maxPendingJobs: 10, callReservePercent: 0, maxTenantPercent: 50 });
    const first = s.notification('incoming_call');
    await s.relay.notify(first);
    for (let i = 0; i < 20; i++) expect((await s.relay.notify(first)).duplicate).toBe(true);
    for (let i = 0; i < 4; i++) await s.relay.notify(s.notification('incoming_call'));
    expect(await s.queue.size()).toBe(5);
  });

  it('refuses past its memory bound, whatever the queue holds', async () => {
    let rss = 100 * 1048576;
    const s = await setup({ maxPendingJobs: 0, maxRssBytes: 200 * 1048576 }, 1, () => rss);
    await s.relay.notify(s.notification('incoming_call'));
    rss = 300 * 1048576;
    await s.clock.advance(100);
    const refused = await refusal(s.relay.notify(s.notification('incoming_call')));
    expect(refused.reason).toBe('memory');
    expect(refused.message).toContain('300 MB');
  });

  it('fills a bound left out with the default, and has none without admission', async () => {
    expect(DEFAULT_ADMISSION_POLICY).toEqual({
      maxPendingJobs: 10_000,
      callReservePercent: 20,
      maxTenantPercent: 100,
      maxRssBytes: 0,
      retryAfterMs: 1000,
      refreshMs: 250,
    });
    const s = await setup(undefined, 50);
    for (let i = 0; i < 250; i++) await s.relay.notify(s.notification('message'));
    expect(await s.queue.size()).toBe(12_500);
  });
});
