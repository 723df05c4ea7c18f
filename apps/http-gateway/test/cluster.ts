import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { probeTcp, requireService } from '@pushrelay/testkit';
import { probeRedisServerBinary, startFcmSimulator, type FcmSimulator } from '@pushrelay/simulators';
import { Redis } from 'ioredis';
import pg from 'pg';
import { sha256Hex } from '../src/index.js';

export const REDIS_URL = 'redis://127.0.0.1:6379/0';
export const POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/test';
export const redisService = await requireService('Redis on 127.0.0.1:6379', () => probeTcp(6379));
export const postgresService = await requireService('PostgreSQL on 127.0.0.1:5432', () => probeTcp(5432));
/** For restarting Redis, which the shared server must not undergo: a redis-server of the test's own. */
export const redisBinary = await requireService('a redis-server binary', probeRedisServerBinary);

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const runTs = join(root, 'tools/bench/run-ts.mjs');
const serveEntry = join(root, 'apps/http-gateway/test/fixtures/serve.ts');

export const FCM_PROJECT = 'cluster-project';

export interface ClusterOptions {
  /** Unique per run: the Redis key prefix (and connection names) and, with `_`, the SQL schema. */
  label: string;
  concurrency: number;
  /**
   * BullMQ lock and stalled-check interval: how soon a dead process's jobs run elsewhere. Not
   * too short: a live process whose lock renewal is late under load would have its job run twice.
   */
  recoveryMs: number;
  ringTimeoutMs: number;
  /**
   * The Redis of the queue and the ephemeral state; default the shared one on 6379. A private
   * server's keys are left to it: they go with its directory.
   */
  redisUrl?: string;
}

/** What the tests read of a stored delivery report. */
export interface StoredReport {
  status: string;
  report: { deadline: string; devices: { bindingId: string; status: string }[] };
}

export interface GatewayProcess {
  url: string;
  child: ChildProcess;
  exited: Promise<number | null>;
}

/**
 * Several `pushrelay serve` processes sharing one Redis (queue, ephemeral state) and one
 * PostgreSQL schema, pushing to an FCM simulator in this process.
 */
export class Cluster {
  readonly prefix: string;
  readonly redisUrl: string;
  readonly schema: string;
  readonly apiKey = `cluster-key-${process.pid}`;
  readonly processes: GatewayProcess[] = [];
  private readonly dir = mkdtempSync(join(tmpdir(), 'pushrelay-cluster-'));
  private readonly configFile = join(this.dir, 'pushrelay.json');

  private constructor(
    readonly fcm: FcmSimulator,
    readonly options: ClusterOptions,
  ) {
    const unique = `${options.label}_${process.pid}_${Date.now().toString(36)}`;
    this.prefix = `pushrelay-test-${unique}`;
    this.schema = `pushrelay_test_${unique}`.toLowerCase();
    this.redisUrl = options.redisUrl ?? REDIS_URL;
    const serviceAccount = fcm.createServiceAccount(FCM_PROJECT);
    const config = {
      listen: { host: '127.0.0.1', port: 0 },
      ringTimeoutMs: options.ringTimeoutMs,
      logLevel: 'error',
      queue: {
        engine: 'bullmq',
        redis: this.redisUrl,
        prefix: this.prefix,
        concurrency: options.concurrency,
        lockDurationMs: options.recoveryMs,
        stalledIntervalMs: options.recoveryMs,
      },
      store: { engine: 'postgres', url: POSTGRES_URL, schema: this.schema },
      ephemeral: { engine: 'redis', redis: this.redisUrl, prefix: this.prefix },
      codecs: ['wazo'],
      tenants: [{ id: 'cluster', apiKeySha256: [sha256Hex(this.apiKey)] }],
      providers: { fcm: { credentials: [{ serviceAccount }], baseUrl: fcm.baseUrl, ca: fcm.ca } },
    };
    writeFileSync(this.configFile, JSON.stringify(config), { mode: 0o600 });
  }

  static async start(options: ClusterOptions, count: number): Promise<Cluster> {
    const cluster = new Cluster(await startFcmSimulator(), options);
    try {
      // The first process applies the migrations; the others start once it listens.
      await cluster.spawn();
      await Promise.all(Array.from({ length: count - 1 }, () => cluster.spawn()));
    } catch (error) {
      await cluster.close();
      throw error;
    }
    return cluster;
  }

  async spawn(): Promise<GatewayProcess> {
    const child = spawn(process.execPath, [runTs, serveEntry, 'serve', '--config', this.configFile], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PUSHRELAY_LOG_LEVEL: 'error' },
    });
    const exited = new Promise<number | null>((ok) => child.once('exit', (code) => ok(code)));
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
    const url = await new Promise<string>((ok, fail) => {
      let seen = '';
      const timer = setTimeout(() => fail(new Error(`gateway did not listen within 90 s: ${stderr}`)), 90_000);
      child.stdout!.on('data', (chunk: Buffer) => {
        seen += chunk.toString();
        const m = /pushrelay listening on (\S+)/.exec(seen);
        if (m) {
          clearTimeout(timer);
          ok(m[1]!);
        }
      });
      void exited.then((code) => {
        clearTimeout(timer);
        fail(new Error(`gateway exited with ${code}: ${stderr}`));
      });
    });
    const proc = { url, child, exited };
    this.processes.push(proc);
    return proc;
  }

  async call(
    url: string,
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; body: Record<string, unknown> | undefined }> {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.apiKey}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
  }

  /** Final and unfinished reports of these ids, read straight from PostgreSQL. */
  async reports(ids: string[]): Promise<Map<string, StoredReport>> {
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    try {
      const { rows } = await client.query<{ notification_id: string } & StoredReport>(
        `SELECT notification_id, status, report FROM "${this.schema}".reports WHERE tenant = 'cluster' AND notification_id = ANY($1)`,
        [ids],
      );
      return new Map(rows.map((r) => [r.notification_id, { status: r.status, report: r.report }]));
    } finally {
      await client.end();
    }
  }

  private async deleteRedisKeys(): Promise<void> {
    const redis = new Redis(REDIS_URL);
    try {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${this.prefix}:*`, 'COUNT', 1000);
        if (keys.length) await redis.del(...keys);
        cursor = next;
      } while (cursor !== '0');
    } finally {
      redis.disconnect();
    }
  }

  async close(): Promise<void> {
    for (const p of this.processes)
      if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGTERM');
    await Promise.race([Promise.all(this.processes.map((p) => p.exited)), new Promise((r) => setTimeout(r, 20_000))]);
    for (const p of this.processes)
      if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await this.fcm.close();
    if (this.options.redisUrl === undefined) await this.deleteRedisKeys();
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${this.schema}" CASCADE`).finally(() => client.end());
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Runs `work` over `items` with at most `limit` at once. */
export async function inParallel<T>(
  items: T[],
  limit: number,
  work: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const i = next++;
        await work(items[i]!, i);
      }
    }),
  );
}
