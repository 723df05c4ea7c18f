import dgram from 'node:dgram';
import net from 'node:net';
import tls from 'node:tls';
import { createResponse } from './build.js';
import {
  SipTransportError,
  type Endpoint,
  type MessageHandler,
  type SipTransport,
  type TransportStats,
} from './endpoint.js';
import { SipParseError } from './errors.js';
import { parseVia } from './grammar.js';
import type { SipMessage } from './message.js';
import { parseMessage, StreamParser, type StreamParserOptions } from './parser.js';
import { serialize } from './serialize.js';
import { normalizeAddress, responseEndpoint, stampVia } from './via.js';

function newStats(): TransportStats {
  return { messagesReceived: 0, messagesSent: 0, malformedAnswered: 0, malformedDropped: 0, keepAlives: 0 };
}

/** The 400 for a message we could not use, when it has what a response needs; else undefined. */
function badRequestFor(
  error: unknown,
): { response: SipMessage; request: NonNullable<SipParseError['request']> } | undefined {
  if (!(error instanceof SipParseError) || !error.request) return undefined;
  const request = error.request;
  if (request.method === 'ACK') return undefined; // ACK is never answered.
  if (!request.headers.some((h) => h.name === 'Via')) return undefined;
  try {
    const status = error.reason === 'bad_version' ? 505 : 400;
    const reason = status === 505 ? 'Version Not Supported' : `Bad Request (${error.reason})`;
    return { response: createResponse(request, status, reason), request };
  } catch {
    return undefined;
  }
}

class Dispatcher {
  private handlers: MessageHandler[] = [];
  add(handler: MessageHandler): void {
    this.handlers.push(handler);
  }
  emit(message: SipMessage, from: Endpoint): void {
    for (const handler of this.handlers) {
      try {
        handler(message, from);
      } catch {
        // A failing receiver must not stop the socket loop; it owns its own error reporting.
      }
    }
  }
}

export interface UdpTransportOptions {
  /** Address to bind; default 0.0.0.0 (use 127.0.0.1 in tests). */
  host?: string;
  /** Port to bind; 0 picks a free one. Default 5060. */
  port?: number;
  /** `udp6` to bind an IPv6 socket. Default `udp4`. */
  type?: 'udp4' | 'udp6';
  /**
   * The socket's receive buffer (SO_RCVBUF). Datagrams that arrive while the process is busy
   * (a GC pause, a burst) wait here; once it is full the kernel drops them and the peers
   * retransmit, which adds load when there is least room for it. The kernel caps it at
   * `net.core.rmem_max` (212 992 bytes on many systems: raise it for a busy server). 0 keeps the
   * system's default. Default 4 MiB.
   */
  receiveBufferBytes?: number;
}

/** A UDP transport, with what the kernel granted of the receive buffer asked for. */
export interface UdpTransport extends SipTransport {
  readonly protocol: 'udp';
  /** The socket's receive buffer as the kernel reports it (Linux counts its bookkeeping, so about twice what was set). */
  readonly receiveBufferBytes: number;
}

const DEFAULT_UDP_RECEIVE_BUFFER = 4 * 1024 * 1024;

export async function createUdpTransport(options: UdpTransportOptions = {}): Promise<UdpTransport> {
  const wantedBuffer = options.receiveBufferBytes ?? DEFAULT_UDP_RECEIVE_BUFFER;
  if (!Number.isInteger(wantedBuffer) || wantedBuffer < 0)
    throw new RangeError(`receiveBufferBytes must be a non-negative integer, got ${wantedBuffer}`);
  const socket = dgram.createSocket(options.type ?? 'udp4');
  const dispatcher = new Dispatcher();
  const stats = newStats();
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(options.port ?? 5060, options.host ?? '0.0.0.0', () => {
      socket.off('error', reject);
      resolve();
    });
  });
  // Errors after bind (ICMP unreachable reports on some platforms) must not crash the process.
  socket.on('error', () => {});
  if (wantedBuffer > 0) socket.setRecvBufferSize(wantedBuffer);
  const bound = socket.address();
  let closed = false;

  const sendTo = (message: SipMessage, to: Endpoint): Promise<void> =>
    new Promise((resolve, reject) => {
      if (closed) {
        reject(new SipTransportError('udp', 'transport closed'));
        return;
      }
      socket.send(serialize(message), to.port, to.address, (error) => {
        if (error)
          reject(
            new SipTransportError('udp', `send to ${to.address}:${to.port} failed: ${error.message}`, { cause: error }),
          );
        else {
          stats.messagesSent++;
          resolve();
        }
      });
    });

  socket.on('message', (datagram, rinfo) => {
    const from: Endpoint = { transport: 'udp', address: normalizeAddress(rinfo.address), port: rinfo.port };
    // Keep-alives (RFC 5626 STUN is not handled; CRLF ones are) and stray bytes carry no message.
    if (datagram.every((b) => b === 0x0d || b === 0x0a || b === 0x20 || b === 0x00)) return;
    let message: SipMessage;
    try {
      message = parseMessage(datagram);
    } catch (error) {
      const bad = badRequestFor(error);
      if (bad) {
        stats.malformedAnswered++;
        const target = safeResponseEndpoint(bad.request, from);
        sendTo(bad.response, target).catch(() => {});
      } else {
        stats.malformedDropped++;
      }
      return;
    }
    stats.messagesReceived++;
    if (message.kind === 'request') stampVia(message, from);
    dispatcher.emit(message, from);
  });

  return {
    protocol: 'udp',
    local: { address: bound.address, port: bound.port },
    receiveBufferBytes: socket.getRecvBufferSize(),
    stats,
    send: sendTo,
    onMessage: (handler) => dispatcher.add(handler),
    close: () =>
      new Promise<void>((resolve) => {
        if (closed) return resolve();
        closed = true;
        socket.close(() => resolve());
      }),
  };
}

function safeResponseEndpoint(request: NonNullable<SipParseError['request']>, from: Endpoint): Endpoint {
  try {
    stampVia(request, from);
    return responseEndpoint(request, from);
  } catch {
    return from;
  }
}

export interface StreamTransportOptions extends StreamParserOptions {
  /** Address to listen on; default 0.0.0.0. */
  host?: string;
  /** Port to listen on; 0 picks a free one. Default 5060 (TCP) or 5061 (TLS). */
  port?: number;
  /** Give up connecting to a peer after this long. Default 10 s. */
  connectTimeoutMs?: number;
  /** Close a connection that carried nothing (not even a keep-alive) for this long. Default 0: never. */
  idleTimeoutMs?: number;
  /** Refuse incoming connections beyond this many. Default: no limit. */
  maxConnections?: number;
}

export interface TlsTransportOptions extends StreamTransportOptions {
  /** Server credentials and settings (key, cert, ca...) for accepted connections. */
  server: tls.TlsOptions;
  /** Settings for connections this side opens (ca, servername, rejectUnauthorized...). */
  client?: tls.ConnectionOptions;
}

/** A stream transport with its connection table, for tests and diagnostics. */
export interface StreamTransport extends SipTransport {
  readonly protocol: 'tcp' | 'tls';
  /** Open flows, by connection id. */
  connections(): { id: string; address: string; port: number }[];
  /** Called with the id of each flow that closes, so bindings registered on it can be dropped. */
  onConnectionClosed(handler: (connectionId: string, peer: Endpoint) => void): void;
}

/** A TLS transport whose certificate and key can be replaced while it runs. */
export interface TlsTransport extends StreamTransport {
  readonly protocol: 'tls';
  /**
   * Replaces the server credentials for handshakes from now on (`tls.Server#setSecureContext`);
   * open connections keep theirs, so no flow or call is dropped. Throws, keeping the old ones,
   * when the new key or certificate cannot be used.
   */
  setSecureContext(options: tls.SecureContextOptions): void;
}

export function createTcpTransport(options: StreamTransportOptions = {}): Promise<StreamTransport> {
  return createStreamTransport('tcp', options, {
    listen: (onSocket) => net.createServer(onSocket),
    connect: (to) => net.connect({ host: to.address, port: to.port }),
    connectedEvent: 'connect',
  });
}

export async function createTlsTransport(options: TlsTransportOptions): Promise<TlsTransport> {
  let server: tls.Server | undefined;
  const transport = await createStreamTransport(
    'tls',
    { ...options, port: options.port ?? 5061 },
    {
      listen: (onSocket) => (server = tls.createServer(options.server, onSocket)),
      connect: (to) => tls.connect({ host: to.address, port: to.port, ...options.client }),
      connectedEvent: 'secureConnect',
    },
  );
  return Object.assign(transport as StreamTransport & { protocol: 'tls' }, {
    setSecureContext: (context: tls.SecureContextOptions) => server!.setSecureContext(context),
  });
}

interface SocketFactory {
  listen(onSocket: (socket: net.Socket) => void): net.Server;
  connect(to: Endpoint): net.Socket;
  connectedEvent: 'connect' | 'secureConnect';
}

interface Flow {
  id: string;
  socket: net.Socket;
  address: string;
  port: number;
  /** `host:port` sent-bys this flow answers for besides its own remote address (see adopt). */
  aliases: Set<string>;
}

async function createStreamTransport(
  protocol: 'tcp' | 'tls',
  options: StreamTransportOptions,
  factory: SocketFactory,
): Promise<StreamTransport> {
  const dispatcher = new Dispatcher();
  const closedHandlers: ((id: string, peer: Endpoint) => void)[] = [];
  const stats = newStats();
  const flows = new Map<string, Flow>();
  const byPeer = new Map<string, Flow>();
  const connecting = new Map<string, Promise<Flow>>();
  let nextId = 1;
  let closed = false;

  /**
   * Connection reuse (RFC 5923, without requiring its `alias` parameter): a request whose top
   * Via sent-by is the connection's own remote host names the port that peer listens on; later
   * messages to that host:port go over this connection instead of a new one, which the peer
   * (a phone behind NAT, a TLS client without a server certificate we trust) may never accept.
   */
  const learnAlias = (flow: Flow, request: SipMessage): void => {
    const value = request.headers.find((h) => h.name === 'Via')?.value;
    if (value === undefined) return;
    const via = parseVia(value);
    const host = normalizeAddress(via.host.replace(/^\[|\]$/g, ''));
    if (host !== flow.address || via.port === undefined || via.port === flow.port) return;
    const alias = `${host}:${via.port}`;
    if (byPeer.get(alias) === flow) return;
    flow.aliases.add(alias);
    byPeer.set(alias, flow);
  };

  const adopt = (socket: net.Socket): Flow => {
    const flow: Flow = {
      id: `${protocol}-${nextId++}`,
      socket,
      address: normalizeAddress(socket.remoteAddress),
      port: socket.remotePort ?? 0,
      aliases: new Set(),
    };
    flows.set(flow.id, flow);
    byPeer.set(`${flow.address}:${flow.port}`, flow);
    const from: Endpoint = { transport: protocol, address: flow.address, port: flow.port, connectionId: flow.id };
    const parser = new StreamParser(options);
    socket.setNoDelay(true);
    if (options.idleTimeoutMs) socket.setTimeout(options.idleTimeoutMs, () => socket.end());
    socket.on('data', (chunk: Buffer) => {
      for (const event of parser.push(chunk)) {
        if (event.type === 'ping') {
          stats.keepAlives++;
          socket.write('\r\n');
        } else if (event.type === 'message') {
          stats.messagesReceived++;
          if (event.message.kind === 'request') {
            try {
              stampVia(event.message, from);
              learnAlias(flow, event.message);
            } catch {
              // The parser has checked the top Via already.
            }
          }
          dispatcher.emit(event.message, from);
        } else {
          const bad = badRequestFor(event.error);
          if (bad && !socket.destroyed) {
            stats.malformedAnswered++;
            socket.write(serialize(bad.response));
          } else {
            stats.malformedDropped++;
          }
          if (event.fatal) socket.end();
        }
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      flows.delete(flow.id);
      if (byPeer.get(`${flow.address}:${flow.port}`) === flow) byPeer.delete(`${flow.address}:${flow.port}`);
      for (const alias of flow.aliases) if (byPeer.get(alias) === flow) byPeer.delete(alias);
      for (const handler of closedHandlers) {
        try {
          handler(flow.id, from);
        } catch {
          // see Dispatcher.emit
        }
      }
    });
    return flow;
  };

  const server = factory.listen((socket) => {
    if (closed) socket.destroy();
    else adopt(socket);
  });
  server.on('error', () => {});
  if (options.maxConnections !== undefined) server.maxConnections = options.maxConnections;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 5060, options.host ?? '0.0.0.0', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as net.AddressInfo;

  const connect = (to: Endpoint): Promise<Flow> => {
    const peer = `${to.address}:${to.port}`;
    const pending = connecting.get(peer);
    if (pending) return pending;
    const attempt = new Promise<Flow>((resolve, reject) => {
      const socket = factory.connect(to);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new SipTransportError(protocol, `connect to ${peer} timed out`));
      }, options.connectTimeoutMs ?? 10_000);
      timer.unref();
      socket.once(factory.connectedEvent, () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(adopt(socket));
      });
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(new SipTransportError(protocol, `connect to ${peer} failed: ${error.message}`, { cause: error }));
      });
    }).finally(() => connecting.delete(peer));
    connecting.set(peer, attempt);
    return attempt;
  };

  const send = async (message: SipMessage, to: Endpoint): Promise<void> => {
    if (closed) throw new SipTransportError(protocol, 'transport closed');
    // Reuse the flow the peer registered or sent on (RFC 5626/5923) before opening a new one.
    let flow = (to.connectionId ? flows.get(to.connectionId) : undefined) ?? byPeer.get(`${to.address}:${to.port}`);
    if (!flow || flow.socket.destroyed)
      flow = await connect(message.kind === 'response' ? reconnectTarget(message, to, protocol) : to);
    const socket = flow.socket;
    await new Promise<void>((resolve, reject) => {
      socket.write(serialize(message), (error) => {
        if (error)
          reject(
            new SipTransportError(protocol, `write to ${flow.address}:${flow.port} failed: ${error.message}`, {
              cause: error,
            }),
          );
        else {
          stats.messagesSent++;
          resolve();
        }
      });
    });
  };

  return {
    protocol,
    local: { address: address.address, port: address.port },
    stats,
    send,
    onMessage: (handler) => dispatcher.add(handler),
    onConnectionClosed: (handler) => closedHandlers.push(handler),
    connections: () => [...flows.values()].map((f) => ({ id: f.id, address: f.address, port: f.port })),
    close: () =>
      new Promise<void>((resolve) => {
        if (closed) return resolve();
        closed = true;
        for (const flow of flows.values()) flow.socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * Where to open a new connection for a response whose flow has closed (RFC 3261 §18.2.2): the
 * `received` address (or sent-by host) at the sent-by port, not the peer's ephemeral source port.
 */
function reconnectTarget(response: SipMessage, to: Endpoint, protocol: 'tcp' | 'tls'): Endpoint {
  const value = response.headers.find((h) => h.name === 'Via')?.value;
  if (value === undefined) return to;
  try {
    const via = parseVia(value);
    const address = via.params['received'] ?? via.host.replace(/^\[|\]$/g, '');
    return { transport: protocol, address, port: via.port ?? (protocol === 'tls' ? 5061 : 5060) };
  } catch {
    return to;
  }
}
