/**
 * Calls per second the SIP bridge holds through the whole push cycle, driven by sipp:
 *   sipp caller --INVITE--> bridge --push--> APNs simulator --(seen here)--> phone wakes up,
 *   phone --REGISTER, 401, REGISTER--> bridge --INVITE--> phone --180, 200--> caller --ACK, BYE-->
 * The bridge runs as its own process (apps/sip-bridge/dist/main.js); the APNs simulator and the
 * phones (one new UDP socket per wake-up, as a phone coming back on a new port) run here; sipp
 * places the calls at a fixed rate. Latency is measured phone-side, from sending the authenticated
 * re-REGISTER to receiving the forwarded INVITE.
 * Usage (after `npx nx run-many -t build -p @pushrelay/sip-bridge @pushrelay/bench`):
 *   node tools/bench/dist/sip-bridge.js [--calls 500] [--rate 50] [--users 100]
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

const { values } = parseArgs({
  options: {
    calls: { type: 'string', default: '500' },
    rate: { type: 'string', default: '50' },
    users: { type: 'string', default: '100' },
  },
});
const CALLS = Number(values.calls);
const RATE = Number(values.rate);
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

async function main(): Promise<void> {
  const sim = await startApnsSimulator({ apps: [{ bundleId: BUNDLE }] });
  const work = mkdtempSync(join(tmpdir(), 'bench-sip-bridge-'));
  const port = await freePort();
  const users = Array.from({ length: USERS }, (_, i) => `bench${i}`);
  users.forEach((u, i) => userOfToken.set(tokenOf(i), u));
  // sipp stands for the PBX: its INVITEs are the trunk's, accepted by address without a challenge.
  const callerPort = await freePort();
  const config = {
    domain: '127.0.0.1',
    trunk: { uri: `sip:127.0.0.1:${callerPort}` },
    listen: { host: '127.0.0.1', port, tcp: false },
    users: users.map((username) => ({ username, password: PASSWORD })),
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
  const bridgeProcess = spawn(
    process.execPath,
    [join(root, 'apps/sip-bridge/dist/main.js'), join(work, 'bridge.json')],
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
    // sipp waits for its -timeout when a call went wrong: the calls' own span ends with the last BYE.
    const elapsed = ((lastByeAt || performance.now()) - started) / 1000;
    const bridgeCpu = cpuSeconds(bridgeProcess.pid!) - cpuBefore;
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
