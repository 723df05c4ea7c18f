// What the two SIP benches share: free ports, a process's CPU time, and the woken phone.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import {
  createRequest,
  createUdpTransport,
  digestClientAuthorization,
  generateCallId,
  getHeaders,
  TransactionLayer,
  type Endpoint,
  type SipRequest,
  type SipResponse,
} from '@pushrelay/sip';

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const server = createServer();
    server.once('error', rej);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => res(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** CPU seconds (user + system) a process has used, from /proc. */
export function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

export interface PhoneOptions {
  user: string;
  password: string;
  /** The X-MPUSH value the phone registers with. */
  mpush: string;
  /** Domain of the user's address of record. */
  domain: string;
  /** Request-URI of the REGISTER. */
  registrar: string;
  /** Where the phone sends its requests: the bridge. */
  bridge: Endpoint;
  /** A fixed Contact, as behind a NAT; default the socket's own address. */
  contact?: string;
  onInvite?: (latencyMs: number) => void;
}

export interface Phone {
  done: Promise<void>;
  close: () => Promise<void>;
  invited: () => boolean;
  calls: () => number;
}

/**
 * One phone life on a new UDP socket: REGISTER (answering the challenge, SHA-256 when offered),
 * then answer every INVITE with 180 and 200 until its BYE. Latency is from sending the
 * authenticated REGISTER to receiving an INVITE.
 */
export async function wakePhone(o: PhoneOptions): Promise<Phone> {
  const transport = await createUdpTransport({ host: '127.0.0.1', port: 0 });
  const port = transport.local.port;
  let registeredAt = 0;
  let invited = false;
  let open = 0;
  let calls = 0;
  let finish: () => void = () => {};
  const done = new Promise<void>((r) => (finish = r));
  const layer = new TransactionLayer({
    transports: [transport],
    onRequest: (request, tx) => {
      if (!tx) return;
      if (request.method === 'INVITE') {
        invited = true;
        open++;
        calls++;
        o.onInvite?.(performance.now() - registeredAt);
        tx.reply(180);
        tx.reply(200, 'OK', { headers: [{ name: 'Contact', value: `<sip:${o.user}@127.0.0.1:${port}>` }] });
      } else {
        tx.reply(200);
        // One wake-up may take several calls of its user that were ringing at once.
        if (request.method === 'BYE' && --open === 0) finish();
      }
    },
  });
  const callId = generateCallId('127.0.0.1');
  const aor = `<sip:${o.user}@${o.domain}>`;
  const register = (cseq: number, authorization?: string): SipRequest =>
    createRequest({
      method: 'REGISTER',
      uri: o.registrar,
      from: aor,
      to: aor,
      callId,
      cseq,
      via: { transport: 'UDP', host: '127.0.0.1', port },
      contact: o.contact ?? `<sip:${o.user}@127.0.0.1:${port}>`,
      headers: [
        { name: 'X-MPUSH', value: o.mpush },
        { name: 'Expires', value: '3600' },
        ...(authorization ? [{ name: 'Authorization', value: authorization }] : []),
      ],
    });
  const send = (request: SipRequest): Promise<SipResponse> =>
    new Promise((res, rej) =>
      layer.sendRequest(request, o.bridge, {
        onResponse: (r) => r.status >= 200 && res(r),
        onTimeout: () => rej(new Error('REGISTER timed out')),
        onTransportError: (e) => rej(e as Error),
      }),
    );
  const challenge = await send(register(1));
  const offered = getHeaders(challenge, 'WWW-Authenticate');
  const header = offered.find((h) => h.includes('SHA-256')) ?? offered[0];
  if (challenge.status !== 401 || !header) throw new Error(`REGISTER of ${o.user} answered ${challenge.status}`);
  registeredAt = performance.now();
  const authorization = digestClientAuthorization({
    challenge: header,
    method: 'REGISTER',
    uri: o.registrar,
    username: o.user,
    password: o.password,
  });
  const ok = await send(register(2, authorization));
  if (ok.status !== 200) throw new Error(`REGISTER of ${o.user} answered ${ok.status}`);
  // A wake-up for a call this phone already took on another wake gets no INVITE: give up soon.
  setTimeout(() => !invited && finish(), 3000).unref();
  return { done, close: () => transport.close(), invited: () => invited, calls: () => calls };
}
