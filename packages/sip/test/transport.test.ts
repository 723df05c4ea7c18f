import dgram from 'node:dgram';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createRequest,
  createTcpTransport,
  createTlsTransport,
  createUdpTransport,
  getHeader,
  getTopVia,
  parseMessage,
  serialize,
  SipTransportError,
  TransactionLayer,
  type Endpoint,
  type ServerTransaction,
  type SipRequest,
  type SipResponse,
  type SipTransport,
} from '../src/index.js';
import { fixture } from './support/fixtures.js';

const open: SipTransport[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});

async function track<T extends SipTransport>(transport: Promise<T>): Promise<T> {
  const t = await transport;
  open.push(t);
  return t;
}

function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

function options(transport: string, port: number): SipRequest {
  return createRequest({
    method: 'OPTIONS',
    uri: 'sip:registrar@127.0.0.1',
    from: '<sip:alice@example.com>',
    to: '<sip:registrar@example.com>',
    via: { transport, host: '127.0.0.1', port },
  });
}

/** A registrar-like endpoint that answers OPTIONS/REGISTER 200 and remembers where each came from. */
function serve(transport: SipTransport) {
  const seen: { request: SipRequest; from: Endpoint }[] = [];
  const layer = new TransactionLayer({
    transports: [transport],
    onRequest: (request, tx, from) => {
      seen.push({ request, from });
      if (request.method !== 'INVITE') tx?.reply(200);
    },
  });
  return { layer, seen };
}

async function roundTrip(
  client: SipTransport,
  server: SipTransport,
): Promise<{ response: SipResponse; seen: ReturnType<typeof serve>['seen'] }> {
  const { seen } = serve(server);
  const clientLayer = new TransactionLayer({ transports: [client], onRequest: () => {} });
  const done = deferred<SipResponse>();
  clientLayer.sendRequest(
    options(client.protocol, client.local.port),
    {
      transport: client.protocol,
      address: '127.0.0.1',
      port: server.local.port,
    },
    { onResponse: (r) => done.resolve(r), onTimeout: () => done.resolve(undefined as never) },
  );
  return { response: await done.promise, seen };
}

describe('UDP transport', { timeout: 20_000 }, () => {
  it('asks the kernel for a large receive buffer, or keeps the system default when told to', async () => {
    const systemDefault = await new Promise<number>((resolve) => {
      const probe = dgram.createSocket('udp4');
      probe.bind(0, '127.0.0.1', () => {
        const size = probe.getRecvBufferSize();
        probe.close(() => resolve(size));
      });
    });
    const large = await track(createUdpTransport({ host: '127.0.0.1', port: 0, receiveBufferBytes: 1024 * 1024 }));
    const kept = await track(createUdpTransport({ host: '127.0.0.1', port: 0, receiveBufferBytes: 0 }));
    expect(kept.receiveBufferBytes).toBe(systemDefault);
    // Linux grants twice what is asked (its bookkeeping), capped at net.core.rmem_max.
    expect(large.receiveBufferBytes).toBeGreaterThan(systemDefault);
    await expect(createUdpTransport({ host: '127.0.0.1', port: 0, receiveBufferBytes: -1 })).rejects.toThrow(
      /receiveBufferBytes/,
    );
  });

  it('carries a request and its response between two sockets, stamping received and rport', async () => {
    const server = await track(createUdpTransport({ host: '127.0.0.1', port: 0 }));
    const client = await track(createUdpTransport({ host: '127.0.0.1', port: 0 }));
    const { response, seen } = await roundTrip(client, server);
    expect(response.status).toBe(200);
    expect(getTopVia(seen[0]!.request).params).toMatchObject({
      rport: String(client.local.port),
      received: '127.0.0.1',
    });
    expect(seen[0]!.from).toEqual({ transport: 'udp', address: '127.0.0.1', port: client.local.port });
    expect(server.stats).toMatchObject({ messagesReceived: 1, messagesSent: 1 });
  });

  it('answers a malformed request that has a Via with 400, and drops what cannot be answered', async () => {
    const server = await track(createUdpTransport({ host: '127.0.0.1', port: 0 }));
    serve(server);
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    const port = (socket.address() as { port: number }).port;
    const replies: string[] = [];
    const got = deferred<void>();
    socket.on('message', (data) => {
      replies.push(data.toString());
      got.resolve();
    });
    const send = (text: string) =>
      new Promise<void>((resolve) => socket.send(text, server.local.port, '127.0.0.1', () => resolve()));
    await send('\x00\xff garbage that is not SIP');
    await send(
      `OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${port};branch=z9hG4bKbad\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:x@y>\r\nCall-ID: bad-1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n`,
    );
    await got.promise;
    socket.close();
    const reply = parseMessage(replies[0]!);
    expect(reply.kind === 'response' && [reply.status, reply.reason]).toEqual([400, 'Bad Request (bad_cseq)']);
    expect(getHeader(reply, 'Call-ID')).toBe('bad-1');
    expect(server.stats).toMatchObject({ malformedAnswered: 1, malformedDropped: 1, messagesReceived: 0 });
  });
});

describe('TCP transport', { timeout: 20_000 }, () => {
  it('round-trips over TCP and sends a later request back on the flow the client registered on', async () => {
    const server = await track(createTcpTransport({ host: '127.0.0.1', port: 0 }));
    const client = await track(createTcpTransport({ host: '127.0.0.1', port: 0 }));
    const { response, seen } = await roundTrip(client, server);
    expect(response.status).toBe(200);
    const flow = seen[0]!.from;
    expect(flow.connectionId).toMatch(/^tcp-\d+$/);

    // The client's listening port is not where its connection comes from: the flow must be reused.
    const invited = deferred<{ request: SipRequest; from: Endpoint }>();
    new TransactionLayer({
      transports: [client],
      onRequest: (request, tx, from) => {
        invited.resolve({ request, from });
        tx?.reply(486);
      },
    });
    const serverLayer = new TransactionLayer({ send: (m, to) => server.send(m, to), onRequest: () => {} });
    const final = deferred<number>();
    const invite = createRequest({
      method: 'INVITE',
      uri: 'sip:alice@127.0.0.1',
      from: '<sip:bob@example.com>',
      to: '<sip:alice@example.com>',
      via: { transport: 'TCP', host: '127.0.0.1', port: server.local.port },
    });
    serverLayer.sendRequest(invite, flow, { onResponse: (r) => r.status >= 200 && final.resolve(r.status) });
    const { from } = await invited.promise;
    server.onMessage((m, f) => serverLayer.receive(m, f));
    expect(await final.promise).toBe(486);
    expect(from.port).toBe(server.local.port);
    expect((server as Awaited<ReturnType<typeof createTcpTransport>>).connections()).toHaveLength(1);
    expect((client as Awaited<ReturnType<typeof createTcpTransport>>).connections()).toHaveLength(1);
  });

  it('reuses the connection for the sent-by of its requests, as RFC 5923 connection reuse', async () => {
    const server = await track(createTcpTransport({ host: '127.0.0.1', port: 0 }));
    const client = await track(createTcpTransport({ host: '127.0.0.1', port: 0 }));
    const { response } = await roundTrip(client, server);
    expect(response.status).toBe(200);
    // Addressed to the client's listening port, with no connection id: the open flow carries it.
    const received = deferred<Endpoint>();
    client.onMessage((_m, from) => received.resolve(from));
    const request = createRequest({
      method: 'OPTIONS',
      uri: `sip:alice@127.0.0.1:${client.local.port};transport=tcp`,
      from: '<sip:bob@example.com>',
      to: '<sip:alice@example.com>',
      via: { transport: 'TCP', host: '127.0.0.1', port: server.local.port },
    });
    await server.send(request, { transport: 'tcp', address: '127.0.0.1', port: client.local.port });
    expect((await received.promise).port).toBe(server.local.port);
    expect(server.connections()).toHaveLength(1);
    expect(client.connections()).toHaveLength(1);
  });

  it('answers a double-CRLF ping, 400s a bad framed request and keeps the connection', async () => {
    const server = await track(createTcpTransport({ host: '127.0.0.1', port: 0 }));
    const { seen } = serve(server);
    const socket = net.connect(server.local.port, '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    let received = '';
    const until = (text: string) =>
      new Promise<void>((resolve) => {
        const check = () =>
          received.includes(text) ? resolve() : socket.once('data', (d) => ((received += d.toString()), check()));
        check();
      });
    socket.write('\r\n\r\n');
    await until('\r\n');
    expect(received).toBe('\r\n');
    socket.write(
      'OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:1;branch=z9hG4bKb\r\nFrom: <sip:a@b>;tag=1\r\nTo: "unterminated <sip:x@y>\r\nCall-ID: bad-2\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n',
    );
    await until('\r\n\r\n');
    expect(received).toMatch(/^\r\nSIP\/2\.0 400 Bad Request \(bad_name_addr\)\r\n/);
    const register = fixture('real/register-rfc8599-apns.sip');
    socket.write(register.subarray(0, 50));
    socket.write(register.subarray(50));
    await until('SIP/2.0 200 OK');
    socket.destroy();
    expect(seen.map((s) => s.request.method)).toEqual(['REGISTER']);
    expect(server.stats).toMatchObject({ keepAlives: 1, malformedAnswered: 1 });
  });

  it('sends a response on a new connection to the Via sent-by port when the request flow has closed', async () => {
    const server = await track(createTcpTransport({ host: '127.0.0.1', port: 0 }));
    const pending: ServerTransaction[] = [];
    new TransactionLayer({ transports: [server], onRequest: (_request, tx) => void (tx && pending.push(tx)) });
    const listener = net.createServer();
    const accepted = deferred<string>();
    listener.on('connection', (socket) => {
      let data = '';
      socket.on('data', (d) => {
        data += d.toString();
        if (data.includes('\r\n\r\n')) accepted.resolve(data);
      });
    });
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    const sentByPort = (listener.address() as net.AddressInfo).port;
    const socket = net.connect(server.local.port, '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const message = options('TCP', sentByPort);
    socket.write(serialize(message));
    while (pending.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    socket.destroy();
    while ((server as Awaited<ReturnType<typeof createTcpTransport>>).connections().length > 0) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    pending[0]!.reply(200);
    const response = await accepted.promise;
    listener.close();
    expect(response).toMatch(/^SIP\/2\.0 200 OK\r\n/);
  });

  it('tells the owner when a flow closes, so bindings on it can be dropped', async () => {
    const server = await track(createTcpTransport({ host: '127.0.0.1', port: 0 }));
    const { seen } = serve(server);
    const closedFlows = deferred<{ id: string; peer: Endpoint }>();
    server.onConnectionClosed((id, peer) => closedFlows.resolve({ id, peer }));
    const socket = net.connect(server.local.port, '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write(serialize(options('TCP', socket.localPort!)));
    await new Promise<void>((resolve) => socket.once('data', () => resolve()));
    socket.end();
    const { id, peer } = await closedFlows.promise;
    expect(id).toBe(seen[0]!.from.connectionId);
    expect(peer).toEqual(seen[0]!.from);
    expect(server.connections()).toEqual([]);
  });

  it('closes a connection that stays idle past idleTimeoutMs', async () => {
    const server = await track(createTcpTransport({ host: '127.0.0.1', port: 0, idleTimeoutMs: 50 }));
    const closed = deferred<string>();
    server.onConnectionClosed((id) => closed.resolve(id));
    const socket = net.connect(server.local.port, '127.0.0.1');
    socket.on('error', () => {});
    expect(await closed.promise).toMatch(/^tcp-\d+$/);
    socket.destroy();
  });

  it('rejects with SipTransportError when nobody listens', async () => {
    const client = await track(createTcpTransport({ host: '127.0.0.1', port: 0 }));
    const closed = await track(createTcpTransport({ host: '127.0.0.1', port: 0 }));
    const port = closed.local.port;
    await closed.close();
    await expect(
      client.send(options('TCP', client.local.port), { transport: 'tcp', address: '127.0.0.1', port }),
    ).rejects.toBeInstanceOf(SipTransportError);
  });
});

describe('TLS transport', { timeout: 20_000 }, () => {
  it('round-trips over TLS with the same interface', async () => {
    const credentials = { key: fixture('tls/key.pem'), cert: fixture('tls/cert.pem') };
    const server = await track(createTlsTransport({ host: '127.0.0.1', port: 0, server: credentials }));
    const client = await track(
      createTlsTransport({
        host: '127.0.0.1',
        port: 0,
        server: credentials,
        client: { ca: credentials.cert, servername: 'localhost' },
      }),
    );
    const { response, seen } = await roundTrip(client, server);
    expect(response.status).toBe(200);
    expect(seen[0]!.from.transport).toBe('tls');
    expect(getTopVia(seen[0]!.request).transport).toBe('TLS');
  });

  it('swaps its certificate for new handshakes while open connections keep theirs', async () => {
    const first = { key: fixture('tls/key.pem'), cert: fixture('tls/cert.pem') };
    const renewed = { key: fixture('tls/key-renewed.pem'), cert: fixture('tls/cert-renewed.pem') };
    const server = await track(createTlsTransport({ host: '127.0.0.1', port: 0, server: first }));
    const { seen } = serve(server);
    const clientFor = async (ca: string | Buffer) => {
      const client = await track(
        createTlsTransport({ host: '127.0.0.1', port: 0, server: first, client: { ca, servername: 'localhost' } }),
      );
      const layer = new TransactionLayer({ transports: [client], onRequest: () => {} });
      const ask = () =>
        new Promise<number>((resolve, reject) =>
          layer.sendRequest(
            options('TLS', client.local.port),
            { transport: 'tls', address: '127.0.0.1', port: server.local.port },
            {
              onResponse: (r) => resolve(r.status),
              onTimeout: () => reject(new Error('timeout')),
              onTransportError: (e) => reject(e as Error),
            },
          ),
        );
      return { client, ask };
    };
    const old = await clientFor(first.cert);
    expect(await old.ask()).toBe(200);
    expect(() => server.setSecureContext({ key: renewed.key, cert: 'not a certificate' })).toThrow();
    server.setSecureContext(renewed);
    // The connection made before the swap carries on, on the same flow.
    expect(await old.ask()).toBe(200);
    expect(server.connections()).toHaveLength(1);
    expect(new Set(seen.map((s) => s.from.connectionId)).size).toBe(1);
    // A new handshake gets the renewed certificate: trusted only by a client that knows it.
    await expect((await clientFor(first.cert)).ask()).rejects.toBeInstanceOf(SipTransportError);
    expect(await (await clientFor(renewed.cert)).ask()).toBe(200);
  });
});
