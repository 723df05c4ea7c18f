import http2, { type ClientHttp2Session, type SecureClientSessionOptions } from 'node:http2';
import type { ProviderToken } from './jwt.js';

/** A send that waits for a free stream, as an endpoint sees it. */
export interface Dispatchable {
  /** Settled already (deadline, abort): skipped when its turn comes. */
  settled: boolean;
  /** Its turn: send on `connection` (or settle without sending). */
  issue(connection: Connection): void;
  /** The connection it waited for never came up: nothing reached APNs. */
  unsent(reason: string): void;
  /** The next in the endpoint's waiting line. */
  nextWaiting: Dispatchable | undefined;
}

export interface EndpointOptions {
  /** `https://host:port`. */
  authority: string;
  /** TLS options of every connection (a secure context made once, with the credential's certificate). */
  tls: SecureClientSessionOptions;
  /** The key whose JWT goes with each request; absent for certificate auth. */
  token: ProviderToken | undefined;
  /** Connections at most. */
  poolSize: number;
  /** Streams in flight per connection at most (also bounded by what the server announces). */
  maxStreams: number;
  /** HTTP/2 PING interval. */
  pingIntervalMs: number;
  /** A connection not ready (TLS done, the server's SETTINGS received) by then is given up. */
  connectTimeoutMs: number;
}

/** One HTTP/2 connection to APNs. */
export class Connection {
  readonly session: ClientHttp2Session;
  /** Streams in flight. */
  inFlight = 0;
  /** Streams it may carry at once; set from the server's SETTINGS. */
  limit = 0;
  /** The server's SETTINGS came: it takes requests. */
  ready = false;
  /** Takes no new streams: GOAWAY received, or closed. */
  draining = false;
  /** Why it failed, when it did. */
  failure: string | undefined;
  private readonly ping: NodeJS.Timeout | undefined;
  private connectTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly endpoint: Endpoint,
    options: EndpointOptions,
  ) {
    const session = http2.connect(options.authority, { ...options.tls, settings: { enablePush: false } });
    this.session = session;
    this.connectTimer = setTimeout(() => {
      this.failure ??= `no HTTP/2 connection within ${options.connectTimeoutMs} ms`;
      session.destroy();
    }, options.connectTimeoutMs);
    session.on('remoteSettings', (settings) => {
      if (this.connectTimer) clearTimeout(this.connectTimer);
      this.connectTimer = undefined;
      this.limit = Math.min(options.maxStreams, settings.maxConcurrentStreams ?? options.maxStreams);
      this.ready = true;
      endpoint.pump();
    });
    session.on('goaway', () => {
      // Streams up to the GOAWAY's last stream id are still answered; the rest are refused and
      // sent again elsewhere. Node closes the session once they are done.
      this.draining = true;
      endpoint.pump();
    });
    session.on('error', (error: Error) => {
      this.failure ??= error.message;
    });
    session.on('close', () => {
      this.draining = true;
      if (this.ping) clearInterval(this.ping);
      if (this.connectTimer) clearTimeout(this.connectTimer);
      endpoint.lost(this);
    });
    if (options.pingIntervalMs > 0) {
      this.ping = setInterval(() => {
        if (!session.closed && !session.destroyed) {
          session.ping((error) => {
            if (error && !session.destroyed) session.destroy(error);
          });
        }
      }, options.pingIntervalMs);
      this.ping.unref();
    }
  }

  /** `session.request` threw: the session is going away. */
  refused(): void {
    this.draining = true;
    this.endpoint.release(this);
  }

  close(): Promise<void> {
    if (this.ping) clearInterval(this.ping);
    if (this.session.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      this.session.once('close', () => resolve());
      this.session.close();
    });
  }
}

/**
 * The connections of one credential to one APNs host: a send takes a free stream on the first
 * connection that has one; a further connection opens only when every stream is in use, up to
 * `poolSize`; beyond that sends wait here, in order, and their request timeout has not started.
 */
export class Endpoint {
  readonly token: ProviderToken | undefined;
  private readonly connections: Connection[] = [];
  private head: Dispatchable | undefined;
  private tail: Dispatchable | undefined;
  private closed = false;

  constructor(private readonly options: EndpointOptions) {
    this.token = options.token;
  }

  dispatch(send: Dispatchable): void {
    const connection = this.free();
    if (connection) {
      send.issue(connection);
      return;
    }
    send.nextWaiting = undefined;
    if (this.tail) this.tail.nextWaiting = send;
    else this.head = send;
    this.tail = send;
    this.grow();
  }

  /** A stream of `connection` closed. */
  release(connection: Connection): void {
    connection.inFlight--;
    if (this.head) this.pump();
  }

  /** Hands free streams to waiting sends, and opens a connection when they are not enough. */
  pump(): void {
    while (this.head) {
      const send = this.head;
      if (!send.settled) {
        const connection = this.free();
        if (!connection) break;
        this.shift();
        send.issue(connection);
      } else {
        this.shift();
      }
    }
    if (this.head) this.grow();
  }

  /** A connection closed (or never opened). */
  lost(connection: Connection): void {
    const i = this.connections.indexOf(connection);
    if (i >= 0) this.connections.splice(i, 1);
    if (!this.head) return;
    if (!connection.ready && !this.connections.some((c) => !c.draining)) {
      // It never came up and nothing else can take the waiting sends: each decides whether to
      // try a new connection (their resends) or give up.
      const reason = `cannot connect to APNs: ${connection.failure ?? 'connection closed'}`;
      let send: Dispatchable | undefined = this.head;
      this.head = this.tail = undefined;
      while (send) {
        const next: Dispatchable | undefined = send.nextWaiting;
        send.nextWaiting = undefined;
        if (!send.settled) send.unsent(reason);
        send = next;
      }
      return;
    }
    this.pump();
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.connections.map((c) => c.close()));
  }

  private shift(): void {
    const send = this.head!;
    this.head = send.nextWaiting;
    if (!this.head) this.tail = undefined;
    send.nextWaiting = undefined;
  }

  private free(): Connection | undefined {
    for (const c of this.connections) if (c.ready && !c.draining && c.inFlight < c.limit) return c;
    return undefined;
  }

  private grow(): void {
    if (this.closed) return;
    let usable = 0;
    for (const c of this.connections) {
      // One connection is made at a time.
      if (!c.ready && !c.draining) return;
      if (!c.draining) usable++;
    }
    if (usable < this.options.poolSize) this.connections.push(new Connection(this, this.options));
  }
}
