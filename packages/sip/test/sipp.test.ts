import { execFile, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createAckFor2xx,
  createRequest,
  createTcpTransport,
  createUdpTransport,
  getContacts,
  getHeader,
  TransactionLayer,
  type Endpoint,
  type SipRequest,
  type SipResponse,
  type SipTransport,
} from '../src/index.js';

// Interoperability with SIPp, an independent SIP implementation. Skipped with a printed reason when
// sipp is not installed, unless PUSHRELAY_REQUIRE_SERVICES=1 makes its absence a failure.
const sippFound = spawnSync('sipp', ['-v'], { encoding: 'utf8' }).error === undefined;
const required = process.env['PUSHRELAY_REQUIRE_SERVICES'] === '1';
if (!sippFound && !required)
  console.warn('sipp interop tests skipped: `sipp` not found on PATH (Debian package sip-tester)');

const registerScenario = fileURLToPath(new URL('./fixtures/sipp/register.xml', import.meta.url));
const open: SipTransport[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});

async function freeUdpPort(): Promise<number> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

async function freeTcpPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function sipp(args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(
      'sipp',
      [...args, '-m', '1', '-i', '127.0.0.1', '-nostdin', '-nd', '-timeout', '15s', '-timeout_error'],
      { cwd: tmpdir(), timeout: 30_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ code, output: `${stdout}\n${stderr}`.slice(-2000) });
      },
    );
  });
}

/** A registrar-and-callee: 200 to REGISTER, 200 with SDP to INVITE, 200 to BYE. */
function answerEverything(transport: SipTransport) {
  const seen: SipRequest[] = [];
  new TransactionLayer({
    transports: [transport],
    onRequest: (request, tx) => {
      seen.push(request);
      if (!tx) return;
      if (request.method === 'INVITE') {
        tx.reply(200, 'OK', {
          headers: [
            {
              name: 'Contact',
              value: `<sip:callee@127.0.0.1:${transport.local.port};transport=${transport.protocol}>`,
            },
          ],
          body: 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n',
          contentType: 'application/sdp',
        });
      } else {
        tx.reply(200);
      }
    },
  });
  return seen;
}

describe.skipIf(!sippFound && !required)('SIPp interoperability', { timeout: 60_000 }, () => {
  it.each([
    ['udp', 'u1'],
    ['tcp', 't1'],
  ] as const)('accepts a REGISTER with RFC 8599 parameters from sipp over %s', async (protocol, mode) => {
    const transport =
      protocol === 'udp'
        ? await createUdpTransport({ host: '127.0.0.1', port: 0 })
        : await createTcpTransport({ host: '127.0.0.1', port: 0 });
    open.push(transport);
    const seen = answerEverything(transport);
    const localPort = protocol === 'udp' ? await freeUdpPort() : await freeTcpPort();
    const result = await sipp([
      `127.0.0.1:${transport.local.port}`,
      '-sf',
      registerScenario,
      '-t',
      mode,
      '-p',
      String(localPort),
    ]);
    expect(result.code, result.output).toBe(0);
    const register = seen.find((r) => r.method === 'REGISTER')!;
    const contacts = getContacts(register);
    expect(contacts !== '*' && contacts[0]!.uri.params).toMatchObject({
      'pn-provider': 'apns',
      'pn-param': 'ABCD1234.com.example.app.voip',
      'pn-prid': '0123abcd',
    });
    expect(getHeader(register, 'X-MPUSH')).toBe('i:com.example.app:0123abcd');
  });

  it.each([
    ['udp', 'u1'],
    ['tcp', 't1'],
  ] as const)('answers a whole call from the sipp uac scenario over %s (INVITE, ACK, BYE)', async (protocol, mode) => {
    const transport =
      protocol === 'udp'
        ? await createUdpTransport({ host: '127.0.0.1', port: 0 })
        : await createTcpTransport({ host: '127.0.0.1', port: 0 });
    open.push(transport);
    const seen = answerEverything(transport);
    const localPort = protocol === 'udp' ? await freeUdpPort() : await freeTcpPort();
    const result = await sipp([`127.0.0.1:${transport.local.port}`, '-sn', 'uac', '-t', mode, '-p', String(localPort)]);
    expect(result.code, result.output).toBe(0);
    expect(seen.map((r) => r.method)).toEqual(['INVITE', 'ACK', 'BYE']);
  });

  it('places a call to the sipp uas scenario over udp (INVITE, ACK for 2xx, BYE)', async () => {
    const transport = await createUdpTransport({ host: '127.0.0.1', port: 0 });
    open.push(transport);
    const layer = new TransactionLayer({ transports: [transport], onRequest: () => {} });
    const uasPort = await freeUdpPort();
    const uas = sipp(['-sn', 'uas', '-t', 'u1', '-p', String(uasPort)]);
    const target: Endpoint = { transport: 'udp', address: '127.0.0.1', port: uasPort };
    const invite = createRequest({
      method: 'INVITE',
      uri: `sip:service@127.0.0.1:${uasPort}`,
      from: '<sip:relay@127.0.0.1>',
      to: `<sip:service@127.0.0.1:${uasPort}>`,
      via: { transport: 'UDP', host: '127.0.0.1', port: transport.local.port },
      contact: `<sip:relay@127.0.0.1:${transport.local.port}>`,
    });
    const statuses: number[] = [];
    const answered = new Promise<SipResponse>((resolve, reject) => {
      layer.sendRequest(invite, target, {
        onResponse: (r) => {
          statuses.push(r.status);
          if (r.status >= 200) resolve(r);
        },
        onTimeout: () => reject(new Error('INVITE timed out')),
      });
    });
    const ok = await answered;
    const dialog = {
      from: getHeader(invite, 'From')!,
      to: getHeader(ok, 'To')!,
      callId: getHeader(invite, 'Call-ID')!,
    };
    const via = { transport: 'UDP', host: '127.0.0.1', port: transport.local.port };
    await layer.sendRaw(createAckFor2xx(invite, ok, via), target);
    const byeAnswer = await new Promise<number>((resolve, reject) => {
      layer.sendRequest(createRequest({ method: 'BYE', uri: invite.uri, ...dialog, cseq: 2, via }), target, {
        onResponse: (r) => r.status >= 200 && resolve(r.status),
        onTimeout: () => reject(new Error('BYE timed out')),
      });
    });
    const result = await uas;
    expect(result.code, result.output).toBe(0);
    expect(statuses).toEqual([180, 200]);
    expect(byeAnswer).toBe(200);
  });
});
