/**
 * Notifications/s through 1, 2 and 4 gateway processes sharing one Redis (BullMQ queue,
 * ephemeral state) and one PostgreSQL schema, pushing to the FCM simulator, and the cost of the
 * queue hop: one process with the embedded in-memory queue against the same process on BullMQ.
 *
 *   node tools/bench/run-ts.mjs tools/bench/src/scale.ts [--notifications 3000] [--parallel 64]
 *
 * Each run: fresh Redis prefix and SQL schema, 100 users with one Android device each, then
 * `--notifications` incoming calls posted round-robin over the processes (`--parallel` requests
 * in flight) and timed until the simulator has received every push. The gateways run from the
 * TypeScript sources through the runner the gateway's multi-process tests use.
 */
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startFcmSimulator } from '@pushrelay/simulators';
import { Redis } from 'ioredis';
import pg from 'pg';
import { startServe } from './serve-process.js';

const { values } = parseArgs({
  options: {
    notifications: { type: 'string', default: '3000' },
    parallel: { type: 'string', default: '64' },
  },
});
const total = Number(values.notifications);
const parallel = Number(values.parallel);
const USERS = 100;
const REDIS_URL = process.env['PUSHRELAY_REDIS_URL'] ?? 'redis://127.0.0.1:6379/0';
const POSTGRES_URL = process.env['PUSHRELAY_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const apiKey = 'scale-bench-key-0123456789';

interface Setup {
  name: string;
  processes: number;
  queue: 'memory' | 'bullmq';
  store: 'memory' | 'postgres';
}

const setups: Setup[] = [
  { name: 'embedded (memory queue, memory store)', processes: 1, queue: 'memory', store: 'memory' },
  { name: 'memory queue, PostgreSQL store', processes: 1, queue: 'memory', store: 'postgres' },
  { name: 'BullMQ + PostgreSQL + Redis, 1 process', processes: 1, queue: 'bullmq', store: 'postgres' },
  { name: 'BullMQ + PostgreSQL + Redis, 2 processes', processes: 2, queue: 'bullmq', store: 'postgres' },
  { name: 'BullMQ + PostgreSQL + Redis, 4 processes', processes: 4, queue: 'bullmq', store: 'postgres' },
];

const startGateway = (configFile: string) => startServe(configFile);

async function post(url: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<number> {
  const res = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  await res.arrayBuffer();
  return res.status;
}

async function run(setup: Setup, runIndex: number) {
  const fcm = await startFcmSimulator();
  const unique = `scale_${process.pid}_${runIndex}_${Date.now().toString(36)}`;
  const prefix = `pushrelay-bench-${unique}`;
  const schema = `pushrelay_bench_${unique}`;
  const dir = mkdtempSync(join(tmpdir(), 'pushrelay-scale-'));
  const configFile = join(dir, 'pushrelay.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      listen: { host: '127.0.0.1', port: 0 },
      logLevel: 'error',
      ringTimeoutMs: 600_000,
      codecs: ['wazo'],
      queue:
        setup.queue === 'bullmq'
          ? { engine: 'bullmq', redis: REDIS_URL, prefix, concurrency: 64 }
          : { engine: 'memory' },
      store: setup.store === 'postgres' ? { engine: 'postgres', url: POSTGRES_URL, schema } : { engine: 'memory' },
      ephemeral: setup.queue === 'bullmq' ? { engine: 'redis', redis: REDIS_URL, prefix } : { engine: 'memory' },
      tenants: [{ id: 'bench', apiKeySha256: [createHash('sha256').update(apiKey).digest('hex')] }],
      providers: {
        fcm: {
          credentials: [{ serviceAccount: fcm.createServiceAccount('bench-project') }],
          baseUrl: fcm.baseUrl,
          ca: fcm.ca,
        },
      },
    }),
    { mode: 0o600 },
  );
  const gateways: { url: string; child: ChildProcess }[] = [];
  try {
    gateways.push(await startGateway(configFile)); // applies the migrations alone
    gateways.push(...(await Promise.all(Array.from({ length: setup.processes - 1 }, () => startGateway(configFile)))));
    // An in-memory store lives in one process: register through each one.
    for (const g of setup.store === 'memory' ? gateways : gateways.slice(0, 1)) {
      for (let u = 0; u < USERS; u++) {
        const status = await post(g.url, '/v1/devices', {
          userId: `u${u}`,
          provider: 'fcm',
          token: `scale-tok-${u}`,
          app: 'bench-project',
          pushKind: 'data',
          format: 'wazo',
        });
        if (status !== 201) throw new Error(`register answered ${status}`);
      }
    }
    const started = performance.now();
    let next = 0;
    let refused = 0;
    await Promise.all(
      Array.from({ length: parallel }, async () => {
        while (next < total) {
          const i = next++;
          const g = gateways[i % gateways.length]!;
          const status = await post(g.url, '/v1/notifications', {
            type: 'incoming_call',
            recipient: `u${i % USERS}`,
            call: { id: `c${i}`, from: { number: '+15550100' } },
          });
          if (status !== 202) refused++;
        }
      }),
    );
    const acceptedS = (performance.now() - started) / 1000;
    while (fcm.deliveries().length < total - refused) {
      if (performance.now() - started > 600_000) throw new Error('not all pushes arrived within 10 minutes');
      await new Promise((r) => setTimeout(r, 50));
    }
    const deliveredS = (performance.now() - started) / 1000;
    return {
      setup: setup.name,
      processes: setup.processes,
      acceptedPerSecond: Math.round(total / acceptedS),
      deliveredPerSecond: Math.round(fcm.deliveries().length / deliveredS),
      msPerNotification: Math.round((deliveredS * 1000 * 100) / fcm.deliveries().length) / 100,
      refused,
    };
  } finally {
    for (const g of gateways) g.child.kill('SIGTERM');
    await Promise.all(
      gateways.map((g) => new Promise((r) => (g.child.exitCode !== null ? r(null) : g.child.once('exit', r)))),
    );
    await fcm.close();
    rmSync(dir, { recursive: true, force: true });
    if (setup.queue === 'bullmq') {
      const redis = new Redis(REDIS_URL);
      let cursor = '0';
      do {
        const [c, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
        if (keys.length) await redis.del(...keys);
        cursor = c;
      } while (cursor !== '0');
      redis.disconnect();
    }
    if (setup.store === 'postgres') {
      const client = new pg.Client({ connectionString: POSTGRES_URL });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await client.end();
    }
  }
}

const results = [];
for (const [i, setup] of setups.entries()) {
  const r = await run(setup, i);
  console.error(JSON.stringify(r));
  results.push(r);
}
const memoryPg = results[1]!;
const bullPg = results[2]!;
console.log(
  JSON.stringify(
    {
      command: `node tools/bench/run-ts.mjs tools/bench/src/scale.ts --notifications ${total} --parallel ${parallel}`,
      node: process.version,
      results,
      queueHopMsPerNotification: Math.round((bullPg.msPerNotification - memoryPg.msPerNotification) * 100) / 100,
    },
    null,
    2,
  ),
);
