/**
 * Sustained notifications/s through the HTTP gateway to the simulated FCM, with HTTP latency,
 * end-to-end latency (notification created -> provider accepted, from the gateway's histogram)
 * and the gateway's RSS. The gateway runs as its own process (the demo entry `npm start` runs, built
 * with `tsc --build apps/http-gateway/tsconfig.demo.json`), so the load generator does not share its
 * event loop.
 *
 * It also gives the gateway's idle RSS (registered, before the load, after a settle) and its CPU
 * time per notification (user + system over the load and the drain, per accepted notification);
 * `--console` keeps an operator console stream (/v1/console/events) open throughout, and
 * `--entry` runs another build of the demo entry (a checkout of another commit, to compare).
 * `--second-tenant` adds a second tenant with one device that sends one call every 200 ms through
 * the load with `?wait=true`, and gives the p50/p99 of those calls from request to delivered: what
 * one tenant's flood costs another tenant's calls.
 *
 *   npm run gateway -w @pushrelay/bench -- [--seconds 15] [--connections 50] [--devices 1] [--rate 0] [--console] [--second-tenant] [--entry <demo.mjs>]
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '15' },
    connections: { type: 'string', default: '50' },
    devices: { type: 'string', default: '1' },
    port: { type: 'string', default: '18181' },
    /** Requests/s in total; 0 = as fast as the connections go. */
    rate: { type: 'string', default: '0' },
    console: { type: 'boolean', default: false },
    'second-tenant': { type: 'boolean', default: false },
    entry: { type: 'string' },
  },
});
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const port = Number(values.port);
const key = 'bench-key-0123456789abcdef';
const otherKey = 'bench-other-key-0123456789';
const base = `http://127.0.0.1:${port}`;

const child = spawn(
  process.execPath,
  [
    values.entry ? resolve(values.entry) : resolve(root, 'apps/http-gateway/demo/pushrelay-demo.mjs'),
    '--port',
    String(port),
    '--api-key',
    key,
    ...(values['second-tenant'] ? ['--tenant', `other:${otherKey}`] : []),
  ],
  {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, PUSHRELAY_LOG_LEVEL: 'silent' },
  },
);
await new Promise<void>((ok, fail) => {
  let seen = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    seen += chunk.toString();
    if (seen.includes('pushrelay demo is running')) ok();
  });
  child.once('exit', (code) => fail(new Error(`gateway exited with ${code}`)));
});

const rssMb = () => {
  const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
};
/** CPU time the gateway process used so far (user + system), in ms. */
const cpuMs = () => {
  const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  // utime and stime, fields 14 and 15 of proc(5), in clock ticks of 10 ms.
  return (Number(fields[11]) + Number(fields[12])) * 10;
};
const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
/** Registers an Android device (FCM, Wazo format) for a user of the tenant whose headers these are. */
async function register(as: Record<string, string>, userId: string, token: string): Promise<void> {
  const res = await fetch(`${base}/v1/devices`, {
    method: 'POST',
    headers: as,
    body: JSON.stringify({ userId, provider: 'fcm', token, app: 'demo-project', pushKind: 'data', format: 'wazo' }),
  });
  if (!res.ok) throw new Error(`register failed: ${res.status} ${await res.text()}`);
}
for (let i = 0; i < Number(values.devices); i++) await register(headers, 'bench', `bench-token-${i}`);
const body = JSON.stringify({
  type: 'incoming_call',
  recipient: 'bench',
  call: { id: 'bench-call', from: { number: '+15550100', displayName: 'Bench' } },
});
const otherHeaders = { authorization: `Bearer ${otherKey}`, 'content-type': 'application/json' };
if (values['second-tenant']) await register(otherHeaders, 'quiet', 'bench-other-token');
/** The second tenant's calls during the load: request to delivered (`?wait=true`), in ms. */
const otherCalls: number[] = [];
let otherFailed = 0;
let probing = false;
async function probeSecondTenant(): Promise<void> {
  for (let n = 0; probing; n++) {
    const started = performance.now();
    const res = await fetch(`${base}/v1/notifications?wait=true`, {
      method: 'POST',
      headers: otherHeaders,
      body: JSON.stringify({
        type: 'incoming_call',
        recipient: 'quiet',
        call: { id: `other-call-${n}`, from: { number: '+15550199' } },
      }),
    });
    const answer = (await res.json()) as { report?: { devices?: { status: string }[] } };
    if (res.status === 200 && answer.report?.devices?.[0]?.status === 'delivered')
      otherCalls.push(performance.now() - started);
    else otherFailed++;
    await new Promise((r) => setTimeout(r, 200));
  }
}
let consoleStream: AbortController | undefined;
if (values.console) {
  consoleStream = new AbortController();
  const res = await fetch(`${base}/v1/console/events`, { headers, signal: consoleStream.signal });
  if (!res.ok) throw new Error(`console stream refused: ${res.status}`);
  void res.body!.pipeTo(new WritableStream()).catch(() => {});
}
// Idle: registered (and the console stream open with --console), nothing sent yet.
await new Promise((r) => setTimeout(r, 3000));
const rssIdle = rssMb();
const cpuBefore = cpuMs();
const rssBefore = rssIdle;
let rssPeak = rssBefore;
const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, rssMb())), 250);

const loadStarted = Date.now();
probing = values['second-tenant'];
const probe = probing ? probeSecondTenant() : Promise.resolve();
const result = await autocannon({
  url: `${base}/v1/notifications`,
  method: 'POST',
  headers,
  body,
  connections: Number(values.connections),
  duration: Number(values.seconds),
  ...(Number(values.rate) > 0 ? { overallRate: Number(values.rate) } : {}),
});
probing = false;
await probe;
// Let the queue drain before reading the delivery figures.
for (let i = 0; i < 600; i++) {
  const m = await (await fetch(`${base}/metrics`)).text();
  if (/pushrelay_queue_depth 0\b/.test(m)) break;
  await new Promise((r) => setTimeout(r, 100));
}
clearInterval(sampler);
const drainedAfterS = (Date.now() - loadStarted) / 1000;
const cpuUsed = cpuMs() - cpuBefore;
consoleStream?.abort();
const metrics = await (await fetch(`${base}/metrics`)).text();
child.kill('SIGTERM');
if (process.env.BENCH_DEBUG)
  console.error(
    metrics
      .split('\n')
      .filter(
        (l) =>
          l.startsWith('pushrelay_notifications') ||
          l.startsWith('pushrelay_end_to_end_latency_seconds_bucket') ||
          l.startsWith('pushrelay_queue'),
      )
      .join('\n'),
  );

const delivered = Number(
  /pushrelay_notifications_total\{provider="fcm",push_type="[a-z]+",result="delivered"\} (\d+)/.exec(metrics)?.[1] ?? 0,
);
const buckets = [
  ...metrics.matchAll(/pushrelay_end_to_end_latency_seconds_bucket\{le="([^"]+)",provider="fcm"\} (\d+)/g),
].map((m) => ({ le: m[1] === '+Inf' ? Infinity : Number(m[1]), count: Number(m[2]) }));
const total = buckets.at(-1)?.count ?? 0;
const quantile = (q: number) => buckets.find((b) => b.count >= q * total)?.le ?? NaN;

const figures = {
  command: `npm run gateway -w @pushrelay/bench -- --seconds ${values.seconds} --connections ${values.connections} --devices ${values.devices}${Number(values.rate) > 0 ? ` --rate ${values.rate}` : ''}${values.console ? ' --console' : ''}${values['second-tenant'] ? ' --second-tenant' : ''}${values.entry ? ` --entry ${values.entry}` : ''}`,
  node: process.version,
  accepted202: result['2xx'],
  non2xx: result.non2xx,
  errors: result.errors,
  acceptedPerSecond: Math.round(result.requests.average),
  pushesDelivered: delivered,
  pushesDeliveredPerSecond: Math.round(delivered / drainedAfterS),
  secondsUntilQueueEmpty: Math.round(drainedAfterS * 10) / 10,
  httpLatencyMs: { p50: result.latency.p50, p99: result.latency.p99 },
  endToEndSecondsUpperBound: { p50: quantile(0.5), p99: quantile(0.99) },
  gatewayRssMb: { idle: Math.round(rssIdle * 10) / 10, peak: Math.round(rssPeak) },
  gatewayCpuMsPerNotification: result['2xx'] ? Math.round((cpuUsed / result['2xx']) * 1000) / 1000 : null,
  ...(values['second-tenant'] ? { secondTenantCalls: percentiles(otherCalls, otherFailed) } : {}),
};
console.log(JSON.stringify(figures, null, 2));

/** The second tenant's calls: how many were delivered, how many were not, and the p50/p99 in ms. */
function percentiles(
  ms: number[],
  failed: number,
): { delivered: number; failed: number; p50Ms: number; p99Ms: number } {
  const sorted = [...ms].sort((a, b) => a - b);
  const at = (q: number) =>
    Math.round((sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? NaN) * 10) / 10;
  return { delivered: sorted.length, failed, p50Ms: at(0.5), p99Ms: at(0.99) };
}
