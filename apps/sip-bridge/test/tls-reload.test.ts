import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createAckFor2xx,
  createRequest,
  getCSeq,
  getHeader,
  getHeaders,
  type SipRequest,
  type SipResponse,
} from '@pushrelay/sip';
import { createCertificateAuthority, startApnsSimulator, type ApnsSimulatorHandle } from '@pushrelay/simulators';
import { eventually } from './backends.js';
import { CALLER, TestPhone } from './phone.js';
import { freePort } from './support.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const runTs = join(root, 'tools/bench/run-ts.mjs');
const mainEntry = join(root, 'apps/sip-bridge/src/main.ts');
const TOKEN = 'c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00';
const MPUSH = [{ name: 'X-MPUSH', value: `i:com.example.mizu:${TOKEN}` }];

/** The serial number of the certificate a new TLS connection to the port is shown (upper-case hex). */
function servedSerial(port: number, ca: string[]): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca, servername: undefined, rejectUnauthorized: false }, () => {
      const serial = socket.getPeerCertificate().serialNumber;
      socket.destroy();
      resolvePromise(serial);
    });
    socket.once('error', reject);
  });
}

function ack(invite: SipRequest, answer: SipResponse, caller: TestPhone): Promise<void> {
  return caller.layer.sendRaw(
    createAckFor2xx(invite, answer, { transport: 'UDP', host: '127.0.0.1', port: caller.port }),
    caller.bridge,
  );
}

/** The caller's BYE along the route set of the 2xx. */
function bye(invite: SipRequest, answer: SipResponse, caller: TestPhone): SipRequest {
  const contact = /<([^>]+)>/.exec(getHeader(answer, 'Contact') ?? '')![1]!;
  return createRequest({
    method: 'BYE',
    uri: contact,
    from: getHeader(invite, 'From')!,
    to: getHeader(answer, 'To')!,
    callId: getHeader(invite, 'Call-ID')!,
    cseq: getCSeq(invite).seq + 1,
    via: { transport: 'UDP', host: '127.0.0.1', port: caller.port },
    headers: getHeaders(answer, 'Record-Route')
      .reverse()
      .map((value) => ({ name: 'Route', value })),
  });
}

describe('the bridge process swaps its TLS certificate on SIGHUP', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sip-bridge-tls-reload-'));
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  const oldCa = createCertificateAuthority('sip-bridge old CA');
  const newCa = createCertificateAuthority('sip-bridge new CA');
  const oldCert = oldCa.issueServerCertificate(['127.0.0.1']);
  const newCert = newCa.issueServerCertificate(['127.0.0.1']);
  const phoneCert = oldCa.issueServerCertificate(['127.0.0.1']);
  let apnsSim: ApnsSimulatorHandle;
  let child: ChildProcess;
  let exited: Promise<number | null>;
  let output = '';
  let sipPort: number;
  let tlsPort: number;
  const phones: TestPhone[] = [];

  beforeAll(async () => {
    apnsSim = await startApnsSimulator({ apps: [{ bundleId: 'com.example.mizu' }] });
    sipPort = await freePort();
    tlsPort = await freePort();
    writeFileSync(certFile, oldCert.cert);
    writeFileSync(keyFile, oldCert.key, { mode: 0o600 });
    const config = {
      domain: '127.0.0.1',
      listen: { host: '127.0.0.1', port: sipPort, tcp: false },
      tls: { port: tlsPort, certFile, keyFile },
      users: [{ username: 'alice', password: 'wonderland' }, CALLER],
      calls: { ringTimeoutMs: 20_000, pushWaitMs: 15_000 },
      metrics: null,
      log: { level: 'info' },
      shutdownTimeoutMs: 2000,
      apns: {
        apps: [{ bundleId: 'com.example.mizu', credential: { type: 'token', ...apnsSim.signingKey } }],
        address: apnsSim.host,
        port: { production: apnsSim.productionPort, sandbox: apnsSim.sandboxPort },
        ca: apnsSim.ca,
      },
    };
    const configFile = join(dir, 'bridge.json');
    writeFileSync(configFile, JSON.stringify(config), { mode: 0o600 });
    child = spawn(process.execPath, [runTs, mainEntry, configFile], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    exited = new Promise((ok) => child.once('exit', (code) => ok(code)));
    child.stdout!.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20_000)));
    child.stderr!.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20_000)));
    await eventually(
      `the bridge process listening (${output})`,
      () => (output.includes('sip-bridge listening') ? true : undefined),
      60_000,
    );
  }, 90_000);

  afterAll(async () => {
    for (const p of phones) await p.close();
    if (child && child.exitCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
    await apnsSim?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function phone(tls?: { ca: string }): Promise<TestPhone> {
    const p = tls
      ? await TestPhone.start(tlsPort, { key: phoneCert.key, cert: phoneCert.cert, ca: tls.ca })
      : await TestPhone.start(sipPort);
    phones.push(p);
    return p;
  }

  it('keeps a call answered over the old certificate and a call held during the swap; new connections get the new certificate', async () => {
    expect(await servedSerial(tlsPort, [oldCa.cert])).toBe(oldCert.serialNumber.toUpperCase());
    const asleep = await phone({ ca: oldCa.cert });
    expect((await asleep.register('alice', 'wonderland', { headers: MPUSH })).status).toBe(200);
    const caller = (await phone()).asCaller();

    // Call 1: pushed, the phone wakes on a new TLS connection (old certificate) and answers.
    const invite1 = caller.inviteRequest('alice');
    const answering1 = caller.send(invite1);
    await eventually('push #1', () => apnsSim.deliveries({ token: TOKEN })[0], 10_000);
    const first = await phone({ ca: oldCa.cert });
    expect((await first.register('alice', 'wonderland', { headers: MPUSH })).status).toBe(200);
    const answer1 = await answering1;
    expect(answer1.status).toBe(200);
    await ack(invite1, answer1, caller);
    expect(first.invites()).toHaveLength(1);

    // Call 2 is held for the phone when the certificate changes.
    const invite2 = caller.inviteRequest('alice');
    const answering2 = caller.send(invite2);
    await eventually('push #2', () => apnsSim.deliveries({ token: TOKEN })[1], 10_000);
    writeFileSync(certFile, newCert.cert);
    writeFileSync(keyFile, newCert.key, { mode: 0o600 });
    child.kill('SIGHUP');
    await eventually('the TLS reload logged', () => (output.includes('TLS certificate reloaded') ? true : undefined));
    expect(await servedSerial(tlsPort, [newCa.cert])).toBe(newCert.serialNumber.toUpperCase());

    // The woken phone trusts only the new CA: its connection succeeds only with the new certificate.
    const second = await phone({ ca: newCa.cert });
    expect((await second.register('alice', 'wonderland', { headers: MPUSH })).status).toBe(200);
    const answer2 = await answering2;
    expect(answer2.status).toBe(200);
    await ack(invite2, answer2, caller);
    expect(second.invites()).toHaveLength(1);

    // Both dialogs end normally: call 1 over the connection made before the swap.
    expect((await caller.send(bye(invite1, answer1, caller))).status).toBe(200);
    expect((await caller.send(bye(invite2, answer2, caller))).status).toBe(200);
    expect(first.received.filter((r) => r.method === 'BYE')).toHaveLength(1);
    expect(second.received.filter((r) => r.method === 'BYE')).toHaveLength(1);
    expect(apnsSim.deliveries({ token: TOKEN })).toHaveLength(2);
    expect(child.exitCode).toBeNull();
  }, 60_000);
});
