import http2, {
  type Http2ServerRequest,
  type Http2ServerResponse,
  type Http2SecureServer,
  type ServerHttp2Session,
} from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { FaultScript, faultSpecProblems, type FaultSpec } from './faults.js';
import {
  TokenRegistry,
  recordableHeaders,
  type SimConnectionStats,
  type SimDelivery,
  type SimRequestRecord,
} from './inspection.js';
import type { SimulatedProvider } from '@pushrelay/testkit';
import type { CertificateAuthority } from './tls.js';

export interface SimClock {
  now(): number;
}

/** A request as the provider logic sees it, body read in full. */
export interface SimRequest {
  method: string;
  path: string;
  /** Lower-case names; HTTP/2 pseudo-headers included. */
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  /** True when the body was longer than `maxBodyBytes` (then `body` is cut there). */
  bodyTruncated: boolean;
  httpVersion: string;
  /** The TLS client certificate, when the client sent one. */
  clientCertificate?: SimClientCertificate;
  receivedAt: number;
  /** Which simulator port took it (`production`/`sandbox` for APNs). */
  environment?: string;
  /** Identifies the TLS connection it came on (per-connection rules such as APNs key binding). */
  connectionId: number;
}

export interface SimClientCertificate {
  /** Lower-case hex. */
  serialNumber: string;
  subject: Record<string, unknown>;
  /** The certificate chains to the simulator's CA. */
  authorized: boolean;
}

/** What the provider logic answers. `delivery` set means the device would receive it. */
export interface SimResponse {
  status: number;
  headers?: Record<string, string>;
  /** Objects are sent as JSON; undefined sends an empty body. */
  body?: unknown;
  /** The provider's error reason, for the request log. */
  reason?: string;
  token?: string;
  delivery?: { token: string; payload: unknown; id: string };
}

export interface ProviderHandler {
  /** The device token a request is for, read before validation (for faults and the log). */
  tokenOf?(request: Pick<SimRequest, 'method' | 'path' | 'headers' | 'body'>): string | undefined;
  /** Whether scripted faults apply to this request; default every non-inspection request. */
  faultable?(request: Pick<SimRequest, 'method' | 'path'>): boolean;
  /** The provider's own error answer for a scripted status fault. */
  faultResponse(status: number, reason: string | undefined, request: SimRequest): SimResponse;
  handle(request: SimRequest): SimResponse | Promise<SimResponse>;
  /** Provider-specific inspection routes under `/__sim/`; undefined when not one of its own. */
  inspect?(request: SimRequest): SimResponse | Promise<SimResponse> | undefined;
}

/**
 * What all ports of one simulator share: the clock, the fault script, dead tokens, and the logs
 * of deliveries and requests.
 */
export class SimulatorState {
  readonly faults = new FaultScript();
  readonly tokens = new TokenRegistry();
  readonly clock: SimClock;
  private deliveryLog: SimDelivery[] = [];
  private requestLog: SimRequestRecord[] = [];

  constructor(
    readonly provider: string,
    options: { clock?: SimClock } = {},
  ) {
    this.clock = options.clock ?? { now: () => Date.now() };
  }

  recordDelivery(delivery: SimDelivery): void {
    this.deliveryLog.push(delivery);
  }

  recordRequest(record: SimRequestRecord): void {
    this.requestLog.push(record);
  }

  deliveries(): SimDelivery[] {
    return this.deliveryLog.slice();
  }

  requests(): SimRequestRecord[] {
    return this.requestLog.slice();
  }

  clearDeliveries(): void {
    this.deliveryLog = [];
    this.requestLog = [];
  }
}

export interface SimulatorServerOptions {
  state: SimulatorState;
  handler: ProviderHandler;
  ca: CertificateAuthority;
  /** Which environment this port serves, recorded with each delivery. */
  environment?: string;
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  allowHTTP1?: boolean;
  /** Ask clients for a certificate (checked against the CA by the handler, not by TLS). */
  requestCert?: boolean;
  /** SETTINGS_MAX_CONCURRENT_STREAMS announced to clients. Default 1000 (APNs). */
  maxConcurrentStreams?: number;
  /** Bodies are read up to this many bytes. Default 1 MiB. */
  maxBodyBytes?: number;
}

export interface SimulatorServer {
  /** `https://localhost:<port>`. */
  url: string;
  host: string;
  port: number;
  environment?: string;
  connections(): SimConnectionStats;
  close(): Promise<void>;
}

interface ConnectionInfo {
  id: number;
  socket: TLSSocket;
  streams: number;
  /** Streams above this id are refused: a GOAWAY was sent. */
  goawayAfter?: number;
}

const INSPECTION_PREFIX = '/__sim/';

type RecordRequest = (status: number, extra?: Partial<SimRequestRecord>) => void;
type ScriptedFault = NonNullable<ReturnType<FaultScript['take']>>;

const remoteKey = (s: { remoteAddress?: string | undefined; remotePort?: number | undefined }) =>
  `${s.remoteAddress}:${s.remotePort}`;

/**
 * One TLS + HTTP/2 port: its connections (to count streams and send GOAWAYs per connection),
 * the scripted faults applied to each request, and the handler's answer.
 */
class SimulatorPort {
  readonly server: Http2SecureServer;
  private readonly sockets = new Map<TLSSocket, ConnectionInfo>();
  private readonly sessions = new Set<ServerHttp2Session>();
  private readonly sessionSocket = new WeakMap<ServerHttp2Session, ConnectionInfo>();
  private readonly byRemote = new Map<string, ConnectionInfo>();
  private readonly pendingTimers = new Set<NodeJS.Timeout>();
  private readonly hung = new Set<Http2ServerResponse>();
  private readonly maxBodyBytes: number;
  private opened = 0;
  private closing = false;

  constructor(private readonly options: SimulatorServerOptions) {
    const { ca } = options;
    this.maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
    const serverCert = ca.issueServerCertificate(['localhost', '127.0.0.1', '::1']);
    this.server = http2.createSecureServer({
      cert: serverCert.cert,
      key: serverCert.key,
      ca: [ca.cert],
      allowHTTP1: options.allowHTTP1 ?? true,
      requestCert: options.requestCert ?? false,
      rejectUnauthorized: false,
      settings: { maxConcurrentStreams: options.maxConcurrentStreams ?? 1000 },
    });
    this.server.on('secureConnection', (socket: TLSSocket) => this.onSecureConnection(socket));
    this.server.on('session', (session: ServerHttp2Session) => {
      this.sessions.add(session);
      session.on('close', () => this.sessions.delete(session));
      session.on('error', () => {});
    });
    this.server.on('sessionError', () => {});
    this.server.on('tlsClientError', () => {});
    this.server.on('request', (req, res) => {
      void this.onRequest(req, res).catch(() => {
        if (!res.headersSent) {
          try {
            res.writeHead(500).end();
          } catch {
            /* the stream is gone */
          }
        }
      });
    });
  }

  stats(): SimConnectionStats {
    return { opened: this.opened, open: this.sockets.size, openSessions: this.sessions.size };
  }

  async listen(host: string, port: number): Promise<number> {
    const server = this.server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return (server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const timer of this.pendingTimers) clearTimeout(timer);
    this.pendingTimers.clear();
    for (const res of this.hung) res.stream?.close(http2.constants.NGHTTP2_CANCEL);
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const session of this.sessions) session.destroy();
    for (const socket of this.sockets.keys()) socket.destroy();
    await closed;
  }

  private onSecureConnection(socket: TLSSocket): void {
    this.opened++;
    const info: ConnectionInfo = { id: this.opened, socket, streams: 0 };
    this.sockets.set(socket, info);
    const key = remoteKey(socket);
    this.byRemote.set(key, info);
    socket.on('close', () => {
      this.sockets.delete(socket);
      if (this.byRemote.get(key) === info) this.byRemote.delete(key);
    });
  }

  private connectionOf(req: Http2ServerRequest): ConnectionInfo | undefined {
    // The HTTP/2 session is made inside the server's own secureConnection listener, before ours
    // runs, so the two are linked here, at the first request.
    const session = req.stream?.session as ServerHttp2Session | undefined;
    if (!session) return this.byRemote.get(remoteKey(req.socket));
    let info = this.sessionSocket.get(session);
    if (!info) {
      info = this.byRemote.get(remoteKey(session.socket));
      if (info) this.sessionSocket.set(session, info);
    }
    return info;
  }

  private async onRequest(req: Http2ServerRequest, res: Http2ServerResponse): Promise<void> {
    const { state, handler } = this.options;
    const receivedAt = state.clock.now();
    const connection = this.connectionOf(req);
    if (connection) connection.streams++;
    const sessionStreams = connection?.streams ?? 1;
    const request = await this.readRequest(req, connection, receivedAt);
    if (!request) return;

    if (request.path.startsWith(INSPECTION_PREFIX)) {
      sendResponse(res, await answerInspection(state, handler, request, () => this.stats()));
      return;
    }

    const token = handler.tokenOf?.(request);
    const record = this.recorder(request, token);

    // A stream the client opened after our GOAWAY was never processed: refuse it.
    const streamId = req.stream?.id;
    if (connection?.goawayAfter !== undefined && streamId !== undefined && streamId > connection.goawayAfter) {
      record(0, { reason: 'refused after GOAWAY' });
      // Closing the stream inside this turn, while the session is going away under many open
      // streams, corrupts the heap on Node 20 (undici clients hit it); a turn later is safe.
      const stream = req.stream;
      setImmediate(() => {
        if (!stream.destroyed) stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
      });
      return;
    }

    const fault =
      handler.faultable?.(request) === false
        ? undefined
        : state.faults.take({
            path: request.path,
            ...(token !== undefined ? { token } : {}),
            sessionStreams,
          });
    if (fault && !(await this.applyFault(fault, req, res, request, connection, record))) return;
    await this.answer(req, res, request, connection, fault, record);
  }

  private async readRequest(
    req: Http2ServerRequest,
    connection: ConnectionInfo | undefined,
    receivedAt: number,
  ): Promise<SimRequest | undefined> {
    let read: { body: Buffer; truncated: boolean };
    try {
      read = await readBody(req, this.maxBodyBytes);
    } catch {
      return undefined;
    }
    const request: SimRequest = {
      method: req.method,
      path: req.url ?? '/',
      headers: req.headers as Record<string, string | string[] | undefined>,
      body: read.body,
      bodyTruncated: read.truncated,
      httpVersion: req.httpVersion,
      receivedAt,
      connectionId: connection?.id ?? 0,
      ...(this.options.environment !== undefined ? { environment: this.options.environment } : {}),
    };
    const clientCertificate = clientCertificateOf(req);
    if (clientCertificate) request.clientCertificate = clientCertificate;
    return request;
  }

  private recorder(request: SimRequest, token: string | undefined): RecordRequest {
    const { state, environment } = this.options;
    return (status, extra = {}) =>
      state.recordRequest({
        provider: state.provider,
        ...(environment !== undefined ? { environment } : {}),
        method: request.method,
        path: request.path,
        ...(token !== undefined ? { token } : {}),
        headers: recordableHeaders(request.headers),
        receivedAt: request.receivedAt,
        status,
        ...extra,
      });
  }

  /** Plays a scripted fault; false when it took the request (nothing more is answered). */
  private async applyFault(
    fault: ScriptedFault,
    req: Http2ServerRequest,
    res: Http2ServerResponse,
    request: SimRequest,
    connection: ConnectionInfo | undefined,
    record: RecordRequest,
  ): Promise<boolean> {
    switch (fault.kind) {
      case 'status': {
        const response = this.options.handler.faultResponse(fault.status, fault.reason, request);
        response.headers = { ...response.headers, ...fault.headers };
        if (fault.retryAfter !== undefined) response.headers['retry-after'] = String(fault.retryAfter);
        if (fault.body !== undefined) response.body = fault.body;
        record(response.status, { fault: 'status', ...(fault.reason !== undefined ? { reason: fault.reason } : {}) });
        sendResponse(res, response);
        return false;
      }
      case 'reset': {
        record(0, { fault: 'reset' });
        const socket = connection?.socket;
        if (socket) {
          try {
            socket.resetAndDestroy();
          } catch {
            socket.destroy();
          }
        } else req.stream?.session?.destroy();
        return false;
      }
      case 'stream-reset': {
        record(0, { fault: 'stream-reset' });
        // A turn later, as for streams refused after a GOAWAY: closing inside this one can
        // corrupt the session on Node 20 while many streams are open.
        const stream = req.stream;
        const code = fault.code ?? http2.constants.NGHTTP2_INTERNAL_ERROR;
        if (stream) setImmediate(() => !stream.destroyed && stream.close(code));
        else req.socket.destroy();
        return false;
      }
      case 'hang':
        record(0, { fault: 'hang' });
        this.hung.add(res);
        res.on('close', () => this.hung.delete(res));
        return false;
      case 'slow':
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            this.pendingTimers.delete(timer);
            resolve();
          }, fault.delayMs);
          this.pendingTimers.add(timer);
        });
        return !this.closing;
      default:
        return true;
    }
  }

  /** The handler's answer, logged; a `goaway` fault closes the connection after it. */
  private async answer(
    req: Http2ServerRequest,
    res: Http2ServerResponse,
    request: SimRequest,
    connection: ConnectionInfo | undefined,
    fault: ScriptedFault | undefined,
    record: RecordRequest,
  ): Promise<void> {
    const { state, handler, environment } = this.options;
    let response: SimResponse;
    try {
      response = await handler.handle(request);
    } catch (error) {
      response = {
        status: 500,
        body: { reason: 'InternalServerError', detail: String(error) },
        reason: 'InternalServerError',
      };
    }
    if (res.stream?.destroyed || res.writableEnded || res.destroyed) {
      record(0, { reason: 'client went away' });
      return;
    }
    if (response.delivery) {
      state.recordDelivery({
        provider: state.provider,
        ...(environment !== undefined ? { environment } : {}),
        token: response.delivery.token,
        headers: recordableHeaders(request.headers),
        payload: response.delivery.payload,
        receivedAt: request.receivedAt,
        id: response.delivery.id,
      });
    }
    record(response.status, {
      ...(response.reason !== undefined ? { reason: response.reason } : {}),
      ...(fault ? { fault: fault.kind } : {}),
    });
    sendResponse(res, response);

    if (fault?.kind === 'goaway' && req.stream?.session && connection) {
      connection.goawayAfter = req.stream.id;
      const session = req.stream.session;
      const opaque = Buffer.from(JSON.stringify({ reason: fault.reason ?? 'Shutdown' }));
      session.goaway(http2.constants.NGHTTP2_NO_ERROR, req.stream.id, opaque);
      session.close();
    }
  }
}

/** Starts one TLS + HTTP/2 port of a simulator on 127.0.0.1. */
export async function startSimulatorServer(options: SimulatorServerOptions): Promise<SimulatorServer> {
  const host = options.host ?? '127.0.0.1';
  const simulatorPort = new SimulatorPort(options);
  const port = await simulatorPort.listen(host, options.port ?? 0);
  return {
    url: `https://localhost:${port}`,
    host,
    port,
    ...(options.environment !== undefined ? { environment: options.environment } : {}),
    connections: () => simulatorPort.stats(),
    close: () => simulatorPort.close(),
  };
}

/** The inspection and scripting API every simulator handle has (what the transport conformance suite drives, and more). */
export interface SimulatorHandle extends SimulatedProvider {
  readonly provider: string;
  /** Base URL of the (main) port. */
  readonly url: string;
  readonly port: number;
  /** PEM of the CA that signed the server certificate. */
  readonly ca: string;
  readonly authority: CertificateAuthority;
  clearDeliveries(): void;
  clearFaults(): void;
}

export function simulatorHandle(
  state: SimulatorState,
  servers: readonly SimulatorServer[],
  authority: CertificateAuthority,
): SimulatorHandle {
  const main = servers[0]!;
  const matches = (r: { token?: string; environment?: string }, f?: { token?: string; environment?: string }) =>
    (!f?.token || r.token === f.token) && (!f?.environment || r.environment === f.environment);
  return {
    provider: state.provider,
    url: main.url,
    port: main.port,
    ca: authority.cert,
    authority,
    deliveries: (filter) => state.deliveries().filter((d) => matches(d, filter)),
    requests: (filter) => state.requests().filter((r) => matches(r, filter)),
    clearDeliveries: () => state.clearDeliveries(),
    fault: (spec) => {
      const problems = faultSpecProblems(spec);
      if (problems.length) throw new TypeError(`invalid fault: ${problems.join('; ')}`);
      return state.faults.add(spec);
    },
    clearFaults: () => state.faults.clear(),
    unregister: (token, at) => state.tokens.unregister(token, at ?? state.clock.now()),
    connections: () =>
      servers.reduce<SimConnectionStats>(
        (sum, s) => {
          const c = s.connections();
          return {
            opened: sum.opened + c.opened,
            open: sum.open + c.open,
            openSessions: sum.openSessions + c.openSessions,
          };
        },
        { opened: 0, open: 0, openSessions: 0 },
      ),
    close: async () => {
      await Promise.all(servers.map((s) => s.close()));
    },
  };
}

/** Writes a simulator answer: JSON bodies get their content type, every body its length. */
function sendResponse(res: Http2ServerResponse, response: SimResponse): void {
  if (res.stream?.destroyed || res.writableEnded) return;
  let body: Buffer | undefined;
  const headers: Record<string, string> = { ...response.headers };
  if (Buffer.isBuffer(response.body)) body = response.body;
  else if (typeof response.body === 'string') body = Buffer.from(response.body);
  else if (response.body !== undefined) {
    body = Buffer.from(JSON.stringify(response.body));
    headers['content-type'] ??= 'application/json; charset=utf-8';
  }
  if (body) headers['content-length'] = String(body.length);
  res.writeHead(response.status, headers);
  if (body) res.end(body);
  else res.end();
}

/** The TLS client certificate a request came with, if any (checked by the handler, not by TLS). */
function clientCertificateOf(req: Http2ServerRequest): SimClientCertificate | undefined {
  const socket = (req.stream?.session?.socket ?? req.socket) as TLSSocket;
  const cert = socket.getPeerCertificate?.();
  if (!cert || Object.keys(cert).length === 0 || !cert.serialNumber) return undefined;
  return {
    serialNumber: cert.serialNumber.toLowerCase().replace(/^0+/, ''),
    subject: { ...cert.subject },
    authorized: socket.authorized,
  };
}

/** Reads a request body up to `maxBodyBytes`, keeping what fits and saying whether more came. */
function readBody(req: Http2ServerRequest, maxBodyBytes: number): Promise<{ body: Buffer; truncated: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let truncated = false;
    req.on('data', (chunk: Buffer) => {
      if (size + chunk.length > maxBodyBytes) {
        truncated = true;
        chunks.push(chunk.subarray(0, Math.max(0, maxBodyBytes - size)));
        size = maxBodyBytes;
      } else {
        chunks.push(chunk);
        size += chunk.length;
      }
    });
    req.on('end', () => resolve({ body: Buffer.concat(chunks), truncated }));
    req.on('error', reject);
    req.on('aborted', () => reject(new Error('aborted')));
  });
}

/** Answers the `/__sim/` inspection and scripting routes every simulator has, then the handler's own. */
async function answerInspection(
  state: SimulatorState,
  handler: ProviderHandler,
  request: SimRequest,
  stats: () => SimConnectionStats,
): Promise<SimResponse> {
  const route = `${request.method} ${request.path.split('?')[0]}`;
  const json = (): unknown => {
    try {
      return request.body.length ? JSON.parse(request.body.toString('utf8')) : undefined;
    } catch {
      return Symbol.for('invalid');
    }
  };
  switch (route) {
    case 'GET /__sim/deliveries':
      return { status: 200, body: state.deliveries() };
    case 'DELETE /__sim/deliveries':
      state.clearDeliveries();
      return { status: 204 };
    case 'GET /__sim/requests':
      return { status: 200, body: state.requests() };
    case 'GET /__sim/connections':
      return { status: 200, body: stats() };
    case 'GET /__sim/faults':
      return { status: 200, body: state.faults.list() };
    case 'DELETE /__sim/faults':
      state.faults.clear();
      return { status: 204 };
    case 'POST /__sim/faults': {
      const body = json();
      const specs = Array.isArray(body) ? body : [body];
      const problems = specs.flatMap((s, i) => faultSpecProblems(s).map((p) => (specs.length > 1 ? `[${i}].${p}` : p)));
      if (problems.length) return { status: 400, body: { error: 'invalid fault', problems } };
      const ids = specs.map((s) => state.faults.add(s as FaultSpec));
      return { status: 201, body: { ids } };
    }
    case 'POST /__sim/tokens': {
      const body = json() as { token?: unknown; unregistered?: unknown; at?: unknown } | undefined;
      if (!body || typeof body !== 'object' || typeof body.token !== 'string' || body.token === '') {
        return {
          status: 400,
          body: { error: 'invalid token mark', problems: ['token: must be a non-empty string'] },
        };
      }
      if (body.at !== undefined && typeof body.at !== 'number') {
        return { status: 400, body: { error: 'invalid token mark', problems: ['at: must be epoch ms'] } };
      }
      if (body.unregistered === false) state.tokens.restore(body.token);
      else state.tokens.unregister(body.token, (body.at as number | undefined) ?? state.clock.now());
      return { status: 204 };
    }
    default: {
      const own = await handler.inspect?.(request);
      return own ?? { status: 404, body: { error: `no inspection route ${route}` } };
    }
  }
}
