/**
 * The fault run: notifications from several tenants through `pushrelay serve` over HTTP to the
 * FCM and APNs simulators (fault-sim.ts, a process of their own) while the simulators answer a
 * share of the pushes with 5xx, 429 + Retry-After, GOAWAY and stream resets and are restarted once
 * midway; in cluster mode two gateway processes share BullMQ, PostgreSQL and Redis and one is
 * SIGKILLed midway and started again. At the end every accepted notification is accounted for per
 * device, from the simulators' delivery log and the gateway's delivery reports.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import pg from 'pg';
import { startServe, type ServeProcess } from './serve-process.js';
import type {
  FaultPlan,
  ReceivedPush,
  SimCommand,
  SimIdentity,
  SimLog,
  SimMessage,
  SimPorts,
  SimStart,
} from './fault-sim.js';

export interface FaultRunOptions {
  mode: 'embedded' | 'cluster';
  notifications: number;
  tenants: number;
  /** Users per tenant, each with one device (every other one an iPhone on APNs, the rest FCM). */
  usersPerTenant: number;
  /** Requests in flight towards the gateway(s). */
  parallel: number;
  /** The deadline of most notifications, from when they are first sent. */
  deadlineMs: number;
  /** Every `shortEvery`-th notification gets `shortDeadlineMs` instead: some of those expire. */
  shortEvery: number;
  shortDeadlineMs: number;
  faults: FaultPlan;
  /** Restart the simulators once this share of the notifications is accepted (0: never). */
  simulatorRestartAt: number;
  /** How long the simulators' ports stay closed on restart. */
  simulatorDownMs: number;
  /** Cluster: SIGKILL the second gateway once this share is accepted (0: never). */
  killAt: number;
  redisUrl: string;
  postgresUrl: string;
  /** Progress lines go here; default nowhere. */
  log?: (line: string) => void;
}

export const DEFAULT_FAULTS: FaultPlan = {
  serverErrorShare: 0.05,
  tooManyRequestsShare: 0.02,
  retryAfterSeconds: 1,
  goawayEvery: 10_000,
  streamResetShare: 0.01,
};

export const DEFAULT_OPTIONS: FaultRunOptions = {
  mode: 'embedded',
  notifications: 100_000,
  tenants: 4,
  usersPerTenant: 250,
  parallel: 64,
  deadlineMs: 30_000,
  shortEvery: 20,
  shortDeadlineMs: 500,
  faults: DEFAULT_FAULTS,
  simulatorRestartAt: 0.5,
  simulatorDownMs: 1000,
  killAt: 0.3,
  redisUrl: process.env['PUSHRELAY_REDIS_URL'] ?? 'redis://127.0.0.1:6379/0',
  postgresUrl: process.env['PUSHRELAY_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test',
};

/** Per notification and device, what became of it. */
export interface FaultRunCounts {
  /** Notifications the gateway answered 202 (a resent one counted once). */
  accepted: number;
  /** Requests never accepted (an answer other than 202, 429 or 503 that a client would not resend). */
  refused: number;
  /** Requests sent again: 429/503 from admission or a gateway that was gone. */
  resent: number;
  /** (notification, device) pairs: one per accepted notification, each user having one device. */
  pairs: number;
  /** The device received it at least once. */
  delivered: number;
  /** Reported expired and never received. */
  expired: number;
  /** Of those: past the deadline, or retries used up before it. */
  expiredPastDeadline: number;
  expiredRetriesUsedUp: number;
  /** Still in progress when the run stopped waiting (after the last deadline). */
  pending: number;
  /** Accepted, but neither received, nor expired, nor pending. */
  lost: number;
  /**
   * Pushes a device received after the notification's deadline whose send started after it (or
   * with no attempt in the report to tell): what the relay must never do.
   */
  sentAfterDeadline: number;
  /**
   * Pushes received after the deadline whose send started before it: in flight when the deadline
   * passed, answered too late (the report then says `expired`, "no answer before the deadline").
   */
  arrivedAfterDeadline: number;
  /** Pairs received more than once, and the extra copies. */
  duplicatedPairs: number;
  extraCopies: number;
  /** Of the duplicated pairs, those the SIGKILL made unavoidable (cluster: first copy just before the kill). */
  duplicatedBySigkill: number;
  /** Received, but the report says otherwise (the answer was lost): delivered anyway. */
  reportNotDelivered: number;
  /** Reported delivered, never received: counted as lost. */
  reportedNotReceived: number;
  /** Pushes received that match no accepted notification of that device. */
  unexpected: number;
  /** A few examples of what went wrong (sent late, lost, duplicated, refused), to look into. */
  examples: string[];
}

export interface FaultRunResult {
  options: Omit<FaultRunOptions, 'log' | 'redisUrl' | 'postgresUrl'>;
  counts: FaultRunCounts;
  providerRequests: number;
  faultsInjected: Record<string, number>;
  seconds: { accepting: number; total: number };
  acceptedPerSecond: number;
  deliveredPerSecond: number;
  events: string[];
}

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../../..');
const runTs = join(root, 'tools/bench/run-ts.mjs');
const BUNDLE_ID = 'com.example.phone';
const REPORT_FINAL = new Set(['completed', 'suppressed']);

interface Device {
  tenant: number;
  user: string;
  provider: 'fcm' | 'apns';
  token: string;
  bindingId?: string;
}

interface Notification {
  id: string;
  tenant: number;
  device: Device;
  deadline: number;
  body: string;
}

/** How a script of this folder runs: from its sources through run-ts.mjs, or built in dist/. */
function scriptCommand(name: string): string[] {
  const built = join(here, `${name}.js`);
  return import.meta.url.endsWith('.ts') || !existsSync(built) ? [runTs, join(here, `${name}.ts`)] : [built];
}

class SimulatorProcess {
  private readonly logs: ((log: SimLog) => void)[] = [];
  private constructor(
    readonly child: ChildProcess,
    readonly ready: Promise<{ identity: SimIdentity; ports: SimPorts }>,
  ) {
    child.on('message', (m: SimMessage) => {
      if (m.type === 'log') this.logs.shift()?.(m.log);
    });
  }

  static spawn(start: SimStart): SimulatorProcess {
    const child = spawn(process.execPath, [...scriptCommand('fault-sim'), JSON.stringify(start)], {
      cwd: root,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const ready = new Promise<{ identity: SimIdentity; ports: SimPorts }>((ok, fail) => {
      child.on('message', (m: SimMessage) => m.type === 'ready' && ok(m));
      child.once('exit', (code) => fail(new Error(`the simulator process exited with ${code}`)));
    });
    ready.catch(() => {});
    return new SimulatorProcess(child, ready);
  }

  command(command: SimCommand): void {
    this.child.send(command);
  }

  /** Its log so far; with `stop`, its last, once its ports are closed. */
  log(stop = false): Promise<SimLog> {
    const log = new Promise<SimLog>((ok) => this.logs.push(ok));
    this.command({ type: stop ? 'stop' : 'collect' });
    return log;
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

function alive(g: ServeProcess): boolean {
  return g.child.exitCode === null && g.child.signalCode === null;
}

const startGateway = (configFile: string) => startServe(configFile, { quiet: true });

async function stopGateway(g: ServeProcess): Promise<void> {
  if (!alive(g)) return;
  g.child.kill('SIGTERM');
  const timer = setTimeout(() => alive(g) && g.child.kill('SIGKILL'), 15_000);
  await g.exited;
  clearTimeout(timer);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs `work(i)` for i in [0, count) with at most `limit` at once. */
async function inParallel(count: number, limit: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, count) }, async () => {
      while (next < count) await work(next++);
    }),
  );
}

export async function runFaultScenario(options: FaultRunOptions): Promise<FaultRunResult> {
  const log = options.log ?? (() => {});
  const events: string[] = [];
  const event = (what: string) => {
    events.push(`${((Date.now() - started) / 1000).toFixed(1)} s: ${what}`);
    log(events.at(-1)!);
  };
  const started = Date.now();
  const run = `fr${process.pid}${Date.now().toString(36)}`;
  const keys = Array.from({ length: options.tenants }, (_, t) => `fault-run-${run}-tenant-${t}-key`);
  const projects = Array.from({ length: options.tenants }, (_, t) => `fault-run-t${t}`);
  const idPattern = `${run}-t\\d+-n\\d+`;
  const simStart: SimStart = { projects, bundleId: BUNDLE_ID, faults: options.faults, idPattern };

  const dir = mkdtempSync(join(tmpdir(), 'pushrelay-fault-run-'));
  const configFile = join(dir, 'pushrelay.json');
  const prefix = `pushrelay-faultrun-${run}`;
  const schema = `pushrelay_faultrun_${run}`;
  const cluster = options.mode === 'cluster';
  const gateways: ServeProcess[] = [];
  const simLogs: SimLog[] = [];
  let sim = SimulatorProcess.spawn(simStart);
  let successor: SimulatorProcess | undefined;
  try {
    const { identity, ports } = await sim.ready;
    const config = {
      listen: { host: '127.0.0.1', port: 0 },
      logLevel: 'error',
      codecs: ['wazo'],
      // The run measures what the faults do, not the tenants' rate limit.
      rateLimit: { notificationsPerSecond: 0 },
      ...(cluster
        ? {
            queue: {
              engine: 'bullmq',
              redis: options.redisUrl,
              prefix,
              concurrency: 64,
              // A dead process's jobs run elsewhere after about 10 s, well within the deadlines.
              lockDurationMs: 5000,
              stalledIntervalMs: 5000,
            },
            store: { engine: 'postgres', url: options.postgresUrl, schema },
            ephemeral: { engine: 'redis', redis: options.redisUrl, prefix },
          }
        : {}),
      tenants: keys.map((key, t) => ({ id: `t${t}`, apiKeySha256: [createHash('sha256').update(key).digest('hex')] })),
      providers: {
        fcm: {
          credentials: identity.serviceAccounts.map((serviceAccount) => ({ serviceAccount })),
          baseUrl: `https://localhost:${ports.fcm}`,
          ca: identity.ca.cert,
        },
        apns: {
          apps: [{ bundleId: BUNDLE_ID, credential: { type: 'token', ...identity.apnsKey } }],
          address: 'localhost',
          port: { production: ports.apnsProduction, sandbox: ports.apnsSandbox },
          ca: identity.ca.cert,
        },
      },
    };
    writeFileSync(configFile, JSON.stringify(config), { mode: 0o600 });
    gateways.push(await startGateway(configFile)); // applies the migrations alone
    if (cluster) gateways.push(await startGateway(configFile));
    event(`${gateways.length} gateway process(es) and the simulators started`);

    const call = async (url: string, tenant: number, method: string, path: string, body?: string) => {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${keys[tenant]}`,
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { body } : {}),
      });
      const text = await res.text();
      return {
        status: res.status,
        headers: res.headers,
        body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
      };
    };

    // One device per user; every other user has an iPhone.
    const devices: Device[] = [];
    for (let t = 0; t < options.tenants; t++)
      for (let u = 0; u < options.usersPerTenant; u++) {
        const apns = u % 2 === 1;
        const token = apns
          ? createHash('sha256').update(`${run}-${t}-${u}`).digest('hex')
          : `fault-run-${run}-t${t}-u${u}`;
        devices.push({ tenant: t, user: `u${u}`, provider: apns ? 'apns' : 'fcm', token });
      }
    await inParallel(devices.length, 16, async (i) => {
      const d = devices[i]!;
      const res = await call(
        gateways[0]!.url,
        d.tenant,
        'POST',
        '/v1/devices',
        JSON.stringify(
          d.provider === 'apns'
            ? {
                userId: d.user,
                provider: 'apns',
                token: d.token,
                app: BUNDLE_ID,
                environment: 'sandbox',
                pushKind: 'voip',
                format: 'wazo',
                params: { apns_call_topic: `${BUNDLE_ID}.voip` },
              }
            : {
                userId: d.user,
                provider: 'fcm',
                token: d.token,
                app: projects[d.tenant],
                pushKind: 'data',
                format: 'wazo',
              },
        ),
      );
      if (res.status !== 201)
        throw new Error(`registering a device answered ${res.status}: ${JSON.stringify(res.body)}`);
      d.bindingId = String(res.body['id']);
    });
    event(`${devices.length} devices registered`);

    // The midway events, each once, when this many notifications are accepted.
    const restartAt = Math.floor(options.simulatorRestartAt * options.notifications);
    const killAt = cluster ? Math.floor(options.killAt * options.notifications) : 0;
    let killedAt = 0;
    let midway = Promise.resolve();
    const onAccepted = (n: number) => {
      if (restartAt > 0 && n === restartAt) midway = midway.then(() => restartSimulators());
      if (killAt > 0 && n === killAt) midway = midway.then(() => killAndRestartGateway());
    };
    if (restartAt > 0) successor = SimulatorProcess.spawn({ ...simStart, identity, ports });
    const restartSimulators = async () => {
      event('simulators stopping');
      simLogs.push(await sim.log(true));
      await sleep(options.simulatorDownMs);
      sim = successor!;
      successor = undefined;
      sim.command({ type: 'listen' });
      await sim.ready;
      event(`simulators listening again on the same ports, ${options.simulatorDownMs} ms later`);
    };
    const killAndRestartGateway = async () => {
      const victim = gateways[1]!;
      killedAt = Date.now();
      victim.child.kill('SIGKILL');
      event('gateway process 2 SIGKILLed');
      await victim.exited;
      gateways[1] = await startGateway(configFile);
      event('gateway process 2 started again');
    };

    const sentAt = Date.now();
    const notifications: Notification[] = [];
    const accepted = new Set<string>();
    let refused = 0;
    const refusals: string[] = [];
    let resent = 0;
    let turn = 0;
    await inParallel(options.notifications, options.parallel, async (i) => {
      const tenant = i % options.tenants;
      const device =
        devices[tenant * options.usersPerTenant + (Math.floor(i / options.tenants) % options.usersPerTenant)]!;
      const id = `${run}-t${tenant}-n${i}`;
      const deadline =
        Date.now() +
        (options.shortEvery > 0 && i % options.shortEvery === 0 ? options.shortDeadlineMs : options.deadlineMs);
      const body = JSON.stringify({
        type: 'incoming_call',
        recipient: device.user,
        // The call id is what the payloads carry: the notification's own id, to count per device.
        call: { id, from: { number: '+15550100', displayName: 'Fault run' } },
        deadline: new Date(deadline).toISOString(),
      });
      const notification = { id, tenant, device, deadline, body };
      for (;;) {
        const live = gateways.filter(alive);
        const target = live[turn++ % Math.max(1, live.length)];
        let status = 0;
        let retryAfterS = 0;
        let refusal = '';
        if (target) {
          try {
            // The Idempotency-Key makes a resend of an accepted notification a duplicate, not a second call.
            const res = await fetch(`${target.url}/v1/notifications`, {
              method: 'POST',
              headers: {
                authorization: `Bearer ${keys[tenant]}`,
                'content-type': 'application/json',
                'idempotency-key': id,
              },
              body,
            });
            refusal = (await res.text()).slice(0, 300);
            status = res.status;
            retryAfterS = Number(res.headers.get('retry-after') ?? 0);
          } catch {
            status = 0; // the process died under the request
          }
        }
        if (status === 202) {
          notifications.push(notification);
          accepted.add(id);
          onAccepted(accepted.size);
          return;
        }
        if (status !== 0 && status !== 429 && status !== 503) {
          refused++;
          refusals.push(`${id} answered ${status}: ${refusal}`);
          return;
        }
        resent++;
        await sleep(Math.min(1000, Math.max(100, retryAfterS * 1000)));
      }
    });
    const acceptedAt = Date.now();
    event(`${accepted.size} accepted, ${refused} refused, ${resent} requests sent again`);
    await midway;

    // Wait until every report is final, or the last deadline (and the queue's recovery) has passed.
    const lastDeadline = Math.max(...notifications.map((n) => n.deadline));
    const giveUpAt = lastDeadline + (cluster ? 20_000 : 5_000);
    const reports = new Map<
      string,
      { status: string; devices: { bindingId: string; status: string; detail?: string; attempts?: { at: string }[] }[] }
    >();
    let open = notifications;
    for (;;) {
      const stillOpen: Notification[] = [];
      await inParallel(open.length, 32, async (i) => {
        const n = open[i]!;
        const live = gateways.filter(alive);
        const res = await call(
          live[i % live.length]!.url,
          n.tenant,
          'GET',
          `/v1/notifications/${encodeURIComponent(n.id)}`,
        );
        if (res.status === 200) reports.set(n.id, res.body as never);
        if (res.status !== 200 || !REPORT_FINAL.has(String(res.body['status']))) stillOpen.push(n);
      });
      open = stillOpen;
      if (open.length === 0 || Date.now() > giveUpAt) break;
      await sleep(1000);
    }
    event(`reports read, ${open.length} still in progress`);
    simLogs.push(await sim.log());
    const finishedAt = Date.now();

    const counts = account(notifications, reports, simLogs, killedAt);
    counts.refused = refused;
    counts.examples.push(...refusals.slice(0, 5));
    counts.resent = resent;
    const faultsInjected: Record<string, number> = {};
    for (const l of simLogs)
      for (const [k, v] of Object.entries(l.faults)) faultsInjected[k] = (faultsInjected[k] ?? 0) + v;
    const { log: _log, redisUrl: _redis, postgresUrl: _pg, ...shown } = options;
    return {
      options: shown,
      counts,
      providerRequests: simLogs.reduce((sum, l) => sum + l.requests, 0),
      faultsInjected,
      seconds: { accepting: (acceptedAt - sentAt) / 1000, total: (finishedAt - sentAt) / 1000 },
      acceptedPerSecond: Math.round((accepted.size * 1000) / (acceptedAt - sentAt)),
      deliveredPerSecond: Math.round((counts.delivered * 1000) / (finishedAt - sentAt)),
      events,
    };
  } finally {
    await Promise.all(gateways.map(stopGateway));
    sim.kill();
    successor?.kill();
    rmSync(dir, { recursive: true, force: true });
    if (cluster) await dropClusterState(options, prefix, schema);
  }
}

function account(
  notifications: Notification[],
  reports: Map<
    string,
    { status: string; devices: { bindingId: string; status: string; detail?: string; attempts?: { at: string }[] }[] }
  >,
  simLogs: SimLog[],
  killedAt: number,
): FaultRunCounts {
  const received = new Map<string, ReceivedPush[]>();
  for (const l of simLogs)
    for (const push of l.deliveries) {
      const key = `${push.token} ${push.id}`;
      const list = received.get(key);
      if (list) list.push(push);
      else received.set(key, [push]);
    }
  const c: FaultRunCounts = {
    accepted: notifications.length,
    refused: 0,
    resent: 0,
    pairs: 0,
    delivered: 0,
    expired: 0,
    expiredPastDeadline: 0,
    expiredRetriesUsedUp: 0,
    pending: 0,
    lost: 0,
    sentAfterDeadline: 0,
    arrivedAfterDeadline: 0,
    duplicatedPairs: 0,
    extraCopies: 0,
    duplicatedBySigkill: 0,
    reportNotDelivered: 0,
    reportedNotReceived: 0,
    unexpected: 0,
    examples: [],
  };
  const example = (line: string) => c.examples.length < 20 && c.examples.push(line);
  for (const n of notifications) {
    c.pairs++;
    const key = `${n.device.token} ${n.id}`;
    const pushes = (received.get(key) ?? []).sort((a, b) => a.receivedAt - b.receivedAt);
    received.delete(key);
    const report = reports.get(n.id);
    const device = report?.devices.find((d) => d.bindingId === n.device.bindingId);
    for (const late of pushes.filter((p) => p.receivedAt > n.deadline)) {
      // The send this copy came from: the last attempt that started before it was received.
      const started = (device?.attempts ?? [])
        .map((a) => Date.parse(a.at))
        .filter((at) => at <= late.receivedAt)
        .at(-1);
      if (started !== undefined && started < n.deadline) {
        c.arrivedAfterDeadline++;
        continue;
      }
      c.sentAfterDeadline++;
      example(
        `${n.id} received ${late.receivedAt - n.deadline} ms after its deadline; report: ${JSON.stringify(device)}`,
      );
    }
    if (pushes.length > 1) {
      c.duplicatedPairs++;
      c.extraCopies += pushes.length - 1;
      // Sent by the killed process just before it died, its outcome not yet recorded, and sent
      // again by the other once the job's lock ran out: at-least-once, as documented.
      const first = pushes[0]!.receivedAt;
      if (killedAt > 0 && first <= killedAt && first > killedAt - 5000 && pushes[1]!.receivedAt > killedAt)
        c.duplicatedBySigkill++;
      else
        example(
          `${n.id} received ${pushes.length} times: ${pushes.map((p) => p.receivedAt - killedAt).join(', ')} ms after the kill`,
        );
    }
    if (pushes.length > 0) {
      c.delivered++;
      if (device?.status !== 'delivered') {
        c.reportNotDelivered++;
        example(`${n.id} received but reported ${device?.status}: ${device?.detail}`);
      }
    } else if (device?.status === 'expired') {
      c.expired++;
      if (Date.now() >= n.deadline && !/gave up after/.test(device.detail ?? '')) c.expiredPastDeadline++;
      else c.expiredRetriesUsedUp++;
    } else if (report?.status === 'in-progress' && device && !FINAL.has(device.status)) c.pending++;
    else {
      c.lost++;
      example(`${n.id} lost: report ${JSON.stringify(report)}`);
      if (device?.status === 'delivered') c.reportedNotReceived++;
    }
  }
  for (const rest of received.values()) c.unexpected += rest.length;
  return c;
}

const FINAL = new Set(['delivered', 'invalid-token', 'rejected', 'auth-failed', 'expired', 'skipped']);

async function dropClusterState(options: FaultRunOptions, prefix: string, schema: string): Promise<void> {
  const redis = new Redis(options.redisUrl);
  try {
    let cursor = '0';
    do {
      const [next, found] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      if (found.length) await redis.del(...found);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  const client = new pg.Client({ connectionString: options.postgresUrl });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).finally(() => client.end());
}
