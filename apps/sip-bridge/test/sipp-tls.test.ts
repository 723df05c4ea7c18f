import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, type TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SimDelivery } from '@pushrelay/testkit';
import { createCertificateAuthority, startApnsSimulator, type ApnsSimulatorHandle } from '@pushrelay/simulators';
import { startBridge, type BridgeConfigInput, type RunningBridge } from '../src/index.js';
import { eventually } from './backends.js';
import { freePort, runSipp, sippAvailability } from './support.js';

const scenarios = fileURLToPath(new URL('./sipp/', import.meta.url));
const sipp = sippAvailability();
const required = process.env['PUSHRELAY_REQUIRE_SERVICES'] === '1';
const skip = !sipp.available && !required;
if (skip) console.warn(`sip-bridge sipp TLS tests skipped: ${sipp.reason}`);

const TOKEN = 'feedface00feedface00feedface00feedface00feedface00feedface00feed';

/**
 * A TLS client in front of sipp: each TCP connection sipp opens to it becomes one TLS connection
 * to the bridge, verified against the test CA, carrying the bytes both ways. Debian's sipp is
 * built without OpenSSL (`-t l1` refuses to start), so this is how its messages go over TLS.
 */
interface TlsTunnel {
  port: number;
  /** The TLS connections made, with the certificate serial each was shown. */
  connections: Array<{ socket: TLSSocket; serial: string; bytesFromBridge: number }>;
  close(): Promise<void>;
}

async function startTlsTunnel(bridgeTlsPort: number, ca: string): Promise<TlsTunnel> {
  const connections: TlsTunnel['connections'] = [];
  const plain = new Set<Socket>();
  const server: Server = createServer((client) => {
    plain.add(client);
    client.pause();
    const tls = connect({ host: '127.0.0.1', port: bridgeTlsPort, ca: [ca] }, () => {
      const entry = { socket: tls, serial: tls.getPeerCertificate().serialNumber, bytesFromBridge: 0 };
      connections.push(entry);
      tls.on('data', (chunk: Buffer) => (entry.bytesFromBridge += chunk.length));
      client.pipe(tls);
      tls.pipe(client);
      client.resume();
    });
    const end = (): void => {
      client.destroy();
      tls.destroy();
      plain.delete(client);
    };
    tls.on('error', end);
    tls.on('close', end);
    client.on('error', end);
    client.on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of plain) c.destroy();
        for (const c of connections) c.socket.destroy();
        server.close(() => resolve());
      }),
  };
}

describe.skipIf(skip)('sipp phones and caller over TLS', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sip-bridge-sipp-tls-'));
  const ca = createCertificateAuthority('sip-bridge sipp TLS CA');
  const served = ca.issueServerCertificate(['127.0.0.1']);
  let bridge: RunningBridge;
  let apnsSim: ApnsSimulatorHandle;
  let tunnel: TlsTunnel;

  beforeAll(async () => {
    apnsSim = await startApnsSimulator({ apps: [{ bundleId: 'com.example.mizu' }] });
    writeFileSync(join(dir, 'cert.pem'), served.cert);
    writeFileSync(join(dir, 'key.pem'), served.key, { mode: 0o600 });
    bridge = await startBridge({
      config: {
        domain: '127.0.0.1',
        // No plain TCP listener: whatever reaches a phone over a stream goes over TLS.
        listen: { host: '127.0.0.1', port: 0, tcp: false },
        tls: { port: 0, certFile: join(dir, 'cert.pem'), keyFile: join(dir, 'key.pem') },
        users: [{ username: 'alice', password: 'alice-secret' }],
        // sipp answers MD5 challenges only.
        digest: { algorithms: ['MD5'] },
        // The sipp caller stands for the PBX: its INVITEs come over TLS from 127.0.0.1, any port.
        // (`sources` as a config file writes them: strings.)
        trunk: {
          uri: 'sip:127.0.0.1:9;transport=tls',
          sources: ['127.0.0.1'],
        } as unknown as BridgeConfigInput['trunk'],
        calls: { ringTimeoutMs: 10_000, pushWaitMs: 5000 },
        metrics: null,
        log: { level: 'silent' },
        shutdownTimeoutMs: 2000,
        apns: {
          apps: [{ bundleId: 'com.example.mizu', credential: { type: 'token', ...apnsSim.signingKey } }],
          address: apnsSim.host,
          port: { production: apnsSim.productionPort, sandbox: apnsSim.sandboxPort },
          ca: apnsSim.ca,
        },
      },
    });
    tunnel = await startTlsTunnel(bridge.sip.tlsPort!, ca.cert);
  });

  afterAll(async () => {
    await tunnel?.close();
    await bridge?.stop();
    await apnsSim?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const common = (user: string): string[] => [
    `127.0.0.1:${tunnel.port}`,
    '-t',
    't1',
    '-key',
    'user',
    user,
    '-au',
    user,
    '-ap',
    `${user}-secret`,
    '-key',
    'token',
    TOKEN,
  ];

  it('registers, is pushed, re-registers, gets the INVITE, answers; the caller ACKs and hangs up, all over TLS', async () => {
    const register = runSipp(
      [
        ...common('alice'),
        '-sf',
        join(scenarios, 'register-mizutech.xml'),
        '-m',
        '1',
        '-p',
        String(await freePort()),
        '-timeout',
        '10s',
        '-timeout_error',
      ],
      15_000,
    );
    const registered = await register.exit;
    expect(registered.code, registered.output).toBe(0);

    const caller = runSipp(
      [
        `127.0.0.1:${tunnel.port}`,
        '-t',
        't1',
        '-sf',
        join(scenarios, 'caller.xml'),
        '-m',
        '1',
        '-p',
        String(await freePort()),
        '-key',
        'callee',
        'alice',
        '-timeout',
        '15s',
        '-timeout_error',
      ],
      20_000,
    );
    const push: SimDelivery = await eventually('the call push', () => apnsSim.deliveries({ token: TOKEN })[0], 8000);
    expect(push.headers).toMatchObject({ 'apns-push-type': 'voip', 'apns-topic': 'com.example.mizu.voip' });

    const trace = join(dir, 'woken.log');
    const woken = runSipp(
      [
        ...common('alice'),
        '-sf',
        join(scenarios, 'register-mizutech.xml'),
        '-oocsf',
        join(scenarios, 'answer.xml'),
        '-m',
        '1',
        '-p',
        String(await freePort()),
        '-d',
        '2500',
        '-trace_msg',
        '-message_file',
        trace,
        '-timeout',
        '15s',
        '-timeout_error',
      ],
      20_000,
    );
    const called = await caller.exit;
    expect(called.code, called.output).toBe(0);
    const answered = await woken.exit;
    expect(answered.code, answered.output).toBe(0);
    const log = existsSync(trace) ? readFileSync(trace, 'utf8') : '';
    expect(log.match(/message received \[\d+\] bytes :\s+INVITE /g) ?? []).toHaveLength(1);
    expect(log.match(/message received \[\d+\] bytes :\s+ACK /g) ?? []).toHaveLength(1);
    expect(log.match(/message received \[\d+\] bytes :\s+BYE /g) ?? []).toHaveLength(1);
    // Three sipp runs, three TLS connections, each shown the bridge's certificate.
    expect(tunnel.connections.map((c) => c.serial)).toEqual(Array(3).fill(served.serialNumber.toUpperCase()));
    expect(tunnel.connections.every((c) => c.bytesFromBridge > 0)).toBe(true);
    expect(apnsSim.deliveries({ token: TOKEN })).toHaveLength(1);
    expect(bridge.load()).toMatchObject({ calls: 0, inFlight: 0 });
  }, 45_000);
});
