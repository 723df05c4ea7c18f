/**
 * Calls per second the SIP bridge holds in edge mode, in front of a real Kamailio, through the
 * whole push cycle:
 *   sipp caller --INVITE--> Kamailio --(Path)--> bridge --push--> APNs simulator --(seen here)-->
 *   phone wakes up: REGISTER --> bridge --> Kamailio 401 --> phone, REGISTER+auth --> bridge -->
 *   Kamailio 200 --> bridge --INVITE--> phone --180, 200--> caller --ACK, BYE (via Kamailio and bridge)-->
 * The bridge runs as its own process (apps/sip-bridge/dist/main.js), Kamailio as the testkit
 * starts it (its users bench0..N-1, the caller's port trusted); the APNs simulator and the phones
 * (one new UDP socket per wake-up, as a phone coming back on a new port, behind a NAT: its Contact
 * stays the same) run here; sipp places the calls at a fixed rate. Latency is phone-side, from
 * sending the authenticated re-REGISTER to receiving the forwarded INVITE.
 * Usage (after `npx nx run-many -t build -p @pushrelay/sip-bridge @pushrelay/bench`):
 *   node tools/bench/dist/sip-edge.js [--calls 3000] [--rate 300] [--users 1200] [--cpu-prof DIR]
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Endpoint } from '@pushrelay/sip';
import { startApnsSimulator, startKamailio } from '@pushrelay/simulators';
import { cpuSeconds, freePort, wakePhone, type Phone } from './sip-phone.js';
import { percentile } from './stats.js';

const { values } = parseArgs({
  options: {
    calls: { type: 'string', default: '3000' },
    rate: { type: 'string', default: '300' },
    users: { type: 'string', default: '1200' },
    'cpu-prof': { type: 'string' },
  },
});
const CALLS = Number(values.calls);
const RATE = Number(values.rate);
const USERS = Number(values.users);
const BUNDLE = 'com.example.bench';
const root = resolve(fileURLToPath(import.meta.url), '../../../..');

const tokenOf = (i: number): string => (i + 1).toString(16).padStart(64, '0');
const passwordOf = (user: string): string => `${user}-secret`;
const userOfToken = new Map<string, string>();

/** One phone life: REGISTER through the bridge (answering Kamailio's challenge), then answer every INVITE until the BYE. */
const phone = (
  user: string,
  domain: string,
  bridge: Endpoint,
  onInvite?: (latencyMs: number) => void,
): Promise<Phone> =>
  wakePhone({
    user,
    password: passwordOf(user),
    mpush: `i:${BUNDLE}:${tokenOf(Number(user.slice(5)))}`,
    domain,
    registrar: `sip:${domain}`,
    bridge,
    // Behind a NAT: the same private Contact from every socket; the bridge answers the flow.
    contact: `<sip:${user}@127.0.0.2:5060>`,
    ...(onInvite ? { onInvite } : {}),
  });

async function main(): Promise<void> {
  const users = Array.from({ length: USERS }, (_, i) => `bench${i}`);
  users.forEach((u, i) => userOfToken.set(tokenOf(i), u));
  const callerPort = await freePort();
  const kamailio = await startKamailio({
    users: users.map((username) => ({ username, password: passwordOf(username) })),
    trustedPorts: [callerPort],
  });
  const sim = await startApnsSimulator({ apps: [{ bundleId: BUNDLE }] });
  const work = mkdtempSync(join(tmpdir(), 'bench-sip-edge-'));
  const port = await freePort();
  const config = {
    mode: 'edge',
    domain: kamailio.domain,
    edge: { upstream: kamailio.uri('udp') },
    listen: { host: '127.0.0.1', port, tcp: false },
    calls: { ringTimeoutMs: 30_000, pushWaitMs: 10_000 },
    metrics: null,
    log: { level: 'warn' },
    apns: {
      apps: [{ bundleId: BUNDLE, credential: { type: 'token', ...sim.signingKey } }],
      address: sim.host,
      port: { production: sim.productionPort, sandbox: sim.sandboxPort },
      ca: sim.ca,
    },
  };
  writeFileSync(join(work, 'bridge.json'), JSON.stringify(config));
  const profile = values['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', resolve(values['cpu-prof'])] : [];
  const bridgeProcess = spawn(
    process.execPath,
    [...profile, join(root, 'apps/sip-bridge/dist/main.js'), join(work, 'bridge.json')],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const bridgeExit = new Promise<void>((r) => bridgeProcess.once('exit', () => r()));
  const bridge: Endpoint = { transport: 'udp', address: '127.0.0.1', port };
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        const first = await phone(users[0]!, kamailio.domain, bridge);
        await first.close();
        break;
      } catch (error) {
        if (attempt > 50 || bridgeProcess.exitCode !== null) throw error;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    for (const user of users) await (await phone(user, kamailio.domain, bridge)).close();

    const latencies: number[] = [];
    let answered = 0;
    let seen = 0;
    let firstPushAt = 0;
    // A woken phone whose REGISTER failed (e.g. a 503 under overload): counted, the run goes on.
    let wakeFailures = 0;
    let lastByeAt = 0;
    const wakes: Promise<void>[] = [];
    const poll = setInterval(() => {
      const deliveries = sim.deliveries();
      for (; seen < deliveries.length; seen++) {
        firstPushAt ||= performance.now();
        const user = userOfToken.get(deliveries[seen]!.token)!;
        wakes.push(
          phone(user, kamailio.domain, bridge, (ms) => latencies.push(ms)).then(
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

    const scenario = readFileSync(join(root, 'apps/sip-bridge/test/sipp/caller.xml'), 'utf8').replaceAll(
      '[callee]',
      '[field0]',
    );
    writeFileSync(join(work, 'caller.xml'), scenario);
    writeFileSync(join(work, 'callees.csv'), `SEQUENTIAL\n${users.join('\n')}\n`);
    const cpuBefore = cpuSeconds(bridgeProcess.pid!);
    const started = performance.now();
    const sippExit = await new Promise<number | null>((res) => {
      const child = spawn(
        'sipp',
        [
          `127.0.0.1:${kamailio.port}`,
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
    // sipp's statistics file: `;`-separated, a header line, then cumulative counts each second.
    const stats = existsSync(join(work, 'sipp-stats.csv'))
      ? readFileSync(join(work, 'sipp-stats.csv'), 'utf8').trim().split('\n')
      : [];
    const header = stats[0]?.split(';') ?? [];
    const last = stats.at(-1)?.split(';') ?? [];
    const total = (column: string): number => Number(last[header.indexOf(column)] ?? NaN);
    await Promise.race([Promise.all(wakes), new Promise((r) => setTimeout(r, 40_000))]);
    clearInterval(poll);
    // sipp waits for its -timeout when a call went wrong: the calls' own span ends with the last BYE.
    const elapsed = ((lastByeAt || performance.now()) - started) / 1000;
    const bridgeCpu = cpuSeconds(bridgeProcess.pid!) - cpuBefore;
    const sorted = latencies.sort((a, b) => a - b);
    console.log(
      JSON.stringify({
        mode: 'edge',
        calls: CALLS,
        rate: RATE,
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
      }),
    );
    console.log(`sipp errors, if any: ${join(work, 'sipp-errors.log')}`);
  } finally {
    bridgeProcess.kill('SIGTERM');
    await Promise.race([bridgeExit, new Promise((r) => setTimeout(r, 10_000))]);
    await kamailio.stop();
    await sim.close();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
