import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { NotificationType } from '@pushrelay/core';
import {
  startApnsSimulator,
  startFcmSimulator,
  type ApnsSimulatorHandle,
  type FcmSimulator,
  type SimDelivery,
} from '@pushrelay/simulators';
import { startBridge, type RunningBridge } from '../src/index.js';
import { freePort, runSipp, sippAvailability } from './support.js';

const scenarios = fileURLToPath(new URL('./sipp/', import.meta.url));
const sipp = sippAvailability();
const required = process.env['PUSHRELAY_REQUIRE_SERVICES'] === '1';
const skip = !sipp.available && !required;
if (skip) console.warn(`sip-bridge sipp tests skipped: ${sipp.reason}`);

const ALICE_TOKEN = 'a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90';
const CAROL_TOKEN = 'fcm-carol-token:APA91bExample_0123456789';

describe.skipIf(skip)('sip-bridge with sipp phones and callers', () => {
  let bridge: RunningBridge;
  let apnsSim: ApnsSimulatorHandle;
  let fcmSim: FcmSimulator;
  const pushed: NotificationType[] = [];
  const work = mkdtempSync(join(tmpdir(), 'sip-bridge-sipp-'));
  // The sipp caller stands for the PBX: its INVITEs are the trunk's, accepted by address.
  let callerPort: number;

  beforeAll(async () => {
    callerPort = await freePort();
    apnsSim = await startApnsSimulator({ apps: [{ bundleId: 'com.example.mizu' }] });
    fcmSim = await startFcmSimulator();
    bridge = await startBridge({
      config: {
        domain: '127.0.0.1',
        listen: { host: '127.0.0.1', port: 0 },
        users: [
          { username: 'alice', password: 'alice-secret' },
          { username: 'carol', password: 'carol-secret' },
        ],
        // sipp answers MD5 challenges only.
        digest: { algorithms: ['MD5'] },
        trunk: { uri: `sip:127.0.0.1:${callerPort}` },
        calls: { ringTimeoutMs: 10_000, pushWaitMs: 3000 },
        metrics: { host: '127.0.0.1', port: 0 },
        log: { level: 'silent' },
        shutdownTimeoutMs: 2000,
        apns: {
          apps: [{ bundleId: 'com.example.mizu', credential: { type: 'token', ...apnsSim.signingKey } }],
          address: apnsSim.host,
          port: { production: apnsSim.productionPort, sandbox: apnsSim.sandboxPort },
          ca: apnsSim.ca,
        },
        fcm: {
          credentials: [{ serviceAccount: fcmSim.createServiceAccount('example-project') }],
          baseUrl: fcmSim.baseUrl,
          ca: fcmSim.ca,
        },
      },
    });
    bridge.relay.events.on('attempt', ({ notification }) => pushed.push(notification.type));
  });

  afterAll(async () => {
    await bridge?.stop();
    await apnsSim?.close();
    await fcmSim?.close();
  });

  /** The n-th (1-based) delivery the simulator accepted for a token. */
  async function delivery(
    sim: ApnsSimulatorHandle | FcmSimulator,
    token: string,
    n: number,
    timeoutMs: number,
  ): Promise<SimDelivery> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const found = sim.deliveries({ token })[n - 1];
      if (found) return found;
      if (Date.now() > until) throw new Error(`no ${sim.provider} delivery #${n} within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  const target = (): string => `127.0.0.1:${bridge.sip.port}`;

  async function register(scenario: string, user: string, token: string, extra: string[] = []): Promise<void> {
    const port = await freePort();
    const run = runSipp(
      [
        target(),
        '-sf',
        join(scenarios, scenario),
        '-m',
        '1',
        '-p',
        String(port),
        '-key',
        'user',
        user,
        '-au',
        user,
        '-ap',
        `${user}-secret`,
        '-key',
        'token',
        token,
        '-key',
        'instance',
        `00000000-0000-4000-8000-0000000000${user === 'carol' ? 'c1' : 'a1'}`,
        '-timeout',
        '10s',
        '-timeout_error',
        ...extra,
      ],
      15_000,
    );
    const result = await run.exit;
    expect(result.code, result.output).toBe(0);
  }

  /** Starts a phone that re-registers from a new port and answers the forwarded INVITE. */
  async function wakePhone(
    scenario: string,
    user: string,
    token: string,
    extra: string[] = [],
  ): Promise<{ exit: Promise<number | null>; invitesReceived: () => number }> {
    const port = await freePort();
    const trace = join(work, `${user}-${port}.log`);
    const run = runSipp(
      [
        target(),
        '-sf',
        join(scenarios, scenario),
        '-oocsf',
        join(scenarios, 'answer.xml'),
        '-m',
        '1',
        '-p',
        String(port),
        '-d',
        '2500',
        '-key',
        'user',
        user,
        '-au',
        user,
        '-ap',
        `${user}-secret`,
        '-key',
        'token',
        token,
        '-key',
        'instance',
        `00000000-0000-4000-8000-0000000000${user === 'carol' ? 'c1' : 'a1'}`,
        '-trace_msg',
        '-message_file',
        trace,
        '-timeout',
        '15s',
        '-timeout_error',
        ...extra,
      ],
      20_000,
    );
    return {
      exit: run.exit.then((r) => r.code),
      invitesReceived: () =>
        existsSync(trace)
          ? (readFileSync(trace, 'utf8').match(/message received \[\d+\] bytes :\s+INVITE /g) ?? []).length
          : 0,
    };
  }

  function call(scenario: string, callee: string, timeoutMs: number) {
    return Promise.resolve(callerPort).then(
      (port) =>
        runSipp(
          [
            target(),
            '-sf',
            join(scenarios, scenario),
            '-m',
            '1',
            '-p',
            String(port),
            '-key',
            'callee',
            callee,
            '-timeout',
            `${Math.ceil(timeoutMs / 1000)}s`,
            '-timeout_error',
          ],
          timeoutMs + 5000,
        ).exit,
    );
  }

  it('a Mizutech phone (X-MPUSH) is pushed through the APNs simulator, re-registers from a new port and answers exactly once', async () => {
    await register('register-mizutech.xml', 'alice', ALICE_TOKEN);
    const forwardedBefore = bridge.metrics.get('sip_bridge_forwarded_invites_total', { reason: 're-register' });
    const caller = call('caller.xml', 'alice', 15_000);
    const push = await delivery(apnsSim, ALICE_TOKEN, 1, 8000);
    expect(push.headers).toMatchObject({
      'apns-push-type': 'voip',
      'apns-topic': 'com.example.mizu.voip',
      'apns-priority': '10',
    });
    expect((push.payload as { data: unknown }).data).toMatchObject({
      ntype: 0,
      nfrom: '+15551234567',
      nfromusername: 'Bob Caller',
      ntousr: 'alice',
    });
    const phone = await wakePhone('register-mizutech.xml', 'alice', ALICE_TOKEN);
    const callerResult = await caller;
    expect(callerResult.code, callerResult.output).toBe(0);
    expect(await phone.exit).toBe(0);
    expect(phone.invitesReceived()).toBe(1);
    expect(bridge.metrics.get('sip_bridge_forwarded_invites_total', { reason: 're-register' }) - forwardedBefore).toBe(
      1,
    );
  }, 40_000);

  it('an ECSS-10 phone (RFC 8599 pn-* params) is pushed through the FCM simulator and answers exactly once', async () => {
    await register('register-rfc8599.xml', 'carol', CAROL_TOKEN);
    const caller = call('caller.xml', 'carol', 15_000);
    const push = await delivery(fcmSim, CAROL_TOKEN, 1, 8000);
    expect((push.payload as { data: unknown }).data).toMatchObject({ type: 'invite' });
    const phone = await wakePhone('register-rfc8599.xml', 'carol', CAROL_TOKEN);
    const callerResult = await caller;
    expect(callerResult.code, callerResult.output).toBe(0);
    expect(await phone.exit).toBe(0);
    expect(phone.invitesReceived()).toBe(1);
  }, 40_000);

  it('an RFC 8599 phone on TCP gets the forwarded INVITE and the BYE over its new connection', async () => {
    await register('register-rfc8599.xml', 'carol', CAROL_TOKEN, ['-t', 't1']);
    const before = fcmSim.deliveries({ token: CAROL_TOKEN }).length;
    const caller = call('caller.xml', 'carol', 15_000);
    await delivery(fcmSim, CAROL_TOKEN, before + 1, 8000);
    const phone = await wakePhone('register-rfc8599.xml', 'carol', CAROL_TOKEN, ['-t', 't1']);
    const callerResult = await caller;
    expect(callerResult.code, callerResult.output).toBe(0);
    expect(await phone.exit).toBe(0);
    expect(phone.invitesReceived()).toBe(1);
  }, 40_000);

  it('a phone that does not come back: 480 after the wait, then missed_calls on its next REGISTER', async () => {
    await register('register-rfc8599.xml', 'carol', CAROL_TOKEN);
    const pushesBefore = fcmSim.deliveries({ token: CAROL_TOKEN }).length;
    const unavailableBefore = bridge.metrics.get('sip_bridge_unavailable_total');
    const result = await call('caller-unavailable.xml', 'carol', 10_000);
    expect(result.code, result.output).toBe(0);
    expect(bridge.metrics.get('sip_bridge_unavailable_total') - unavailableBefore).toBe(1);
    await delivery(fcmSim, CAROL_TOKEN, pushesBefore + 1, 5000);
    expect(pushed).not.toContain('missed_calls');
    await register('register-rfc8599.xml', 'carol', CAROL_TOKEN);
    const missed = await delivery(fcmSim, CAROL_TOKEN, pushesBefore + 2, 5000);
    const data = (missed.payload as { data: { type: string; calls: string } }).data;
    expect(data.type).toBe('missed_calls');
    expect(JSON.parse(data.calls)).toEqual([
      { id: expect.any(Number), remote_uri: '+15551234567', date: expect.any(Number) },
    ]);
    // The simulator records the push before its answer reaches the relay's attempt event.
    await vi.waitFor(() => expect(pushed.filter((t) => t === 'missed_calls')).toHaveLength(1), { timeout: 5000 });
  }, 40_000);
});
