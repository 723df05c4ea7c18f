import {
  createAckFor2xx,
  createRequest,
  createTcpTransport,
  createUdpTransport,
  digestClientAuthorization,
  formatUri,
  generateCallId,
  generateTag,
  getCSeq,
  getContacts,
  getHeader,
  getHeaders,
  parseNameAddr,
  parseUri,
  TransactionLayer,
  type Endpoint,
  type ServerTransaction,
  type SipHeader,
  type SipRequest,
  type SipResponse,
  type SipTransport,
} from '@pushrelay/sip';

export interface SipUaOptions {
  user: string;
  password: string;
  /** Domain of the address of record `sip:user@domain`, and of the REGISTER Request-URI. */
  domain: string;
  /** Where out-of-dialog requests go: the bridge or the registrar itself (an outbound proxy). */
  outbound: Endpoint;
  transport?: 'udp' | 'tcp';
  displayName?: string;
  /** Put `Route: <outbound;lr>` on out-of-dialog requests, as phones with an outbound proxy do. */
  routeThroughOutbound?: boolean;
  /** Answer incoming INVITEs at once with 180 + 200. Default true. */
  autoAnswer?: boolean;
}

export interface RegisterOptions {
  expires?: number;
  /** Appended inside `<...>` of the Contact: `;pn-provider=...`. */
  contactParams?: string;
  /** Appended after `>` of the Contact: `;+sip.instance="<urn:...>"`. */
  headerParams?: string;
  headers?: SipHeader[];
  /** Answer the challenge with this password instead of the right one. */
  password?: string;
  /** `*` for a wildcard unregister. */
  contact?: string;
}

/** One INVITE dialog, either side; BYE in either direction. */
export class Dialog {
  private localSeq: number;
  private endedBy?: SipRequest;
  private remoteBye?: SipRequest;
  private endWaiters: Array<(bye: SipRequest) => void> = [];
  private ackWaiters: Array<(ack: SipRequest) => void> = [];
  ack?: SipRequest;

  constructor(
    private readonly ua: SipUa,
    readonly callId: string,
    readonly localTag: string,
    readonly remoteTag: string,
    readonly localUri: string,
    readonly remoteUri: string,
    readonly remoteTarget: string,
    /** Route set in the order requests use it. */
    readonly routes: string[],
    localSeq: number,
  ) {
    this.localSeq = localSeq;
  }

  get ended(): boolean {
    return this.endedBy !== undefined;
  }

  /** Sends BYE along the route set; resolves with the final response. */
  bye(): Promise<SipResponse> {
    const request = createRequest({
      method: 'BYE',
      uri: this.remoteTarget,
      from: `${this.localUri};tag=${this.localTag}`,
      to: `${this.remoteUri};tag=${this.remoteTag}`,
      callId: this.callId,
      cseq: ++this.localSeq,
      via: this.ua.via(),
      headers: this.routes.map((value) => ({ name: 'Route', value })),
    });
    this.endedBy = request;
    return this.ua.send(request, this.ua.destinationOf(this.routes, this.remoteTarget));
  }

  /** Resolves with the remote party's BYE. */
  waitForBye(timeoutMs = 5000): Promise<SipRequest> {
    if (this.remoteBye) return Promise.resolve(this.remoteBye);
    return withTimeout(new Promise((resolve) => this.endWaiters.push(resolve)), timeoutMs, 'no BYE');
  }

  /** Resolves with the ACK of our 2xx (UAS side). */
  waitForAck(timeoutMs = 5000): Promise<SipRequest> {
    if (this.ack) return Promise.resolve(this.ack);
    return withTimeout(new Promise((resolve) => this.ackWaiters.push(resolve)), timeoutMs, 'no ACK');
  }

  /** @internal */
  receivedBye(bye: SipRequest): void {
    this.remoteBye = bye;
    this.endedBy = bye;
    for (const waiter of this.endWaiters.splice(0)) waiter(bye);
  }

  /** @internal */
  receivedAck(ack: SipRequest): void {
    this.ack = ack;
    for (const waiter of this.ackWaiters.splice(0)) waiter(ack);
  }
}

/** An INVITE that reached this UA. */
export class IncomingCall {
  dialog?: Dialog;

  constructor(
    private readonly ua: SipUa,
    readonly request: SipRequest,
    readonly tx: ServerTransaction,
  ) {}

  /** 180 then 200 with our Contact; the dialog then waits for the ACK. */
  answer(): Dialog {
    const toTag = generateTag();
    this.tx.reply(180, 'Ringing', { toTag });
    const from = parseNameAddr(getHeader(this.request, 'From') ?? '');
    const to = getHeader(this.request, 'To') ?? '';
    const routes = getHeaders(this.request, 'Record-Route');
    const contacts = getContacts(this.request);
    const remoteTarget = contacts !== '*' && contacts[0] ? formatUri(contacts[0].uri) : this.request.uri;
    this.dialog = new Dialog(
      this.ua,
      getHeader(this.request, 'Call-ID') ?? '',
      toTag,
      from.params['tag'] ?? '',
      uriOnly(to),
      uriOnly(getHeader(this.request, 'From') ?? ''),
      remoteTarget,
      routes,
      0,
    );
    this.ua.dialogs.set(dialogKey(this.dialog.callId, toTag), this.dialog);
    this.tx.reply(200, 'OK', { toTag, headers: [{ name: 'Contact', value: `<${this.ua.contactUri()}>` }] });
    return this.dialog;
  }

  reject(status: number): void {
    this.tx.reply(status);
  }
}

export interface CallResult {
  response: SipResponse;
  /** Provisional responses seen, in order. */
  provisionals: number[];
  /** The INVITE as finally sent (with credentials when challenged). */
  invite: SipRequest;
  dialog?: Dialog;
}

/** A SIP user agent for tests: registers with digest, calls and answers, BYE in both directions. */
export class SipUa {
  readonly received: SipRequest[] = [];
  /** Every 401/407 this UA answered, in order. */
  readonly challenges: SipResponse[] = [];
  readonly dialogs = new Map<string, Dialog>();
  private readonly incoming: IncomingCall[] = [];
  private incomingWaiters: Array<(call: IncomingCall) => void> = [];
  private readonly registerCallId = generateCallId('127.0.0.1');
  private cseq = 1;
  private closed = false;

  private constructor(
    readonly options: SipUaOptions,
    private readonly transport: SipTransport,
    readonly layer: TransactionLayer,
  ) {}

  static async start(options: SipUaOptions): Promise<SipUa> {
    const transport =
      options.transport === 'tcp'
        ? await createTcpTransport({ host: '127.0.0.1', port: 0 })
        : await createUdpTransport({ host: '127.0.0.1', port: 0 });
    const box: { ua?: SipUa } = {};
    const layer = new TransactionLayer({
      transports: [transport],
      onRequest: (request, tx) => box.ua!.onRequest(request, tx),
      onCancel: (invite, cancel) => {
        box.ua!.received.push(cancel);
        invite.reply(487);
      },
    });
    box.ua = new SipUa(options, transport, layer);
    return box.ua;
  }

  get port(): number {
    return this.transport.local.port;
  }

  get protocol(): 'udp' | 'tcp' {
    return this.options.transport ?? 'udp';
  }

  get aor(): string {
    return `sip:${this.options.user}@${this.options.domain}`;
  }

  contactUri(params = ''): string {
    const transport = this.protocol === 'tcp' ? ';transport=tcp' : '';
    return `sip:${this.options.user}@127.0.0.1:${this.port}${transport}${params}`;
  }

  via(): { transport: string; host: string; port: number } {
    return { transport: this.protocol.toUpperCase(), host: '127.0.0.1', port: this.port };
  }

  invites(): SipRequest[] {
    return this.received.filter((r) => r.method === 'INVITE');
  }

  /** REGISTER (answering one 401/407 challenge); resolves with the final response. */
  async register(options: RegisterOptions = {}): Promise<SipResponse> {
    const build = (auth?: SipHeader): SipRequest => {
      const headers: SipHeader[] = [...(options.headers ?? [])];
      headers.push({ name: 'Expires', value: String(options.expires ?? 3600) });
      if (auth) headers.push(auth);
      return createRequest({
        method: 'REGISTER',
        uri: `sip:${this.options.domain}`,
        from: `<${this.aor}>`,
        to: `<${this.aor}>`,
        callId: this.registerCallId,
        cseq: this.cseq++,
        via: this.via(),
        contact: options.contact ?? `<${this.contactUri(options.contactParams ?? '')}>${options.headerParams ?? ''}`,
        headers: [...this.outboundRoute(), ...headers],
      });
    };
    const first = await this.send(build());
    const auth = this.answerChallenge(first, 'REGISTER', `sip:${this.options.domain}`, options.password);
    if (!auth) return first;
    return this.send(build(auth));
  }

  unregister(options: RegisterOptions = {}): Promise<SipResponse> {
    return this.register({ ...options, expires: 0 });
  }

  /** INVITE to a user (`bob`) or a URI; answers one 407/401, ACKs a 2xx. */
  async call(target: string, options: { headers?: SipHeader[]; body?: string } = {}): Promise<CallResult> {
    const uri = target.includes(':') ? target : `sip:${target}@${this.options.domain}`;
    const callId = generateCallId('127.0.0.1');
    const fromTag = generateTag();
    const provisionals: number[] = [];
    let cseq = 1;
    const build = (auth?: SipHeader): SipRequest =>
      createRequest({
        method: 'INVITE',
        uri,
        from: `${this.displayName()}<${this.aor}>;tag=${fromTag}`,
        to: `<${uri}>`,
        callId,
        cseq: cseq++,
        via: this.via(),
        contact: `<${this.contactUri()}>`,
        headers: [...this.outboundRoute(), ...(options.headers ?? []), ...(auth ? [auth] : [])],
        body: options.body ?? SDP,
        contentType: 'application/sdp',
      });
    let invite = build();
    let response = await this.send(invite, this.options.outbound, (r) => provisionals.push(r.status));
    const auth = this.answerChallenge(response, 'INVITE', uri);
    if (auth) {
      invite = build(auth);
      response = await this.send(invite, this.options.outbound, (r) => provisionals.push(r.status));
    }
    const result: CallResult = { response, provisionals, invite };
    if (response.status >= 200 && response.status < 300) {
      const routes = getHeaders(response, 'Record-Route').reverse();
      const contacts = getContacts(response);
      const remoteTarget = contacts !== '*' && contacts[0] ? formatUri(contacts[0].uri) : uri;
      const ack = createAckFor2xx(invite, response, this.via());
      await this.layer.sendRaw(ack, this.destinationOf(routes, remoteTarget));
      const toTag = parseNameAddr(getHeader(response, 'To') ?? '').params['tag'] ?? '';
      result.dialog = new Dialog(
        this,
        callId,
        fromTag,
        toTag,
        `<${this.aor}>`,
        `<${uri}>`,
        remoteTarget,
        routes,
        getCSeq(invite).seq,
      );
      this.dialogs.set(dialogKey(callId, fromTag), result.dialog);
    }
    return result;
  }

  /** An out-of-dialog MESSAGE; answers one 407/401. */
  async message(target: string, text: string): Promise<SipResponse> {
    const uri = target.includes(':') ? target : `sip:${target}@${this.options.domain}`;
    const callId = generateCallId('127.0.0.1');
    const fromTag = generateTag();
    let cseq = 1;
    const build = (auth?: SipHeader): SipRequest =>
      createRequest({
        method: 'MESSAGE',
        uri,
        from: `<${this.aor}>;tag=${fromTag}`,
        to: `<${uri}>`,
        callId,
        cseq: cseq++,
        via: this.via(),
        headers: [...this.outboundRoute(), ...(auth ? [auth] : [])],
        body: text,
        contentType: 'text/plain',
      });
    const first = await this.send(build());
    const auth = this.answerChallenge(first, 'MESSAGE', uri);
    return auth ? this.send(build(auth)) : first;
  }

  /** The next INVITE that arrived or arrives (auto-answered unless autoAnswer is false). */
  nextCall(timeoutMs = 5000): Promise<IncomingCall> {
    const waiting = this.incoming.shift();
    if (waiting) return Promise.resolve(waiting);
    return withTimeout(
      new Promise<IncomingCall>((resolve) => this.incomingWaiters.push(resolve)),
      timeoutMs,
      `no INVITE reached ${this.options.user}`,
    );
  }

  send(request: SipRequest, to: Endpoint = this.options.outbound, onProvisional?: (r: SipResponse) => void) {
    return new Promise<SipResponse>((resolve, reject) => {
      this.layer.sendRequest(request, to, {
        onResponse: (response) => (response.status >= 200 ? resolve(response) : onProvisional?.(response)),
        onTimeout: () => reject(new Error(`${request.method} from ${this.options.user} timed out`)),
        onTransportError: (error) => reject(error as Error),
      });
    });
  }

  /** Where a request with this route set and target goes: the first Route, else the target. */
  destinationOf(routes: string[], target: string): Endpoint {
    const next = parseUri(routes.length > 0 ? stripAngle(routes[0]!) : target);
    const transport = (next.params['transport'] ?? this.protocol).toLowerCase() === 'tcp' ? 'tcp' : 'udp';
    if (transport !== this.protocol) return { ...this.options.outbound };
    return { transport, address: next.host, port: next.port ?? 5060 };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.transport.close();
  }

  private displayName(): string {
    return this.options.displayName ? `"${this.options.displayName}" ` : '';
  }

  private outboundRoute(): SipHeader[] {
    if (!this.options.routeThroughOutbound) return [];
    const { address, port, transport } = this.options.outbound;
    const param = transport === 'tcp' ? ';transport=tcp' : '';
    return [{ name: 'Route', value: `<sip:${address}:${port}${param};lr>` }];
  }

  private answerChallenge(
    response: SipResponse,
    method: string,
    uri: string,
    password = this.options.password,
  ): SipHeader | undefined {
    if (response.status !== 401 && response.status !== 407) return undefined;
    this.challenges.push(response);
    const header = response.status === 401 ? 'WWW-Authenticate' : 'Proxy-Authenticate';
    const challenges = getHeaders(response, header);
    const challenge = challenges.find((c) => /algorithm=MD5/i.test(c) || !/algorithm=/i.test(c)) ?? challenges[0];
    if (!challenge) return undefined;
    const value = digestClientAuthorization({ challenge, method, uri, username: this.options.user, password });
    return { name: response.status === 401 ? 'Authorization' : 'Proxy-Authorization', value };
  }

  private onRequest(request: SipRequest, tx: ServerTransaction | null): void {
    this.received.push(request);
    const toTag = parseNameAddrSafe(getHeader(request, 'To'))?.params['tag'] ?? undefined;
    const callId = getHeader(request, 'Call-ID') ?? '';
    const dialog = toTag ? this.dialogs.get(dialogKey(callId, toTag)) : undefined;
    if (request.method === 'ACK') {
      dialog?.receivedAck(request);
      return;
    }
    if (!tx) return;
    if (request.method === 'INVITE' && !toTag) {
      const call = new IncomingCall(this, request, tx);
      if (this.options.autoAnswer ?? true) call.answer();
      const waiter = this.incomingWaiters.shift();
      if (waiter) waiter(call);
      else this.incoming.push(call);
      return;
    }
    if (request.method === 'BYE') {
      if (!dialog) {
        tx.reply(481);
        return;
      }
      tx.reply(200);
      dialog.receivedBye(request);
      return;
    }
    tx.reply(200);
  }
}

/** A minimal audio offer, so INVITEs look like calls. */
export const SDP = [
  'v=0',
  'o=- 1 1 IN IP4 127.0.0.1',
  's=-',
  'c=IN IP4 127.0.0.1',
  't=0 0',
  'm=audio 40000 RTP/AVP 0',
  'a=rtpmap:0 PCMU/8000',
  '',
].join('\r\n');

function dialogKey(callId: string, localTag: string): string {
  return `${callId}\n${localTag}`;
}

function stripAngle(value: string): string {
  const m = /<([^>]*)>/.exec(value);
  return m ? m[1]! : value.trim();
}

/** `"x" <sip:a@b>;tag=1` → `<sip:a@b>`. */
function uriOnly(nameAddr: string): string {
  return `<${stripAngle(nameAddr)}>`;
}

function parseNameAddrSafe(value: string | undefined): ReturnType<typeof parseNameAddr> | undefined {
  if (value === undefined) return undefined;
  try {
    return parseNameAddr(value);
  } catch {
    return undefined;
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms))),
  ]);
}
