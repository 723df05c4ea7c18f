/**
 * The retention purge: how much room a delivery report takes in each store, how fast the
 * RetentionSweeper deletes a backlog of expired reports, and what it costs the traffic going on
 * meanwhile (event-loop delay, latency of the report writes every send makes).
 *
 *   node --expose-gc tools/bench/run-ts.mjs tools/bench/src/retention.ts [--reports 100000] [--devices 2] [--batch 500]
 *
 * Per store (memory, SQLite file, PostgreSQL on 127.0.0.1 when reachable): writes `--reports`
 * reports of `--devices` devices with one delivered attempt each, 8 days old, measures the bytes
 * they take, then sweeps them with the default pacing (`--batch` rows per statement, 10 ms
 * between batches) while a writer records device attempts on fresh reports as fast as it can.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { InMemoryReportStore, RetentionSweeper, type DeliveryReport, type ReportStore } from '@pushrelay/core';
import { PostgresDatabase, PostgresReportStore } from '@pushrelay/store-postgres';
import { SqliteDatabase, SqliteReportStore } from '@pushrelay/store-sqlite';
import pg from 'pg';

const { values } = parseArgs({
  options: {
    reports: { type: 'string', default: '100000' },
    devices: { type: 'string', default: '2' },
    batch: { type: 'string', default: '500' },
  },
});
const REPORTS = Number(values.reports);
const DEVICES = Number(values.devices);
const BATCH = Number(values.batch);
const DAY = 24 * 3600 * 1000;
const POSTGRES_URL = process.env['PUSHRELAY_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

function report(id: string, acceptedAtMs: number, status: DeliveryReport['status'] = 'completed'): DeliveryReport {
  const at = new Date(acceptedAtMs).toISOString();
  return {
    notificationId: id,
    tenant: 'bench',
    recipient: `user-${id}`,
    type: 'incoming_call',
    acceptedAt: at,
    deadline: new Date(acceptedAtMs + 30_000).toISOString(),
    status,
    ...(status === 'completed' ? { completedAt: at } : {}),
    devices: Array.from({ length: DEVICES }, (_, d) => ({
      bindingId: `00000000-0000-4000-8000-${String(d).padStart(12, '0')}`,
      provider: 'fcm' as const,
      app: 'demo-project',
      format: 'wazo',
      status: status === 'completed' ? ('delivered' as const) : ('pending' as const),
      attempts:
        status === 'completed'
          ? [
              {
                attempt: 1,
                at,
                outcome: { kind: 'delivered' as const, providerId: `projects/demo-project/messages/${id}-${d}` },
                latencyMs: 12,
              },
            ]
          : [],
      updatedAt: at,
    })),
  };
}

interface Target {
  name: string;
  store: ReportStore;
  bytes(): Promise<number>;
  close(): Promise<void>;
}

async function fill(store: ReportStore, now: number): Promise<void> {
  const chunk = 500;
  for (let i = 0; i < REPORTS; i += chunk) {
    const writes: Promise<boolean>[] = [];
    for (let j = i; j < Math.min(REPORTS, i + chunk); j++) writes.push(store.create(report(`old-${j}`, now - 8 * DAY)));
    await Promise.all(writes);
  }
}

async function measure(target: Target): Promise<Record<string, unknown>> {
  const now = Date.now();
  const heapBefore = process.memoryUsage().heapUsed;
  const bytesBefore = await target.bytes();
  const fillStarted = performance.now();
  await fill(target.store, now);
  const fillSeconds = (performance.now() - fillStarted) / 1000;
  const bytes =
    target.name === 'memory' ? process.memoryUsage().heapUsed - heapBefore : (await target.bytes()) - bytesBefore;

  // Traffic during the sweep: each loop creates a fresh report and records its device outcomes.
  let writing = true;
  const latencies: number[] = [];
  const writer = (async () => {
    for (let i = 0; writing; i++) {
      const started = performance.now();
      const r = report(`fresh-${i}`, Date.now(), 'in-progress');
      await target.store.create(r);
      for (const d of r.devices) {
        await target.store.recordAttempt('bench', r.notificationId, d.bindingId, {
          status: 'delivered',
          at: new Date().toISOString(),
        });
      }
      latencies.push(performance.now() - started);
      // Traffic arrives through I/O: an in-memory store would otherwise never let a timer run.
      await new Promise((resolve) => setImmediate(resolve));
    }
  })();
  // Each purge call timed: for SQLite (synchronous) that is how long it holds the event loop.
  const batches: number[] = [];
  const timed: ReportStore = {
    create: (r) => target.store.create(r),
    get: (t, id) => target.store.get(t, id),
    recordAttempt: (t, id, b, u) => target.store.recordAttempt(t, id, b, u),
    purgeAcceptedBefore: async (before, limit) => {
      const started = performance.now();
      const n = await target.store.purgeAcceptedBefore!(before, limit);
      batches.push(performance.now() - started);
      return n;
    },
  };
  (globalThis as { gc?: () => void }).gc?.();
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const sweeper = new RetentionSweeper({ reports: timed, batchSize: BATCH });
  const started = performance.now();
  const { reports } = await sweeper.sweep();
  const seconds = (performance.now() - started) / 1000;
  loop.disable();
  writing = false;
  await writer;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => round(latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? 0);
  if (reports !== REPORTS) throw new Error(`${target.name}: purged ${reports} of ${REPORTS}`);
  return {
    store: target.name,
    reports: REPORTS,
    devicesPerReport: DEVICES,
    fillPerSecond: Math.round(REPORTS / fillSeconds),
    bytesPerReport: Math.round(bytes / REPORTS),
    purgeSeconds: round(seconds),
    purgedPerSecond: Math.round(reports / seconds),
    batchMs: {
      p50: round(batches.sort((a, b) => a - b)[Math.floor(batches.length / 2)] ?? 0),
      p99: round(batches[Math.floor(batches.length * 0.99)] ?? 0),
      max: round(batches.at(-1) ?? 0),
    },
    eventLoopDelayMs: { p99: round(loop.percentile(99) / 1e6), max: round(loop.max / 1e6) },
    writesDuringPurge: latencies.length,
    writeLatencyMs: { p50: pct(0.5), p99: pct(0.99), max: round(latencies.at(-1) ?? 0) },
  };
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

const targets: Array<() => Promise<Target>> = [
  async () => ({ name: 'memory', store: new InMemoryReportStore(), bytes: async () => 0, close: async () => {} }),
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pushrelay-bench-retention-'));
    const db = new SqliteDatabase({ dataDir: dir });
    const size = () =>
      ['pushrelay.db', 'pushrelay.db-wal'].reduce((n, f) => {
        try {
          return n + statSync(join(dir, f)).size;
        } catch {
          return n;
        }
      }, 0);
    return {
      name: 'sqlite',
      store: new SqliteReportStore(db),
      bytes: async () => {
        db.db.pragma('wal_checkpoint(TRUNCATE)');
        return size();
      },
      close: async () => {
        db.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
  async () => {
    const schema = `bench_retention_${process.pid}`;
    const db = await PostgresDatabase.open({ connection: POSTGRES_URL, schema });
    return {
      name: 'postgres',
      store: new PostgresReportStore(db),
      bytes: async () =>
        Number(
          (await db.pool.query<{ n: string }>(`SELECT pg_total_relation_size($1) AS n`, [`"${schema}".reports`]))
            .rows[0]!.n,
        ),
      close: async () => {
        await db.pool.query(`DROP SCHEMA "${schema}" CASCADE`);
        await db.close();
      },
    };
  },
];

async function postgresReachable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 1000 });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

const results: Record<string, unknown>[] = [];
const withPostgres = await postgresReachable();
for (const make of targets) {
  const target = await make().catch((error: unknown) => {
    if (!withPostgres) return undefined;
    throw error;
  });
  if (!target) {
    console.error(`skipped a store: PostgreSQL at ${POSTGRES_URL} is not reachable`);
    continue;
  }
  try {
    results.push(await measure(target));
  } finally {
    await target.close();
  }
}
console.log(
  JSON.stringify(
    {
      command: `node --expose-gc tools/bench/run-ts.mjs tools/bench/src/retention.ts --reports ${REPORTS} --devices ${DEVICES} --batch ${BATCH}`,
      node: process.version,
      results,
    },
    null,
    2,
  ),
);
