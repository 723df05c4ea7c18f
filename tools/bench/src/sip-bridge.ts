/**
 * Calls per second the SIP bridge holds through the whole push cycle, driven by sipp:
 *   sipp caller --INVITE--> bridge --push--> APNs simulator --(seen here)--> phone wakes up,
 *   phone --REGISTER, 401, REGISTER--> bridge --INVITE--> phone --180, 200--> caller --ACK, BYE-->
 * The bridge runs as its own process (apps/sip-bridge/dist/main.js); the APNs simulator and the
 * phones (one new UDP socket per wake-up, as a phone coming back on a new port) run here; sipp
 * places the calls at a fixed rate. Latency is measured phone-side, from sending the authenticated
 * re-REGISTER to receiving the forwarded INVITE.
 * Overload: `--capacity C --multiple M` offers M times the measured capacity C (calls/s) for
 * `--seconds` (default 20) and reports the calls admitted and completed per second, the 503s
 * the bridge answered, kernel UDP drops (/proc/net/snmp and the bridge socket's /proc/net/udp
 * drops), and the bridge's heap before, right after, and `--settle` seconds (default 60) after.
 * Usage (after `npx nx run-many -t build -p @pushrelay/sip-bridge @pushrelay/bench`):
 *   node tools/bench/dist/sip-bridge.js [--calls 500] [--rate 50] [--users 100] [--cpu-prof DIR]
 *   node tools/bench/dist/sip-bridge.js --capacity 200 --multiple 2 --users 1000 [--seconds 20] [--settle 60]
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Endpoint } from '@pushrelay/sip';
import { startApnsSimulator } from '@pushrelay/simulators';
import { cpuSeconds, freePort, wakePhone, type Phone } from './sip-phone.js';
import { percentile } from './stats.js';

/** Kernel UDP counters of /proc/net/snmp (RcvbufErrors: datagrams dropped for a full socket buffer). */
function udpCounters(): { inErrors: number; rcvbufErrors: number } {
  try {
    const lines = readFileSync('/proc/net/snmp', 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('Udp:'));
    const names = lines[0]!.split(/\s+/);
    const counts = lines[1]!.split(/\s+/).map(Number);
    return { inErrors: counts[names.indexOf('InErrors')]!, rcvbufErrors: counts[names.indexOf('RcvbufErrors')]! };
  } catch {
    return { inErrors: NaN, rcvbufErrors: NaN };
  }
}

/** The drops column of /proc/net/udp for the socket bound to `port`. */
function socketDrops(port: number): number {
  try {
    const hex = port.toString(16).toUpperCase().padStart(4, '0');
    const line = readFileSync('/proc/net/udp', 'utf8')
      .split('\n')
      .find((l) => l.trim().split(/\s+/)[1]?.endsWith(`:${hex}`));
    return line ? Number(line.trim().split(/\s+/).at(-1)) : NaN;
  } catch {
    return NaN;
  }
}

/** Sums the samples of one series in a Prometheus text exposition. */
function metricSum(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `))
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

async function scrape(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  return res.text();
}

/** The bridge's heap in MB: the lowest of a few samples, so a GC not run yet does not count. */
async function heapMb(port: number): Promise<number> {
  let low = Infinity;
  for (let i = 0; i < 10; i++) {
    low = Math.min(low, metricSum(await scrape(port), 'sip_bridge_heap_used_bytes'));
    await new Promise((r) => setTimeout(r, 300));
  }
  return Math.round((low / 1e6) * 10) / 10;
}

const { values } = parseArgs({
  options: {
    calls: { type: 'string', default: '500' },
    rate: { type: 'string', default: '50' },
    users: { type: 'string', default: '100' },
    capacity: { type: 'string' },
    multiple: { type: 'string', default: '1' },
    seconds: { type: 'string', default: '20' },
    settle: { type: 'string', default: '60' },
    'cpu-prof': { type: 'string' },
  },
});
const CAPACITY = values.capacity === undefined ? undefined : Number(values.capacity);
const MULTIPLE = Number(values.multiple);
const RATE = CAPACITY === undefined ? Number(values.rate) : Math.round(CAPACITY * MULTIPLE);
const CALLS = CAPACITY === undefined ? Number(values.calls) : RATE * Number(values.seconds);
const SETTLE_S = Number(values.settle);
const USERS = Number(values.users);
const BUNDLE = 'com.example.bench';
const PASSWORD = 'bench-secret';
const root = resolve(fileURLToPath(import.meta.url), '../../../..');

const tokenOf = (i: number): string => (i + 1).toString(16).padStart(64, '0');
const userOfToken = new Map<string, string>();

/** One phone life: REGISTER (answering the challenge), then answer every INVITE until the BYE. */
const phone = (user: string, bridge: Endpoint, onInvite?: (latencyMs: number) => void): Promise<Phone> =>
  wakePhone({
    user,
    password: PASSWORD,
    mpush: `i:${BUNDLE}:${tokenOf(Number(user.slice(5)))}`,
    domain: '127.0.0.1',
    registrar: `sip:127.0.0.1:${bridge.port}`,
    bridge,
    ...(onInvite ? { onInvite } : {}),
  });

/**
 * The caller scenario with a 503 branch: a refused INVITE is ACKed (same branch, RFC 3261
 * §17.1.1.3) and the call ends there, instead of waiting for a 200 that never comes.
 */
function overloadAware(scenario: string): string {
  const ack = `
  <label id="refused"/>
  <send>
    <![CDATA[
      ACK sip:[field0]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch-9];rport
      From: "Bob Caller" <sip:+15551234567@[local_ip]:[local_port]>;tag=[pid]caller[call_number]
      To: <sip:[field0]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <label id="done"/>
</scenario>`;
  const withRefusal = scenario.replace(
    '<recv response="200" rtd="true" rrs="true"/>',
    '<recv response="503" optional="true" next="refused"/>\n  <recv response="200" rtd="true" rrs="true"/>',
  );
  const lastRecv = withRefusal.lastIndexOf('<recv response="200"/>');
  return withRefusal.slice(0, lastRecv) + '<recv response="200" next="done"/>' + ack;
}

async function main(): Promise<void> {
  const sim = await startApnsSimulator({ apps: [{ bundleId: BUNDLE }] });
  const work = mkdtempSync(join(tmpdir(), 'bench-sip-bridge-'));
  const port = await freePort();
  const users = Array.from({ length: USERS }, (_, i) => `bench${i}`);
  users.forEach((u, i) => userOfToken.set(tokenOf(i), u));
  // sipp stands for the PBX: its INVITEs are the trunk's, accepted by address without a challenge.
  const callerPort = await freePort();
  const metricsPort = await freePort();
  const config = {
    domain: '127.0.0.1',
    trunk: { uri: `sip:127.0.0.1:${callerPort}` },
    listen: { host: '127.0.0.1', port, tcp: false },
    users: users.map((username) => ({ username, password: PASSWORD })),
    calls: { ringTimeoutMs: 30_000, pushWaitMs: 10_000 },
    metrics: { host: '127.0.0.1', port: metricsPort },
    log: { level: 'warn' },
    apns: {
      apps: [{ bundleId: BUNDLE, credential: { type: 'token', ...sim.signingKey } }],
      address: sim.host,
      port: { production: sim.productionPort, sandbox: sim.sandboxPort },
      ca: sim.ca,
    },
  };
  writeFileSync(join(work, 'bridge.json'), JSON.stringify(config));
  const bridgeProcess = spawn(
    process.execPath,
    [
      ...(values['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', resolve(values['cpu-prof'])] : []),
      join(root, 'apps/sip-bridge/dist/main.js'),
      join(work, 'bridge.json'),
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const bridge: Endpoint = { transport: 'udp', address: '127.0.0.1', port };
  try {
    // The bridge is up once a REGISTER gets an answer.
    for (let attempt = 0; ; attempt++) {
      try {
        const first = await phone(users[0]!, bridge);
        await first.close();
        break;
      } catch (error) {
        if (attempt > 50) throw error;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    for (const user of users) await (await phone(user, bridge)).close();

    const latencies: number[] = [];
    let answered = 0;
    let seen = 0;
    let firstPushAt = 0;
    // A woken phone whose REGISTER failed (e.g. a 503 under overload): counted, the run goes on.
    let wakeFailures = 0;
    let lastByeAt = 0;
    const wakes: Promise<void>[] = [];
    // Each push the simulator accepted wakes its phone on a new port.
    const poll = setInterval(() => {
      const deliveries = sim.deliveries();
      for (; seen < deliveries.length; seen++) {
        firstPushAt ||= performance.now();
        const user = userOfToken.get(deliveries[seen]!.token)!;
        wakes.push(
          phone(user, bridge, (ms) => latencies.push(ms)).then(
            async (p) => {
              await Promise.race([p.done, new Promise((r) => setTimeout(r, 35_000))]);
              if (p.invited()) {
                answered += p.calls();
                lastByeAt = performance.now();
              }
              await p.close();
            },
            () => void wakeFailures++,
          ),
        );
      }
    }, 2);

    const scenario = overloadAware(
      readFileSync(join(root, 'apps/sip-bridge/test/sipp/caller.xml'), 'utf8').replaceAll('[callee]', '[field0]'),
    );
    writeFileSync(join(work, 'caller.xml'), scenario);
    writeFileSync(join(work, 'callees.csv'), `SEQUENTIAL\n${users.join('\n')}\n`);
    const heapBefore = await heapMb(metricsPort);
    const udpBefore = udpCounters();
    const dropsBefore = socketDrops(port);
    const cpuBefore = cpuSeconds(bridgeProcess.pid!);
    const started = performance.now();
    const sippExit = await new Promise<number | null>((res) => {
      const child = spawn(
        'sipp',
        [
          `127.0.0.1:${port}`,
          '-sf',
          join(work, 'caller.xml'),
          '-inf',
          join(work, 'callees.csv'),
          '-r',
          String(RATE),
          '-m',
          String(CALLS),
          '-l',
          String(Math.max(1, Math.floor(USERS / 2))),
          '-i',
          '127.0.0.1',
          '-p',
          String(callerPort),
          '-nostdin',
          '-nd',
          '-timeout',
          '120s',
          '-timeout_error',
          '-max_recv_loops',
          '10000',
          '-trace_err',
          '-error_file',
          join(work, 'sipp-errors.log'),
          '-trace_stat',
          '-stf',
          join(work, 'sipp-stats.csv'),
          '-fd',
          '1',
        ],
        { stdio: 'ignore' },
      );
      child.on('exit', res);
      child.on('error', () => res(null));
    });
    await Promise.race([Promise.all(wakes), new Promise((r) => setTimeout(r, 40_000))]);
    clearInterval(poll);
    const udpAfter = udpCounters();
    const dropsAfter = socketDrops(port);
    const metricsAfter = await scrape(metricsPort);
    const refused = metricSum(metricsAfter, 'sip_bridge_overload_rejections_total');
    const heapAfter = await heapMb(metricsPort);
    // sipp waits for its -timeout when a call went wrong: the calls' own span ends with the last BYE.
    const elapsed = ((lastByeAt || performance.now()) - started) / 1000;
    const bridgeCpu = cpuSeconds(bridgeProcess.pid!) - cpuBefore;
    await new Promise((r) => setTimeout(r, SETTLE_S * 1000));
    const heapSettled = await heapMb(metricsPort);
    // sipp's statistics file: `;`-separated, a header line, then cumulative counts each second.
    const stats = existsSync(join(work, 'sipp-stats.csv'))
      ? readFileSync(join(work, 'sipp-stats.csv'), 'utf8').trim().split('\n')
      : [];
    const header = stats[0]?.split(';') ?? [];
    const last = stats.at(-1)?.split(';') ?? [];
    const total = (column: string): number => Number(last[header.indexOf(column)] ?? NaN);
    const sorted = latencies.sort((a, b) => a - b);
    const result = {
      mode: 'registrar',
      calls: CALLS,
      rate: RATE,
      ...(CAPACITY !== undefined ? { capacity: CAPACITY, multiple: MULTIPLE } : {}),
      users: USERS,
      sippExit,
      sippSuccessful: total('SuccessfulCall(C)'),
      sippFailed: total('FailedCall(C)'),
      answered,
      wakeFailures,
      seconds: Math.round(elapsed * 100) / 100,
      callsPerSecond: Math.round((answered / elapsed) * 10) / 10,
      pushToLastByeSeconds: Math.round((lastByeAt - firstPushAt) / 10) / 100,
      reRegisterToInviteP50Ms: Math.round(percentile(sorted, 50) * 100) / 100,
      reRegisterToInviteP99Ms: Math.round(percentile(sorted, 99) * 100) / 100,
      bridgeCpuMsPerCall: Math.round(((bridgeCpu * 1000) / Math.max(1, answered)) * 100) / 100,
      // Calls admitted and completed through the whole cycle, over the time sipp offered them.
      admittedCompletedPerSecond: Math.round((answered / Math.max(elapsed, CALLS / RATE)) * 10) / 10,
      refused503: refused,
      udpRcvbufErrors: udpAfter.rcvbufErrors - udpBefore.rcvbufErrors,
      udpInErrors: udpAfter.inErrors - udpBefore.inErrors,
      bridgeSocketDrops: dropsAfter - dropsBefore,
      heapMbBefore: heapBefore,
      heapMbAfter: heapAfter,
      [`heapMb${SETTLE_S}sAfter`]: heapSettled,
    };
    console.log(JSON.stringify(result));
    console.log(`sipp errors, if any: ${join(work, 'sipp-errors.log')}`);
  } finally {
    bridgeProcess.kill('SIGTERM');
    await sim.close();
  }
}

main().then(
  // The simulator's HTTP/2 sessions may linger after the bridge is gone; the figures are printed.
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
