/**
 * N VoIP pushes to one APNs simulator process, several ways, each in a process of its own (so
 * CPU time and peak RSS are that way's alone), the same simulator process for all:
 *   raw         a minimal node:http2 client: one session, a JWT made once (the ceiling)
 *   node-apn    @parse/node-apn 8 alone (its Provider, one Notification per push)
 *   transport   @pushrelay/transport-apns alone
 *   relay       core's Relay + InMemoryQueue + InMemoryBindingStore + InMemoryReportStore +
 *               transport-apns, a push counted from notify() until the relay's delivered event
 *   relay-instant  the same relay with a transport that answers at once: the relay's own cost
 * Usage (after `npx nx build @pushrelay/bench`):
 *   node tools/bench/dist/apns.js [--n 30000] [--window 500] [--rounds 3] [--pool 1]
 *        [--modes raw,node-apn,transport,relay,relay-instant] [--profile DIR] ["--node-args=--trace-gc"]
 * --profile writes a CPU profile of each measured part; --node-args are given to each client
 * process (e.g. --cpu-prof, --heap-prof, --trace-gc, --max-semi-space-size=64).
 * Every way keeps --window pushes outstanding. Rounds run the ways interleaved; the table gives
 * the median of the rounds, the ratio to raw of the same round, and the peak RSS of the worst one.
 */
import apn from '@parse/node-apn';
import { fork } from 'node:child_process';
import { sign } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import { Session } from 'node:inspector';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  InMemoryBindingStore,
  InMemoryQueue,
  InMemoryReportStore,
  Relay,
  type CallNotification,
  type Codec,
  type PushRequest,
  type Transport,
} from '@pushrelay/core';
import { startApnsSimulator } from '@pushrelay/simulators';
import { ApnsTransport } from '@pushrelay/transport-apns';
import { summarize, type RunResult } from './stats.js';

interface SimInfo {
  host: string;
  port: number;
  ca: string;
  key: { keyId: string; teamId: string; key: string };
}

const BUNDLE = 'com.example.app';
const MODES = ['raw', 'node-apn', 'transport', 'relay', 'relay-instant'] as const;
type Mode = (typeof MODES)[number];
const LABELS: Record<Mode, string> = {
  raw: 'raw node:http2',
  'node-apn': '@parse/node-apn alone',
  transport: 'transport-apns alone',
  relay: 'Relay + transport-apns',
  'relay-instant': 'Relay + instant transport (no I/O)',
};

const self = fileURLToPath(import.meta.url);
const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '30000' },
    window: { type: 'string', default: '500' },
    rounds: { type: 'string', default: '3' },
    pool: { type: 'string', default: '1' },
    modes: { type: 'string', default: MODES.join(',') },
    'node-args': { type: 'string', default: '' },
    profile: { type: 'string' },
    role: { type: 'string' },
    mode: { type: 'string' },
    sim: { type: 'string' },
  },
});
const N = Number(values.n);
const WINDOW = Number(values.window);
const POOL = Number(values.pool);
/** Pushes sent before the measured part, so every way runs warmed up. */
const WARMUP = Math.min(2000, Math.ceil(N / 10));

/**
 * A device token as an app has it (read from JSON or a database): one flat string. padStart
 * alone leaves a tree of string pieces several times its size, which the relay's bindings keep.
 */
function token(i: number): string {
  return Buffer.from((i + 1).toString(16).padStart(64, '0'), 'latin1').toString('latin1');
}

function payload(i: number): Record<string, unknown> {
  return { aps: { alert: { title: 'Incoming call', body: 'Alice' } }, callId: `call-${i}`, caller: '+15550100' };
}

function request(i: number): PushRequest {
  return {
    provider: 'apns',
    token: token(i),
    app: BUNDLE,
    environment: 'production',
    pushType: 'voip',
    priority: 'high',
    expiresAt: null,
    payload: payload(i),
  };
}

/** Runs `send(i)` for i in from..from+count-1, keeping WINDOW of them outstanding. */
async function drive(
  from: number,
  count: number,
  send: (i: number) => Promise<boolean>,
): Promise<{ latencies: number[]; failed: number }> {
  const latencies: number[] = [];
  let failed = 0;
  let next = from;
  const end = from + count;
  const lane = async () => {
    while (next < end) {
      const i = next++;
      const t0 = performance.now();
      if (await send(i)) latencies.push(performance.now() - t0);
      else failed++;
    }
  };
  await Promise.all(Array.from({ length: Math.min(WINDOW, count) }, lane));
  return { latencies, failed };
}

/** Posts one inspector command of this process. */
function post<T>(session: Session, method: string): Promise<T> {
  return new Promise((resolve, reject) =>
    session.post(method, (error, result) => (error ? reject(error) : resolve(result as T))),
  );
}

/**
 * Warm-up, then the measured N pushes. With --profile DIR, a CPU profile of the measured part
 * alone (no start-up, no warm-up) is written to DIR/<mode>-<pid>.cpuprofile.
 */
async function measure(label: string, send: (i: number) => Promise<boolean>): Promise<RunResult> {
  await drive(N, WARMUP, send);
  const profileDir = values.profile;
  const session = profileDir ? new Session() : undefined;
  if (session) {
    session.connect();
    await post(session, 'Profiler.enable');
    await post(session, 'Profiler.start');
  }
  const cpu = process.cpuUsage();
  const started = performance.now();
  const { latencies, failed } = await drive(0, N, send);
  const ended = performance.now();
  const result = summarize(label, latencies, failed, started, ended, cpu);
  if (session) {
    const { profile } = await post<{ profile: unknown }>(session, 'Profiler.stop');
    mkdirSync(profileDir!, { recursive: true });
    writeFileSync(join(profileDir!, `${values.mode}-${process.pid}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
  }
  return result;
}

function jwt(key: SimInfo['key']): string {
  const header = Buffer.from(JSON.stringify({ alg: 'ES256', kid: key.keyId })).toString('base64url');
  const claims = Buffer.from(JSON.stringify({ iss: key.teamId, iat: Math.floor(Date.now() / 1000) })).toString(
    'base64url',
  );
  const signature = sign('sha256', Buffer.from(`${header}.${claims}`), { key: key.key, dsaEncoding: 'ieee-p1363' });
  return `${header}.${claims}.${signature.toString('base64url')}`;
}

async function runRaw(sim: SimInfo): Promise<RunResult> {
  const session = http2.connect(`https://${sim.host}:${sim.port}`, { ca: sim.ca });
  await new Promise<void>((resolve, reject) => session.once('remoteSettings', () => resolve()).once('error', reject));
  const authorization = `bearer ${jwt(sim.key)}`;
  const send = (i: number) =>
    new Promise<boolean>((resolve) => {
      const stream = session.request({
        ':method': 'POST',
        ':path': `/3/device/${token(i)}`,
        authorization,
        'apns-topic': `${BUNDLE}.voip`,
        'apns-push-type': 'voip',
        'apns-priority': '10',
        'apns-expiration': '0',
      });
      let status = 0;
      stream.on('response', (h) => (status = Number(h[':status'])));
      stream.on('close', () => resolve(status === 200));
      stream.on('error', () => {});
      stream.resume();
      stream.end(JSON.stringify(payload(i)));
    });
  const result = await measure(LABELS.raw, send);
  session.close();
  return result;
}

async function runNodeApn(sim: SimInfo): Promise<RunResult> {
  const provider = new apn.Provider({
    token: sim.key,
    production: true,
    address: sim.host,
    port: sim.port,
    ca: sim.ca,
    connectionRetryLimit: 0,
    requestTimeout: 10_000,
  } as unknown as apn.ProviderOptions);
  const send = async (i: number) => {
    const note = new apn.Notification();
    note.rawPayload = payload(i);
    note.topic = `${BUNDLE}.voip`;
    note.pushType = 'voip';
    note.priority = 10;
    note.expiry = 0;
    const result = await provider.send(note, token(i));
    return result.sent.length === 1;
  };
  const result = await measure(LABELS['node-apn'], send);
  await provider.shutdown();
  return result;
}

function transportFor(sim: SimInfo): ApnsTransport {
  return new ApnsTransport({
    apps: [{ bundleId: BUNDLE, credential: { type: 'token', ...sim.key } }],
    address: sim.host,
    port: sim.port,
    ca: sim.ca,
    poolSize: POOL,
  });
}

async function runTransport(sim: SimInfo): Promise<RunResult> {
  const transport = transportFor(sim);
  const result = await measure(LABELS.transport, async (i) => (await transport.send(request(i))).kind === 'delivered');
  await transport.close();
  return result;
}

/** Answers every send `delivered` at once: what is left is the relay's own cost. */
const instantTransport: Transport = {
  provider: 'apns',
  send: async () => ({ kind: 'delivered', providerId: 'instant' }),
  close: async () => {},
};

async function runRelay(sim: SimInfo | null): Promise<RunResult> {
  const transport = sim ? transportFor(sim) : instantTransport;
  const codec: Codec = {
    id: 'bench',
    capabilities: { providers: ['apns'], decode: false },
    encode: (n, b) => ({
      provider: 'apns',
      token: b.token,
      app: b.app,
      environment: b.environment,
      pushType: 'voip',
      priority: 'high',
      expiresAt: null,
      payload: payload(Number(n.id)),
    }),
  };
  const bindings = new InMemoryBindingStore();
  const relay = new Relay({
    bindings,
    reports: new InMemoryReportStore(),
    queue: new InMemoryQueue({ concurrency: 1000 }),
    codecs: [codec],
    transports: { apns: transport },
  });
  for (let i = 0; i < N + WARMUP; i++) {
    await bindings.upsert({
      tenant: 't',
      userId: `u${i}`,
      provider: 'apns',
      token: token(i),
      app: BUNDLE,
      environment: 'production',
      pushKind: 'voip',
      format: 'bench',
      origin: 'api',
    });
  }
  const settled = new Map<string, (ok: boolean) => void>();
  const settle = (id: string, ok: boolean) => {
    settled.get(id)?.(ok);
    settled.delete(id);
  };
  relay.events.on('delivered', ({ notification }) => settle(notification.id, true));
  for (const e of ['rejected', 'auth-failed', 'binding-removed'] as const)
    relay.events.on(e, ({ notification }) => settle(notification.id, false));
  relay.events.on('expired', ({ notification }) => settle(notification.id, false));
  relay.start();
  const now = Date.now();
  const createdAt = new Date(now).toISOString();
  const deadline = new Date(now + 300_000).toISOString();
  const result = await measure(LABELS[sim ? 'relay' : 'relay-instant'], async (i) => {
    const n: CallNotification = {
      id: String(i),
      type: 'incoming_call',
      tenant: 't',
      recipient: `u${i}`,
      priority: 'high',
      call: { id: `c${i}`, from: { number: '+15550100' }, video: false, startedAt: createdAt },
      createdAt,
      deadline,
    };
    const outcome = new Promise<boolean>((resolve) => settled.set(n.id, resolve));
    await relay.notify(n);
    return outcome;
  });
  await relay.close();
  await transport.close();
  return result;
}

function child(args: string[], execArgv: string[] = []): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const p = fork(self, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv });
    p.once('message', resolve);
    p.once('error', reject);
    p.once('exit', (code) => code !== 0 && reject(new Error(`${args.join(' ')} exited with ${code}`)));
  });
}

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const fmt = (x: number, digits = 0) => x.toFixed(digits);

async function main(): Promise<void> {
  if (values.role === 'sim') {
    const sim = await startApnsSimulator({ apps: [{ bundleId: BUNDLE }] });
    process.send!({ host: sim.host, port: sim.productionPort, ca: sim.ca, key: sim.signingKey } satisfies SimInfo);
    process.on('message', (m) => {
      if (m === 'stop') void sim.close().then(() => process.exit(0));
    });
    // The simulator logs every delivery; keep its memory flat.
    setInterval(() => sim.clearDeliveries(), 1000);
    return;
  }
  if (values.role === 'run') {
    const sim = JSON.parse(values.sim!) as SimInfo;
    const mode = values.mode as Mode;
    const run = {
      raw: runRaw,
      'node-apn': runNodeApn,
      transport: runTransport,
      relay: runRelay,
      'relay-instant': () => runRelay(null),
    }[mode];
    process.send!(await run(sim));
    process.exit(0);
  }
  const modes = values.modes!.split(',').map((m) => m.trim()) as Mode[];
  for (const m of modes) if (!MODES.includes(m)) throw new Error(`unknown mode ${m}; modes: ${MODES.join(', ')}`);
  const rounds = Number(values.rounds);
  const execArgv = values['node-args']!.split(' ').filter(Boolean);
  const simProcess = fork(self, ['--role', 'sim'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const sim = await new Promise<SimInfo>((resolve) => simProcess.once('message', (m) => resolve(m as SimInfo)));
  const results = new Map<Mode, RunResult[]>(modes.map((m) => [m, []]));
  for (let round = 0; round < rounds; round++) {
    for (const mode of modes) {
      const args = ['--role', 'run', '--mode', mode, '--sim', JSON.stringify(sim), '--n', String(N)];
      args.push('--window', String(WINDOW), '--pool', String(POOL));
      if (values.profile) args.push('--profile', values.profile);
      const r = (await child(args, execArgv)) as RunResult;
      results.get(mode)!.push(r);
      console.error(
        `round ${round + 1} ${r.mode}: ${r.cpuUsPerPush} µs/push, ${r.pushesPerSecond}/s, ${r.peakRssMb} MB, ${r.failed} failed`,
      );
    }
  }
  simProcess.send('stop');

  const raw = results.get('raw');
  const ratio = (mode: Mode) =>
    raw ? median(results.get(mode)!.map((r, i) => r.cpuUsPerPush! / raw[i]!.cpuUsPerPush!)) : NaN;
  console.log(
    `\nAPNs VoIP pushes: N=${N} per run after ${WARMUP} warm-up, ${WINDOW} in flight, ${rounds} rounds, ` +
      `transport pool ${POOL}, Node ${process.version}; medians of the rounds, peak RSS the highest\n`,
  );
  console.log('| client | CPU µs/push | vs raw | pushes/s | p50 ms | p99 ms | peak RSS MB | failed |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const mode of modes) {
    const rs = results.get(mode)!;
    const cpu = rs.map((r) => r.cpuUsPerPush!);
    console.log(
      `| ${LABELS[mode]} | ${fmt(median(cpu))} (${Math.min(...cpu)}–${Math.max(...cpu)}) | ${fmt(ratio(mode), 2)} | ` +
        `${fmt(median(rs.map((r) => r.pushesPerSecond)))} | ${fmt(median(rs.map((r) => r.p50Ms)), 1)} | ` +
        `${fmt(median(rs.map((r) => r.p99Ms)), 1)} | ${Math.max(...rs.map((r) => r.peakRssMb))} | ` +
        `${rs.reduce((s, r) => s + r.failed, 0)} |`,
    );
  }
  if (raw && results.has('transport') && results.has('relay') && results.has('node-apn')) {
    const apnCpu = median(results.get('node-apn')!.map((r) => r.cpuUsPerPush!));
    const peak = (m: Mode) => Math.max(...results.get(m)!.map((r) => r.peakRssMb));
    const goals: Array<[string, boolean]> = [
      [`transport-apns <= 1.15x raw CPU (${fmt(ratio('transport'), 2)})`, ratio('transport') <= 1.15],
      [`Relay + transport-apns <= 1.35x raw CPU (${fmt(ratio('relay'), 2)})`, ratio('relay') <= 1.35],
      [
        'both cheaper than @parse/node-apn alone',
        median(results.get('transport')!.map((r) => r.cpuUsPerPush!)) < apnCpu &&
          median(results.get('relay')!.map((r) => r.cpuUsPerPush!)) < apnCpu,
      ],
      [`relay peak RSS <= 1.5x raw (${fmt(peak('relay') / peak('raw'), 2)})`, peak('relay') <= 1.5 * peak('raw')],
    ];
    console.log('');
    for (const [goal, met] of goals) console.log(`${met ? 'met    ' : 'NOT MET'}  ${goal}`);
  }
}

await main();
