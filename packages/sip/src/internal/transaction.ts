import { BRANCH_COOKIE, createAckForNon2xx, createResponse } from './build.js';
import { DEFAULT_TIMERS, systemClock, type Clock, type TimerValues } from './clock.js';
import { isReliable, type Endpoint, type SipTransport } from './endpoint.js';
import { parseCSeq, parseNameAddr, parseVia } from './grammar.js';
import { getHeader, type SipMessage, type SipRequest, type SipResponse } from './message.js';
import { responseEndpoint } from './via.js';

export type TransactionState =
  'calling' | 'trying' | 'proceeding' | 'accepted' | 'completed' | 'confirmed' | 'terminated';

export type TerminationReason = 'done' | 'timeout' | 'transport_error';

interface Context {
  clock: Clock;
  timers: TimerValues;
  /** Timers running in every transaction of the layer, for leak checks. */
  live: { timers: number };
  send(message: SipMessage, to: Endpoint): Promise<void>;
  remove(tx: Transaction): void;
}

abstract class Transaction {
  state: TransactionState;
  readonly key: string;
  readonly request: SipRequest;
  readonly remote: Endpoint;
  /** Set once the transaction is over; why it ended. */
  terminationReason: TerminationReason | undefined;
  protected readonly ctx: Context;
  private readonly running = new Map<string, { handle: unknown }>();

  protected constructor(ctx: Context, key: string, request: SipRequest, remote: Endpoint, initial: TransactionState) {
    this.ctx = ctx;
    this.key = key;
    this.request = request;
    this.remote = remote;
    this.state = initial;
  }

  get reliable(): boolean {
    return isReliable(this.remote.transport);
  }

  protected startTimer(name: string, delayMs: number, fire: () => void): void {
    this.stopTimer(name);
    const slot = { handle: undefined as unknown };
    this.ctx.live.timers++;
    slot.handle = this.ctx.clock.setTimer(() => {
      if (this.running.get(name) !== slot) return;
      this.running.delete(name);
      this.ctx.live.timers--;
      if (this.state !== 'terminated') fire();
    }, delayMs);
    this.running.set(name, slot);
  }

  protected stopTimer(name: string): void {
    const slot = this.running.get(name);
    if (slot !== undefined) {
      this.ctx.clock.clearTimer(slot.handle);
      this.running.delete(name);
      this.ctx.live.timers--;
    }
  }

  protected transmit(message: SipMessage): void {
    let pending: Promise<void>;
    try {
      pending = this.ctx.send(message, this.remote);
    } catch (error) {
      pending = Promise.reject(error);
    }
    pending.catch((error: unknown) => {
      if (this.state !== 'terminated') this.transportFailed(error);
    });
  }

  protected abstract transportFailed(error: unknown): void;

  protected terminate(reason: TerminationReason): void {
    if (this.state === 'terminated') return;
    this.state = 'terminated';
    this.terminationReason = reason;
    for (const slot of this.running.values()) this.ctx.clock.clearTimer(slot.handle);
    this.ctx.live.timers -= this.running.size;
    this.running.clear();
    this.ctx.remove(this);
  }

  /** Timer names currently running, for inspection in tests and diagnostics. */
  get activeTimers(): string[] {
    return [...this.running.keys()].sort();
  }
}

export interface ClientTransactionHandlers {
  /** Every response the TU should see: provisionals, the final, and for INVITE each 2xx. */
  onResponse?(response: SipResponse, tx: ClientTransaction): void;
  /** Timer B or F fired: no final response arrived. */
  onTimeout?(tx: ClientTransaction): void;
  onTransportError?(error: unknown, tx: ClientTransaction): void;
}

/** INVITE client (RFC 3261 §17.1.1 with RFC 6026's Accepted state) and non-INVITE client (§17.1.2). */
export class ClientTransaction extends Transaction {
  readonly isInvite: boolean;
  private readonly handlers: ClientTransactionHandlers;
  private interval: number;

  constructor(ctx: Context, key: string, request: SipRequest, remote: Endpoint, handlers: ClientTransactionHandlers) {
    const isInvite = request.method === 'INVITE';
    super(ctx, key, request, remote, isInvite ? 'calling' : 'trying');
    this.isInvite = isInvite;
    this.handlers = handlers;
    this.interval = ctx.timers.t1;
  }

  /** Sends the request and starts the timers. */
  start(): void {
    const { t1 } = this.ctx.timers;
    this.transmit(this.request);
    if (this.isInvite) {
      if (!this.reliable) this.startTimer('A', this.interval, () => this.retransmitInvite());
      this.startTimer('B', 64 * t1, () => this.timedOut());
    } else {
      if (!this.reliable) this.startTimer('E', this.interval, () => this.retransmitNonInvite());
      this.startTimer('F', 64 * t1, () => this.timedOut());
    }
  }

  private retransmitInvite(): void {
    if (this.state !== 'calling') return;
    this.transmit(this.request);
    // Timer A doubles without the T2 cap; Timer B bounds it (§17.1.1.2).
    this.interval *= 2;
    this.startTimer('A', this.interval, () => this.retransmitInvite());
  }

  private retransmitNonInvite(): void {
    if (this.state !== 'trying' && this.state !== 'proceeding') return;
    this.transmit(this.request);
    const { t2 } = this.ctx.timers;
    this.interval = this.state === 'proceeding' ? t2 : Math.min(2 * this.interval, t2);
    this.startTimer('E', this.interval, () => this.retransmitNonInvite());
  }

  private timedOut(): void {
    this.terminate('timeout');
    this.handlers.onTimeout?.(this);
  }

  protected transportFailed(error: unknown): void {
    this.terminate('transport_error');
    this.handlers.onTransportError?.(error, this);
  }

  /**
   * Gives up on the request without telling the TU: retransmissions and timers stop, later
   * responses are strays. For a proxy that already answered upstream (its own deadline passed).
   */
  abandon(): void {
    this.terminate('timeout');
  }

  receiveResponse(response: SipResponse): void {
    if (this.isInvite) this.inviteResponse(response);
    else this.nonInviteResponse(response);
  }

  private inviteResponse(response: SipResponse): void {
    const status = response.status;
    const { t1 } = this.ctx.timers;
    switch (this.state) {
      case 'calling':
      case 'proceeding':
        if (status < 200) {
          this.state = 'proceeding';
          this.stopTimer('A');
          this.stopTimer('B');
          this.handlers.onResponse?.(response, this);
        } else if (status < 300) {
          this.state = 'accepted';
          this.stopTimer('A');
          this.stopTimer('B');
          // RFC 6026 Timer M: absorb forked/retransmitted 2xx and hand them to the TU.
          this.startTimer('M', 64 * t1, () => this.terminate('done'));
          this.handlers.onResponse?.(response, this);
        } else {
          this.state = 'completed';
          this.stopTimer('A');
          this.stopTimer('B');
          this.transmit(createAckForNon2xx(this.request, response));
          this.startTimer('D', this.reliable ? 0 : this.ctx.timers.timerD, () => this.terminate('done'));
          this.handlers.onResponse?.(response, this);
        }
        break;
      case 'accepted':
        if (status >= 200 && status < 300) this.handlers.onResponse?.(response, this);
        break;
      case 'completed':
        if (status >= 300) this.transmit(createAckForNon2xx(this.request, response));
        break;
      default:
        break;
    }
  }

  private nonInviteResponse(response: SipResponse): void {
    if (this.state !== 'trying' && this.state !== 'proceeding') return;
    if (response.status < 200) {
      this.state = 'proceeding';
      this.handlers.onResponse?.(response, this);
      return;
    }
    this.state = 'completed';
    this.stopTimer('E');
    this.stopTimer('F');
    this.startTimer('K', this.reliable ? 0 : this.ctx.timers.t4, () => this.terminate('done'));
    this.handlers.onResponse?.(response, this);
  }
}

/** INVITE server (§17.2.1 with RFC 6026's Accepted state) and non-INVITE server (§17.2.2). */
export class ServerTransaction extends Transaction {
  readonly isInvite: boolean;
  /** Set when a CANCEL matched this INVITE; the TU should then answer 487. */
  cancelled = false;
  lastResponse: SipResponse | undefined;
  private readonly events: ServerEvents;
  private interval: number;

  constructor(ctx: Context, key: string, request: SipRequest, remote: Endpoint, events: ServerEvents) {
    const isInvite = request.method === 'INVITE';
    super(ctx, key, request, remote, isInvite ? 'proceeding' : 'trying');
    this.isInvite = isInvite;
    this.events = events;
    this.interval = ctx.timers.t1;
    if (!isInvite) {
      // The client gives up after Timer F (64*T1); a TU that never answers must not leak the transaction.
      this.startTimer('guard', 64 * ctx.timers.t1, () => {
        this.terminate('timeout');
        this.events.onServerTimeout?.(this);
      });
    }
  }

  /** Sends a response from the TU through this transaction. Ignored once a final was sent. */
  respond(response: SipResponse): void {
    if (this.isInvite) this.inviteRespond(response);
    else this.nonInviteRespond(response);
  }

  /** Shorthand for `respond(createResponse(this.request, status, reason, options))`. */
  reply(status: number, reason?: string, options?: Parameters<typeof createResponse>[3]): SipResponse {
    const response = createResponse(this.request, status, reason, options);
    this.respond(response);
    return response;
  }

  private inviteRespond(response: SipResponse): void {
    const { t1, t2 } = this.ctx.timers;
    if (this.state === 'accepted' && response.status >= 200 && response.status < 300) {
      // The TU retransmits its 2xx itself (§13.3.1.4); pass those through.
      this.transmit(response);
      return;
    }
    if (this.state !== 'proceeding') return;
    this.lastResponse = response;
    this.transmit(response);
    if (response.status < 200) return;
    if (response.status < 300) {
      this.state = 'accepted';
      this.startTimer('L', 64 * t1, () => this.terminate('done'));
      return;
    }
    this.state = 'completed';
    if (!this.reliable) {
      const retransmit = (): void => {
        if (this.state !== 'completed' || !this.lastResponse) return;
        this.transmit(this.lastResponse);
        this.interval = Math.min(2 * this.interval, t2);
        this.startTimer('G', this.interval, retransmit);
      };
      this.startTimer('G', this.interval, retransmit);
    }
    this.startTimer('H', 64 * t1, () => {
      this.terminate('timeout');
      this.events.onServerTimeout?.(this);
    });
  }

  private nonInviteRespond(response: SipResponse): void {
    if (this.state !== 'trying' && this.state !== 'proceeding') return;
    this.lastResponse = response;
    this.transmit(response);
    if (response.status < 200) {
      this.state = 'proceeding';
      return;
    }
    this.state = 'completed';
    this.stopTimer('guard');
    this.startTimer('J', this.reliable ? 0 : 64 * this.ctx.timers.t1, () => this.terminate('done'));
  }

  /** A request matched this transaction: a retransmission, or the ACK of an INVITE. */
  receiveRequest(request: SipRequest, from: Endpoint = this.remote): void {
    if (request.method === 'ACK') {
      if (!this.isInvite) return;
      if (this.state === 'completed') {
        this.state = 'confirmed';
        this.stopTimer('G');
        this.stopTimer('H');
        this.startTimer('I', this.reliable ? 0 : this.ctx.timers.t4, () => this.terminate('done'));
      } else if (this.state === 'accepted') {
        this.events.onAck?.(request, this, from);
      }
      return;
    }
    if (this.state === 'proceeding' || this.state === 'completed') {
      if (this.lastResponse) this.transmit(this.lastResponse);
    }
  }

  protected transportFailed(error: unknown): void {
    this.terminate('transport_error');
    this.events.onTransportError?.(error, this);
  }
}

interface ServerEvents {
  onServerTimeout?(tx: ServerTransaction): void;
  onAck?(ack: SipRequest, tx: ServerTransaction, from: Endpoint): void;
  onTransportError?(error: unknown, tx: ServerTransaction): void;
}

export interface TransactionLayerOptions {
  /** Transports to send and receive through; responses and requests pick one by Endpoint.transport. */
  transports?: SipTransport[];
  /** Used instead of transports when given: how to put a message on the wire. */
  send?: (message: SipMessage, to: Endpoint) => Promise<void>;
  clock?: Clock;
  timers?: Partial<TimerValues>;
  /** Send 100 Trying as soon as an INVITE server transaction is created. Default true. */
  autoTrying?: boolean;
  /**
   * Server transactions held at once before new requests are refused: beyond it a request gets
   * `503 Service Unavailable` with `Retry-After` statelessly (RFC 3261 §21.5.4), and no
   * transaction, so a flood cannot grow memory. ACK and CANCEL are never refused. Keep it above
   * what `refuse` lets in: it refuses requests within a dialog too (a BYE), which `refuse` never
   * sees. Default: no limit.
   */
  maxServerTransactions?: number;
  /** Seconds in the Retry-After of those 503s. Default 5. */
  overloadRetryAfterSeconds?: number;
  /**
   * Asked for each new request that would open a server transaction outside a dialog (not ACK,
   * not CANCEL, no To tag, not a retransmission): a number refuses it with a stateless `503` whose `Retry-After` is that many
   * seconds, like `maxServerTransactions` does. For a TU's own overload bounds (held calls,
   * event-loop lag); it runs before any transaction exists, so it must be cheap.
   */
  refuse?(request: SipRequest, from: Endpoint): number | undefined;
  /**
   * Refused requests remembered so that their retransmissions and the ACK of their 503 are
   * absorbed without reaching the TU (a retransmitted request gets the 503 again). Default 10 000;
   * at most twice this many keys are held, each for 64*T1 to 128*T1.
   */
  maxRefusedRemembered?: number;
  /**
   * A request was refused with 503: `limit` when maxServerTransactions was reached, `refused`
   * when the `refuse` callback said so.
   */
  onOverload?(request: SipRequest, from: Endpoint, cause: 'limit' | 'refused'): void;
  /** A new request with its server transaction; `tx` is null for an ACK that matched none (2xx ACK). */
  onRequest(request: SipRequest, tx: ServerTransaction | null, from: Endpoint): void | Promise<void>;
  /** A CANCEL matched a pending INVITE; the CANCEL has been answered 200, the INVITE still needs its 487. */
  onCancel?(invite: ServerTransaction, cancel: SipRequest): void;
  /**
   * An ACK for a 2xx that reused the INVITE's branch reached its server transaction in the
   * Accepted state (RFC 6026). Without this callback it goes to onRequest with a null tx, like
   * every other ACK for a 2xx.
   */
  onAck?(ack: SipRequest, tx: ServerTransaction): void;
  /** A response that matched no client transaction (e.g. a 2xx retransmission after Timer M). */
  onStrayResponse?(response: SipResponse, from: Endpoint): void;
  /** Timer H fired (the ACK for an INVITE failure never came), or a non-INVITE request went unanswered for 64*T1. */
  onServerTimeout?(tx: ServerTransaction): void;
  onTransportError?(error: unknown, tx: ServerTransaction): void;
  /** A callback above threw while handling `message`; the layer carries on. */
  onError?(error: unknown, message: SipMessage): void;
}

/**
 * Matches incoming messages to transactions (RFC 3261 §17.1.3, §17.2.3), creates server
 * transactions for new requests, answers CANCEL, and runs client transactions for sent requests.
 */
export class TransactionLayer {
  readonly timers: TimerValues;
  private readonly clock: Clock;
  private readonly options: TransactionLayerOptions;
  private readonly servers = new Map<string, ServerTransaction>();
  private readonly clients = new Map<string, ClientTransaction>();
  private readonly ctx: Context;
  private readonly transportByProtocol = new Map<string, SipTransport>();
  private readonly live = { timers: 0 };
  private readonly refused: RefusedKeys;

  constructor(options: TransactionLayerOptions) {
    this.options = options;
    this.clock = options.clock ?? systemClock;
    this.timers = { ...DEFAULT_TIMERS, ...options.timers };
    this.refused = new RefusedKeys(64 * this.timers.t1, options.maxRefusedRemembered ?? 10_000);
    for (const transport of options.transports ?? []) {
      this.transportByProtocol.set(transport.protocol, transport);
      transport.onMessage((message, from) => this.receive(message, from));
    }
    this.ctx = {
      clock: this.clock,
      timers: this.timers,
      live: this.live,
      send: (message, to) => this.sendRaw(message, to),
      remove: (tx) => {
        if (tx instanceof ServerTransaction) {
          if (this.servers.get(tx.key) === tx) this.servers.delete(tx.key);
        } else if (this.clients.get(tx.key) === tx) this.clients.delete(tx.key);
      },
    };
  }

  /** Sends a message outside any transaction: ACK for 2xx, stateless forwarding. */
  sendRaw(message: SipMessage, to: Endpoint): Promise<void> {
    if (this.options.send) return this.options.send(message, to);
    const transport = this.transportByProtocol.get(to.transport);
    if (!transport) return Promise.reject(new Error(`no ${to.transport} transport configured`));
    return transport.send(message, to);
  }

  get serverTransactionCount(): number {
    return this.servers.size;
  }

  get clientTransactionCount(): number {
    return this.clients.size;
  }

  /** Transaction timers (A-M, and the guard of unanswered non-INVITE requests) running now. */
  get timerCount(): number {
    return this.live.timers;
  }

  /**
   * Starts a client transaction. The request must carry its own top Via with a z9hG4bK branch
   * (createRequest adds one).
   */
  sendRequest(request: SipRequest, to: Endpoint, handlers: ClientTransactionHandlers = {}): ClientTransaction {
    if (request.method === 'ACK') throw new Error('ACK is not sent in a client transaction; use sendRaw');
    if (!/;\s*branch\s*=\s*z9hG4bK/i.test(getHeader(request, 'Via') ?? '')) {
      throw new Error('request needs a top Via with a z9hG4bK branch (createRequest adds one)');
    }
    const key = clientKey(request);
    const tx = new ClientTransaction(this.ctx, key, request, to, handlers);
    this.clients.set(key, tx);
    tx.start();
    return tx;
  }

  /** Feeds one received message in; transports given to the constructor are wired already. */
  receive(message: SipMessage, from: Endpoint): void {
    try {
      if (message.kind === 'response') this.receiveResponse(message, from);
      else this.receiveRequest(message, from);
    } catch (error) {
      // One bad message or one failing callback must not take the stack down with it.
      this.options.onError?.(error, message);
    }
  }

  private receiveResponse(response: SipResponse, from: Endpoint): void {
    const tx = this.clients.get(clientKey(response));
    if (tx) tx.receiveResponse(response);
    else this.options.onStrayResponse?.(response, from);
  }

  private receiveRequest(request: SipRequest, from: Endpoint): void {
    const key = serverKey(request);
    const existing = this.servers.get(key);
    if (existing) {
      existing.receiveRequest(request, from);
      return;
    }
    const refused = this.refused.size > 0 ? this.refused.seen(key, this.clock.now()) : undefined;
    if (refused !== undefined) {
      // A retransmission of a refused request, or the ACK of its 503: no new work.
      if (request.method !== 'ACK') this.sendRefusal(request, from, refused);
      return;
    }
    if (request.method === 'ACK') {
      this.deliver(request, null, from);
      return;
    }
    if (request.method !== 'CANCEL') {
      const limit = this.options.maxServerTransactions;
      const full = limit !== undefined && this.servers.size >= limit;
      // The TU's load bounds never apply within a dialog (BYE, re-INVITE, INFO...): those go on
      // with what was admitted, and a BYE is what frees it. The memory bound applies to all, as a
      // To tag is easy to forge; keep it above what the TU's bounds let in.
      const retryAfter = full
        ? (this.options.overloadRetryAfterSeconds ?? 5)
        : withinDialog(request)
          ? undefined
          : this.options.refuse?.(request, from);
      if (retryAfter !== undefined) {
        this.refused.add(key, retryAfter, this.clock.now());
        this.sendRefusal(request, from, retryAfter);
        this.options.onOverload?.(request, from, full ? 'limit' : 'refused');
        return;
      }
    }
    const events: ServerEvents = {
      onServerTimeout: (t) => this.options.onServerTimeout?.(t),
      onAck: (ack, t, source) => (this.options.onAck ? this.options.onAck(ack, t) : this.deliver(ack, null, source)),
      onTransportError: (e, t) => this.options.onTransportError?.(e, t),
    };
    const tx = new ServerTransaction(this.ctx, key, request, responseEndpoint(request, from), events);
    this.servers.set(key, tx);
    if (request.method === 'CANCEL') {
      const invite = this.servers.get(serverKey(request, 'INVITE'));
      if (!invite) {
        tx.reply(481);
        return;
      }
      tx.reply(200);
      if (invite.state === 'proceeding' && !invite.cancelled) {
        invite.cancelled = true;
        this.options.onCancel?.(invite, request);
      }
      return;
    }
    if (tx.isInvite && this.options.autoTrying !== false) tx.reply(100);
    this.deliver(request, tx, from);
  }

  /** RFC 3261 §21.5.4: a stateless 503 with Retry-After. */
  private sendRefusal(request: SipRequest, from: Endpoint, retryAfterSeconds: number): void {
    const refusal = createResponse(request, 503, undefined, {
      headers: [{ name: 'Retry-After', value: String(retryAfterSeconds) }],
    });
    this.sendRaw(refusal, responseEndpoint(request, from)).catch(() => {});
  }

  /** Keys of requests refused lately, held by the refused-request memory. */
  get refusedCount(): number {
    return this.refused.heldAt(this.clock.now());
  }

  private deliver(request: SipRequest, tx: ServerTransaction | null, from: Endpoint): void {
    const result = this.options.onRequest(request, tx, from);
    // An async handler's rejection must not become an unhandled rejection.
    if (result) result.catch((error: unknown) => this.options.onError?.(error, request));
  }

  /** Finds the pending server transaction of an INVITE, e.g. to answer it after a push. */
  findServerTransaction(request: SipRequest): ServerTransaction | undefined {
    return this.servers.get(serverKey(request));
  }
}

/**
 * Two generations of keys, swapped when the newer one is older than `spanMs` or full: a key
 * lives between one and two spans, memory stays bounded, and no timer runs.
 */
class RefusedKeys {
  private current = new Map<string, number>();
  private previous = new Map<string, number>();
  private since = 0;

  constructor(
    private readonly spanMs: number,
    private readonly cap: number,
  ) {}

  get size(): number {
    return this.current.size + this.previous.size;
  }

  /** Keys still held at `now` (stale generations are dropped first). */
  heldAt(now: number): number {
    this.rotate(now);
    return this.size;
  }

  add(key: string, retryAfter: number, now: number): void {
    this.rotate(now);
    if (this.current.size >= this.cap) this.swap(now);
    this.current.set(key, retryAfter);
  }

  /** The Retry-After the key was refused with, if it was refused lately. */
  seen(key: string, now: number): number | undefined {
    this.rotate(now);
    return this.current.get(key) ?? this.previous.get(key);
  }

  private rotate(now: number): void {
    if (now - this.since < this.spanMs) return;
    // Two spans without a refusal: both generations are stale.
    if (now - this.since >= 2 * this.spanMs) this.previous = new Map();
    else this.previous = this.current;
    this.current = new Map();
    this.since = now;
  }

  private swap(now: number): void {
    this.previous = this.current;
    this.current = new Map();
    this.since = now;
  }
}

/** §17.1.3: branch of the top Via plus the CSeq method. */
function clientKey(message: SipMessage): string {
  const via = parseVia(getHeader(message, 'Via') ?? '');
  const method = parseCSeq(getHeader(message, 'CSeq') ?? '').method;
  return `${via.params['branch'] ?? ''}|${method}`;
}

/**
 * §17.2.3: branch + sent-by + method, with ACK matching its INVITE. Requests from RFC 2543
 * clients (no magic cookie) fall back to the dialog identifiers and the whole top Via.
 */
function serverKey(request: SipRequest, methodOverride?: string): string {
  const topVia = getHeader(request, 'Via') ?? '';
  const via = parseVia(topVia);
  const method = methodOverride ?? (request.method === 'ACK' ? 'INVITE' : request.method);
  const branch = via.params['branch'];
  if (branch && branch.startsWith(BRANCH_COOKIE)) {
    return `${branch}|${via.host.toLowerCase()}:${via.port ?? ''}|${method}`;
  }
  const cseq = parseCSeq(getHeader(request, 'CSeq') ?? '');
  const fromTag = parseNameAddr(getHeader(request, 'From') ?? '').params['tag'] ?? '';
  return `2543|${request.uri}|${getHeader(request, 'Call-ID')}|${fromTag}|${cseq.seq}|${topVia}|${method}`;
}

/** A To tag: the request belongs to a dialog. Cheap, as it runs before any transaction exists. */
function withinDialog(request: SipRequest): boolean {
  const to = getHeader(request, 'To');
  return to !== undefined && /;\s*tag\s*=/i.test(to);
}
