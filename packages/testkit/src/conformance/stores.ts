import {
  ManualClock,
  RetentionSweeper,
  type BindingStore,
  type CallNotification,
  type DeliveryReport,
  type DeviceBindingInput,
  type MissedCallStore,
  type ReportStore,
} from '@pushrelay/core';
import type { TestApi } from '../runner.js';

/** Handed to every factory. Stores that take an injected clock should use it. */
export interface StoreContext {
  clock: ManualClock;
  /** Unique per test, so stores on a shared server can namespace their keys. */
  namespace: string;
}

export interface StoreSuiteOptions<S> {
  /** Shown in the suite name, e.g. "postgres". */
  name: string;
  create: (context: StoreContext) => S | Promise<S>;
  /** Frees what `create` opened (connections, files). */
  destroy?: (store: S) => void | Promise<void>;
  /**
   * False when the store keeps time itself (a server's TTL): time-dependent tests then wait in
   * real time instead of moving the manual clock.
   */
  usesInjectedClock?: boolean;
}

let counter = 0;
const START = Date.parse('2024-01-01T00:00:00.000Z');
const DAY_MS = 24 * 3600 * 1000;

/** Runs `body` with a fresh store and always destroys it. */
async function withStore<S>(
  options: StoreSuiteOptions<S>,
  body: (store: S, context: StoreContext) => Promise<void>,
): Promise<void> {
  const context = { clock: new ManualClock(START), namespace: `t${process.pid}x${Date.now()}x${counter++}` };
  const store = await options.create(context);
  try {
    await body(store, context);
  } finally {
    await options.destroy?.(store);
  }
}

export function bindingInput(overrides: Partial<DeviceBindingInput> = {}): DeviceBindingInput {
  return {
    tenant: 'tenant-a',
    userId: 'alice',
    provider: 'apns',
    token: 'a'.repeat(64),
    app: 'com.example.phone',
    environment: 'production',
    pushKind: 'voip',
    format: 'generic',
    origin: 'api',
    ...overrides,
  };
}

export function describeBindingStoreConformance(t: TestApi, options: StoreSuiteOptions<BindingStore>): void {
  const run = (body: (s: BindingStore, c: StoreContext) => Promise<void>) => () => withStore(options, body);

  t.describe(`BindingStore conformance: ${options.name}`, () => {
    t.it(
      'stores a binding with an id and times, and reads it back',
      run(async (s) => {
        const b = await s.upsert(
          bindingInput({ secrets: { pushKey: 'k' }, params: { topic: 'x' }, sipInstance: '<urn:uuid:1>' }),
        );
        t.expect(b.id).toBeTypeOf('string');
        t.expect(b.id.length).toBeGreaterThan(0);
        t.expect(Number.isNaN(Date.parse(b.createdAt))).toBe(false);
        t.expect(await s.get('tenant-a', b.id)).toEqual(b);
        t.expect(b).toMatchObject({
          ...bindingInput(),
          secrets: { pushKey: 'k' },
          params: { topic: 'x' },
          sipInstance: '<urn:uuid:1>',
        });
      }),
    );

    t.it(
      'keeps one binding per (tenant, provider, token): a second upsert updates it and keeps its id',
      run(async (s) => {
        const first = await s.upsert(bindingInput());
        const second = await s.upsert(bindingInput({ userId: 'bob', pushKind: 'alert' }));
        t.expect(second.id).toBe(first.id);
        t.expect(second.userId).toBe('bob');
        t.expect(second.createdAt).toBe(first.createdAt);
        t.expect(await s.forUser('tenant-a', 'alice')).toEqual([]);
        t.expect((await s.forUser('tenant-a', 'bob')).map((b) => b.id)).toEqual([first.id]);
      }),
    );

    t.it(
      'treats the same token in another tenant or provider as another binding',
      run(async (s) => {
        const a = await s.upsert(bindingInput());
        const b = await s.upsert(bindingInput({ tenant: 'tenant-b' }));
        const c = await s.upsert(bindingInput({ provider: 'fcm' }));
        t.expect(new Set([a.id, b.id, c.id]).size).toBe(3);
        t.expect(await s.get('tenant-b', a.id)).toBeUndefined();
      }),
    );

    t.it(
      "lists a user's bindings oldest first and no one else's",
      run(async (s, ctx) => {
        const one = await s.upsert(bindingInput({ token: 'b'.repeat(64) }));
        await ctx.clock.advance(1000);
        const two = await s.upsert(bindingInput({ token: 'c'.repeat(64), provider: 'fcm' }));
        await s.upsert(bindingInput({ token: 'd'.repeat(64), userId: 'carol' }));
        await s.upsert(bindingInput({ token: 'e'.repeat(64), tenant: 'tenant-b' }));
        t.expect((await s.forUser('tenant-a', 'alice')).map((b) => b.id)).toEqual([one.id, two.id]);
      }),
    );

    t.it(
      'finds a binding by token and removes it once',
      run(async (s) => {
        const b = await s.upsert(bindingInput());
        t.expect((await s.findByToken('tenant-a', 'apns', b.token))?.id).toBe(b.id);
        t.expect(await s.findByToken('tenant-a', 'fcm', b.token)).toBeUndefined();
        t.expect(await s.remove('tenant-b', b.id)).toBe(false);
        t.expect(await s.remove('tenant-a', b.id)).toBe(true);
        t.expect(await s.remove('tenant-a', b.id)).toBe(false);
        t.expect(await s.get('tenant-a', b.id)).toBeUndefined();
        t.expect(await s.findByToken('tenant-a', 'apns', b.token)).toBeUndefined();
        const again = await s.upsert(bindingInput());
        t.expect(again.id).not.toBe(b.id);
      }),
    );

    t.it(
      'survives concurrent upserts of one token as one binding',
      run(async (s) => {
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) => s.upsert(bindingInput({ userId: `user-${i % 2}` }))),
        );
        t.expect(new Set(results.map((r) => r.id)).size).toBe(1);
        const all = [...(await s.forUser('tenant-a', 'user-0')), ...(await s.forUser('tenant-a', 'user-1'))];
        t.expect(all.length).toBe(1);
      }),
    );

    t.it(
      "counts a tenant's bindings: an update of a known token is not a new one",
      run(async (s) => {
        t.expect(await s.countForTenant('tenant-a')).toBe(0);
        const first = await s.upsert(bindingInput());
        await s.upsert(bindingInput({ token: 'b'.repeat(64), userId: 'bob' }));
        await s.upsert(bindingInput({ provider: 'fcm' }));
        await s.upsert(bindingInput({ tenant: 'tenant-b' }));
        t.expect(await s.countForTenant('tenant-a')).toBe(3);
        await s.upsert(bindingInput({ userId: 'carol', pushKind: 'alert' }));
        t.expect(await s.countForTenant('tenant-a')).toBe(3);
        // A device whose token changed keeps its id: the binding is replaced, not added.
        await s.upsert(bindingInput({ id: first.id, token: 'f'.repeat(64) }));
        t.expect(await s.countForTenant('tenant-a')).toBe(3);
        t.expect(await s.remove('tenant-a', first.id)).toBe(true);
        t.expect(await s.countForTenant('tenant-a')).toBe(2);
        t.expect(await s.countForTenant('tenant-b')).toBe(1);
        t.expect(await s.countForTenant('tenant-c')).toBe(0);
      }),
    );

    t.it(
      'hands out copies: changing a returned binding does not change the store',
      run(async (s) => {
        const b = await s.upsert(bindingInput());
        b.userId = 'mallory';
        t.expect((await s.get('tenant-a', b.id))?.userId).toBe('alice');
      }),
    );
  });
}

export function sampleNotification(overrides: Partial<CallNotification> = {}): CallNotification {
  return {
    id: 'n-1',
    type: 'incoming_call',
    tenant: 'tenant-a',
    recipient: 'alice',
    call: {
      id: 'call-1',
      from: { number: '+15550100', displayName: 'Bob' },
      video: false,
      startedAt: '2024-01-01T00:00:00.000Z',
    },
    createdAt: '2024-01-01T00:00:00.000Z',
    deadline: '2024-01-01T00:00:30.000Z',
    priority: 'high',
    ...overrides,
  };
}

export function sampleReport(overrides: Partial<DeliveryReport> = {}): DeliveryReport {
  const at = '2024-01-01T00:00:00.000Z';
  return {
    notificationId: 'n-1',
    tenant: 'tenant-a',
    recipient: 'alice',
    type: 'incoming_call',
    acceptedAt: at,
    deadline: '2024-01-01T00:00:30.000Z',
    status: 'in-progress',
    devices: [
      {
        bindingId: 'b-1',
        provider: 'apns',
        app: 'com.example',
        format: 'generic',
        status: 'pending',
        attempts: [],
        updatedAt: at,
      },
      {
        bindingId: 'b-2',
        provider: 'fcm',
        app: 'proj',
        format: 'generic',
        status: 'pending',
        attempts: [],
        updatedAt: at,
      },
    ],
    ...overrides,
  };
}

export function describeReportStoreConformance(t: TestApi, options: StoreSuiteOptions<ReportStore>): void {
  const run = (body: (s: ReportStore, c: StoreContext) => Promise<void>) => () => withStore(options, body);

  t.describe(`ReportStore conformance: ${options.name}`, () => {
    t.it(
      'creates a report once per (tenant, id)',
      run(async (s) => {
        t.expect(await s.create(sampleReport())).toBe(true);
        t.expect(await s.create(sampleReport({ recipient: 'bob' }))).toBe(false);
        t.expect(await s.create(sampleReport({ tenant: 'tenant-b' }))).toBe(true);
        t.expect(await s.get('tenant-a', 'n-1')).toEqual(sampleReport());
        t.expect(await s.get('tenant-c', 'n-1')).toBeUndefined();
      }),
    );

    t.it(
      'lets exactly one of many concurrent creates win',
      run(async (s) => {
        const wins = await Promise.all(Array.from({ length: 10 }, () => s.create(sampleReport())));
        t.expect(wins.filter(Boolean).length).toBe(1);
      }),
    );

    t.it(
      'records attempts per device and completes when every device is final',
      run(async (s) => {
        await s.create(sampleReport());
        const attempt = {
          attempt: 1,
          at: '2024-01-01T00:00:01.000Z',
          outcome: { kind: 'retry' as const, reason: 'Shutdown', retryAfterMs: 500 },
          latencyMs: 12,
        };
        const r1 = await s.recordAttempt('tenant-a', 'n-1', 'b-1', {
          status: 'retrying',
          attempt,
          detail: 'Shutdown',
          at: attempt.at,
        });
        t.expect(r1?.completedNow).toBe(false);
        t.expect(r1?.report.devices[0]).toEqual({
          ...sampleReport().devices[0],
          status: 'retrying',
          attempts: [attempt],
          detail: 'Shutdown',
          updatedAt: attempt.at,
        });
        const delivered = {
          attempt: 2,
          at: '2024-01-01T00:00:02.000Z',
          outcome: { kind: 'delivered' as const, providerId: 'x' },
          latencyMs: 8,
        };
        const r2 = await s.recordAttempt('tenant-a', 'n-1', 'b-1', {
          status: 'delivered',
          attempt: delivered,
          at: delivered.at,
        });
        t.expect(r2?.report.devices[0]?.attempts).toEqual([attempt, delivered]);
        t.expect(r2?.report.devices[0]?.detail).toBeUndefined();
        t.expect(r2?.report.status).toBe('in-progress');
        const r3 = await s.recordAttempt('tenant-a', 'n-1', 'b-2', {
          status: 'expired',
          detail: 'deadline passed',
          at: '2024-01-01T00:00:31.000Z',
        });
        t.expect(r3?.completedNow).toBe(true);
        t.expect(r3?.report.status).toBe('completed');
        t.expect(r3?.report.completedAt).toBe('2024-01-01T00:00:31.000Z');
        const stored = await s.get('tenant-a', 'n-1');
        t.expect(stored).toEqual(r3?.report);
      }),
    );

    t.it(
      'completes a report exactly once under concurrent final updates',
      run(async (s) => {
        await s.create(sampleReport());
        const results = await Promise.all(
          ['b-1', 'b-2'].map((id) =>
            s.recordAttempt('tenant-a', 'n-1', id, { status: 'delivered', at: '2024-01-01T00:00:01.000Z' }),
          ),
        );
        t.expect(results.filter((r) => r?.completedNow).length).toBe(1);
        const stored = await s.get('tenant-a', 'n-1');
        t.expect(stored?.devices.map((d) => d.status)).toEqual(['delivered', 'delivered']);
      }),
    );

    t.it(
      'purges reports past retention in batches, keeps fresh ones and ones still in progress',
      run(async (s, ctx) => {
        t.expect(typeof s.purgeAcceptedBefore, 'the store can purge old reports').toBe('function');
        const now = ctx.clock.now();
        const at = (daysAgo: number) => new Date(now - daysAgo * DAY_MS).toISOString();
        const make = (id: string, daysAgo: number, status: DeliveryReport['status'] = 'completed') =>
          s.create(sampleReport({ notificationId: id, acceptedAt: at(daysAgo), status }));
        // Created out of age order on purpose: a store must not rely on insertion order alone.
        for (let i = 0; i < 3; i++) await make(`fresh-${i}`, 6);
        for (let i = 0; i < 7; i++) await make(`old-${i}`, 8 + i / 10);
        await make('sending', 8, 'in-progress');
        await make('stuck', 40, 'in-progress');
        await make('other-old', 9);
        await s.create(
          sampleReport({ notificationId: 'x', tenant: 'tenant-b', acceptedAt: at(9), status: 'completed' }),
        );
        const sweeper = new RetentionSweeper({
          reports: s,
          clock: ctx.clock,
          retentionMs: 7 * DAY_MS,
          batchSize: 3,
          pauseMs: 0,
        });
        t.expect((await sweeper.sweep()).reports).toBe(10);
        for (let i = 0; i < 7; i++) t.expect(await s.get('tenant-a', `old-${i}`)).toBeUndefined();
        t.expect(await s.get('tenant-a', 'stuck')).toBeUndefined();
        t.expect(await s.get('tenant-a', 'other-old')).toBeUndefined();
        t.expect(await s.get('tenant-b', 'x')).toBeUndefined();
        for (let i = 0; i < 3; i++) t.expect((await s.get('tenant-a', `fresh-${i}`))?.acceptedAt).toBe(at(6));
        // Accepted 8 days ago but its sends may still run (deadlines reach up to 28 days): kept.
        t.expect((await s.get('tenant-a', 'sending'))?.status).toBe('in-progress');
        t.expect((await sweeper.sweep()).reports).toBe(0);

        await ctx.clock.advance(2 * DAY_MS);
        t.expect((await sweeper.sweep()).reports).toBe(3);
        t.expect(await s.get('tenant-a', 'fresh-0')).toBeUndefined();
        t.expect(await s.get('tenant-a', 'sending')).toBeDefined();
      }),
    );

    t.it(
      'answers undefined for an unknown report or device',
      run(async (s) => {
        await s.create(sampleReport());
        t.expect(
          await s.recordAttempt('tenant-a', 'nope', 'b-1', { status: 'delivered', at: '2024-01-01T00:00:01.000Z' }),
        ).toBeUndefined();
        t.expect(
          await s.recordAttempt('tenant-a', 'n-1', 'b-9', { status: 'delivered', at: '2024-01-01T00:00:01.000Z' }),
        ).toBeUndefined();
        t.expect(
          await s.recordAttempt('tenant-b', 'n-1', 'b-1', { status: 'delivered', at: '2024-01-01T00:00:01.000Z' }),
        ).toBeUndefined();
      }),
    );
  });
}

export type MissedCallSuiteOptions = StoreSuiteOptions<MissedCallStore>;

export function describeMissedCallStoreConformance(t: TestApi, options: MissedCallSuiteOptions): void {
  const run = (body: (s: MissedCallStore, c: StoreContext) => Promise<void>) => () => withStore(options, body);
  const entry = (ref: string, at = '2024-01-01T00:00:00.000Z') => ({
    ref,
    callId: `call-${ref}`,
    from: { number: '+15550100', displayName: 'Bob' },
    at,
  });
  const passTime = async (ctx: StoreContext, ms: number) => {
    if (options.usesInjectedClock === false) await new Promise((r) => setTimeout(r, ms));
    else await ctx.clock.advance(ms);
  };

  t.describe(`MissedCallStore conformance: ${options.name}`, () => {
    t.it(
      'keeps missed calls per user in the order they were added',
      run(async (s) => {
        await s.add('tenant-a', 'alice', entry('1'));
        await s.add('tenant-a', 'alice', entry('2'));
        await s.add('tenant-a', 'bob', entry('3'));
        await s.add('tenant-b', 'alice', entry('4'));
        t.expect(await s.list('tenant-a', 'alice')).toEqual([entry('1'), entry('2')]);
      }),
    );

    t.it(
      'replaces an entry with the same ref instead of adding a second one',
      run(async (s) => {
        await s.add('tenant-a', 'alice', entry('1'));
        await s.add('tenant-a', 'alice', entry('1', '2024-01-01T00:00:05.000Z'));
        t.expect(await s.list('tenant-a', 'alice')).toEqual([entry('1', '2024-01-01T00:00:05.000Z')]);
      }),
    );

    t.it(
      'removes one call by ref (answered after all)',
      run(async (s) => {
        await s.add('tenant-a', 'alice', entry('1'));
        await s.add('tenant-a', 'alice', entry('2'));
        t.expect(await s.remove('tenant-a', 'alice', '1')).toBe(true);
        t.expect(await s.remove('tenant-a', 'alice', '1')).toBe(false);
        t.expect(await s.list('tenant-a', 'alice')).toEqual([entry('2')]);
      }),
    );

    t.it(
      'take returns and empties the list; concurrent takes never share an entry',
      run(async (s) => {
        for (let i = 0; i < 10; i++) await s.add('tenant-a', 'alice', entry(String(i)));
        const [a, b] = await Promise.all([s.take('tenant-a', 'alice'), s.take('tenant-a', 'alice')]);
        const refs = [...a, ...b].map((e) => e.ref).sort((x, y) => Number(x) - Number(y));
        t.expect(refs).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
        t.expect(await s.take('tenant-a', 'alice')).toEqual([]);
        t.expect(await s.list('tenant-a', 'alice')).toEqual([]);
      }),
    );

    t.it(
      'forgets entries after their time to live',
      run(async (s, ctx) => {
        await s.add('tenant-a', 'alice', entry('short'), 200);
        await s.add('tenant-a', 'alice', entry('long'), 60_000);
        await passTime(ctx, 400);
        t.expect(await s.list('tenant-a', 'alice')).toEqual([entry('long')]);
        t.expect((await s.take('tenant-a', 'alice')).map((e) => e.ref)).toEqual(['long']);
      }),
      10_000,
    );

    t.it(
      'purges missed calls past their time to live, of every user, in batches; keeps live ones',
      run(async (s, ctx) => {
        t.expect(typeof s.purgeExpired, 'the store can purge expired entries').toBe('function');
        const users = ['u0', 'u1', 'u2', 'u3'];
        for (const u of users) {
          await s.add('tenant-a', u, entry(`${u}-short`), 200);
          await s.add('tenant-a', u, entry(`${u}-long`), 60_000);
        }
        await s.add('tenant-b', 'u0', entry('b-short'), 200);
        await s.add('tenant-b', 'u0', entry('b-long'), 60_000);
        await passTime(ctx, 400);
        const sweeper = new RetentionSweeper({ missedCalls: s, clock: ctx.clock, batchSize: 2, pauseMs: 0 });
        t.expect((await sweeper.sweep()).missedCalls).toBe(5);
        t.expect((await sweeper.sweep()).missedCalls).toBe(0);
        for (const u of users) t.expect(await s.list('tenant-a', u)).toEqual([entry(`${u}-long`)]);
        t.expect(await s.take('tenant-b', 'u0')).toEqual([entry('b-long')]);
      }),
      10_000,
    );
  });
}
