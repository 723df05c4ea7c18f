/**
 * N VoIP pushes, four ways, each in its own process so peak RSS is its own:
 *   raw        one node:http2 session, as many streams in flight as the server allows (the ceiling)
 *   transport  transport-apns alone
 *   relay      core's Relay + InMemoryQueue + transport-apns (the library as an app uses it)
 *   relay-only the relay with a transport that answers at once: the relay's own cost, no I/O
 * The APNs simulator runs in a process of its own. Usage (after `npx nx build @pushrelay/bench`):
 *   node tools/bench/dist/apns.js [--n 20000] [--pool 1] [--window 1000] [--burst]
 * Every mode keeps --window pushes outstanding (the raw client: streams in flight; the transport:
 * sends awaited; the relay: notifications not yet delivered), so they are compared on the same
 * load. --burst issues the transport's and the relay's N at once instead (a stress shape).
 */
import { fork } from 'node:child_process';
import { sign } from 'node:crypto';
import http2 from 'node:http2';
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
const self = fileURLToPath(import.meta.url);
const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '20000' },
    pool: { type: 'string', default: '1' },
    window: { type: 'string', default: '1000' },
    burst: { type: 'boolean', default: false },
    role: { type: 'string' },
    mode: { type: 'string' },
    sim: { type: 'string' },
  },
});
const N = Number(values.n);
const POOL = Number(values.pool);
const WINDOW = Number(values.window);
const BURST = values.burst!;

function token(i: number): string {
  return i.toString(16).padStart(64, '0');
}

function payload(i: number): Record<string, unknown> {
  return { aps: { alert: { title: 'Incoming call', body: 'Alice' } }, callId: `call-${i}`, caller: '+15550100' };
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

/**
 * Runs `send(i)` for i in 0..N-1 keeping WINDOW of them outstanding, as the raw client keeps its
 * streams busy; with --burst every send is issued at once instead.
 */
async function drive(send: (i: number) => Promise<boolean>): Promise<{ latencies: number[]; failed: number }> {
  const latencies: number[] = [];
  let failed = 0;
  const one = async (i: number) => {
    const t0 = performance.now();
    if (await send(i)) latencies.push(performance.now() - t0);
    else failed++;
  };
  if (BURST) {
    await Promise.all(Array.from({ length: N }, (_, i) => one(i)));
  } else {
    let next = 0;
    const lane = async () => {
      while (next < N) await one(next++);
    };
    await Promise.all(Array.from({ length: Math.min(WINDOW, N) }, lane));
  }
  return { latencies, failed };
}

async function runTransport(sim: SimInfo): Promise<RunResult> {
  const transport = transportFor(sim);
  await transport.send(request(-1));
  const cpu = process.cpuUsage();
  const started = performance.now();
  const { latencies, failed } = await drive(async (i) => (await transport.send(request(i))).kind === 'delivered');
  const ended = performance.now();
  await transport.close();
  return summarize('transport-apns', latencies, failed, started, ended, cpu);
}

function request(i: number): PushRequest {
  return {
    provider: 'apns',
    token: token(i + 1),
    app: BUNDLE,
    environment: 'production',
    pushType: 'voip',
    priority: 'high',
    expiresAt: null,
    payload: payload(i),
  };
}

/** Answers every send `delivered` at once: what is left is the relay's own cost. */
const instantTransport: Transport = {
  provider: 'apns',
  send: async () => ({ kind: 'delivered', providerId: 'instant' }),
  close: async () => {},
};

/** A notification counts from `notify` until the relay's event for its one device. */
async function runRelay(sim: SimInfo | null): Promise<RunResult> {
  const transport = sim ? transportFor(sim) : instantTransport;
  await transport.send(request(-1));
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
  for (let i = 0; i < N; i++) {
    await bindings.upsert({
      tenant: 't',
      userId: `u${i}`,
      provider: 'apns',
      token: token(i + 1),
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
  let retries = 0;
  relay.events.on('retry-scheduled', () => retries++);
  relay.start();
  const now = Date.now();
  const createdAt = new Date(now).toISOString();
  const deadline = new Date(now + 120_000).toISOString();
  const cpu = process.cpuUsage();
  const started = performance.now();
  const { latencies, failed } = await drive(async (i) => {
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
  const ended = performance.now();
  await relay.close();
  await transport.close();
  return {
    ...summarize(
      sim ? 'relay + transport-apns' : 'relay + instant transport (no I/O)',
      latencies,
      failed,
      started,
      ended,
      cpu,
    ),
    retries,
  };
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
  const maxStreams = session.remoteSettings.maxConcurrentStreams ?? 100;
  const authorization = `bearer ${jwt(sim.key)}`;
  const send = (i: number) =>
    new Promise<number>((resolve) => {
      const stream = session.request({
        ':method': 'POST',
        ':path': `/3/device/${token(i + 1)}`,
        authorization,
        'apns-topic': `${BUNDLE}.voip`,
        'apns-push-type': 'voip',
        'apns-priority': '10',
        'apns-expiration': '0',
      });
      let status = 0;
      stream.on('response', (h) => (status = Number(h[':status'])));
      stream.on('close', () => resolve(status));
      stream.resume();
      stream.end(JSON.stringify(payload(i)));
    });
  await send(-1);
  const latencies: number[] = [];
  let failed = 0;
  let next = 0;
  const cpu = process.cpuUsage();
  const started = performance.now();
  const lane = async () => {
    while (next < N) {
      const i = next++;
      const t0 = performance.now();
      if ((await send(i)) === 200) latencies.push(performance.now() - t0);
      else failed++;
    }
  };
  await Promise.all(Array.from({ length: Math.min(maxStreams, N) }, lane));
  const ended = performance.now();
  session.close();
  return summarize(`raw node:http2 (1 session, ${maxStreams} streams)`, latencies, failed, started, ended, cpu);
}

function child(args: string[]): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const p = fork(self, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    p.once('message', resolve);
    p.once('error', reject);
    p.once('exit', (code) => code !== 0 && reject(new Error(`${args.join(' ')} exited with ${code}`)));
  });
}

async function main(): Promise<void> {
  if (values.role === 'sim') {
    const sim = await startApnsSimulator({ apps: [{ bundleId: BUNDLE }] });
    process.send!({ host: sim.host, port: sim.productionPort, ca: sim.ca, key: sim.signingKey } satisfies SimInfo);
    process.on('message', (m) => {
      if (m === 'clear') sim.clearDeliveries();
      if (m === 'stop') void sim.close().then(() => process.exit(0));
    });
    setInterval(() => sim.clearDeliveries(), 2000);
    return;
  }
  if (values.role === 'run') {
    const sim = JSON.parse(values.sim!) as SimInfo;
    const run =
      values.mode === 'raw'
        ? runRaw
        : values.mode === 'relay'
          ? runRelay
          : values.mode === 'relay-only'
            ? () => runRelay(null)
            : runTransport;
    process.send!(await run(sim));
    process.exit(0);
  }
  const simProcess = fork(self, ['--role', 'sim'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const sim = await new Promise<SimInfo>((resolve) => simProcess.once('message', (m) => resolve(m as SimInfo)));
  const results: RunResult[] = [];
  for (const mode of ['raw', 'transport', 'relay', 'relay-only']) {
    const args = [
      '--role',
      'run',
      '--mode',
      mode,
      '--sim',
      JSON.stringify(sim),
      '--n',
      String(N),
      '--pool',
      String(POOL),
      '--window',
      String(WINDOW),
    ];
    results.push((await child(BURST ? [...args, '--burst'] : args)) as RunResult);
  }
  simProcess.send('stop');
  const raw = results[0]!;
  const shape = BURST ? 'transport and relay sends issued all at once' : `${WINDOW} pushes outstanding in every mode`;
  console.log(`APNs VoIP pushes: N=${N}, ${shape}, transport pool=${POOL}, node ${process.version}`);
  console.table(
    results.map((r) => ({ ...r, 'vs raw': `${Math.round((r.pushesPerSecond / raw.pushesPerSecond) * 100)}%` })),
  );
}

await main();
