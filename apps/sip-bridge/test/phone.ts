import {
  createRequest,
  createTlsTransport,
  createUdpTransport,
  digestClientAuthorization,
  generateBranch,
  generateCallId,
  getCSeq,
  getHeaders,
  getTopVia,
  formatVia,
  setHeader,
  TransactionLayer,
  type Endpoint,
  type ServerTransaction,
  type SipRequest,
  type SipResponse,
  type SipTransport,
} from '@pushrelay/sip';

/** The user the test callers call as: its number is the From of inviteRequest. */
export const CALLER = { username: '+15551234567', password: 'caller-secret' } as const;

/** A tiny SIP user agent over UDP for in-process tests: registers, calls, answers. */
export class TestPhone {
  /** Answers the bridge's 407 (and a 401) to requests other than REGISTER with these. */
  credentials: { username: string; password: string } | undefined;
  readonly received: SipRequest[] = [];
  /** How incoming INVITEs are answered; default 180 then 200. */
  answer: (invite: SipRequest, tx: ServerTransaction) => void = (invite, tx) => {
    tx.reply(180);
    tx.reply(200, 'OK', {
      headers: [{ name: 'Contact', value: `<sip:phone@127.0.0.1:${this.port}${this.uriParams}>` }],
    });
  };
  private cseq = 1;
  private readonly callId = generateCallId('127.0.0.1');

  private constructor(
    private readonly transport: SipTransport,
    readonly layer: TransactionLayer,
    readonly bridge: Endpoint,
  ) {}

  /**
   * A phone on UDP, or on TLS with `tls` (its own certificate, and the CA it trusts the bridge's
   * certificate by); `bridgePort` is then the bridge's TLS port.
   */
  static async start(bridgePort: number, tls?: { key: string; cert: string; ca: string }): Promise<TestPhone> {
    const transport = tls
      ? await createTlsTransport({
          host: '127.0.0.1',
          port: 0,
          server: { key: tls.key, cert: tls.cert },
          client: { ca: tls.ca },
        })
      : await createUdpTransport({ host: '127.0.0.1', port: 0 });
    const box: { phone?: TestPhone } = {};
    const layer = new TransactionLayer({
      transports: [transport],
      onRequest: (request, tx) => {
        box.phone!.received.push(request);
        if (request.method === 'INVITE' && tx) box.phone!.answer(request, tx);
        else if (tx) tx.reply(200);
      },
      onCancel: (invite, cancel) => {
        box.phone!.received.push(cancel);
        invite.reply(487);
      },
    });
    box.phone = new TestPhone(transport, layer, {
      transport: transport.protocol,
      address: '127.0.0.1',
      port: bridgePort,
    });
    return box.phone;
  }

  get port(): number {
    return this.transport.local.port;
  }

  /** `;transport=tls` in the URIs of a TLS phone. */
  get uriParams(): string {
    return this.transport.protocol === 'tls' ? ';transport=tls' : '';
  }

  private get viaTransport(): string {
    return this.transport.protocol.toUpperCase();
  }

  invites(): SipRequest[] {
    return this.received.filter((r) => r.method === 'INVITE');
  }

  /** Calls as CALLER, answering the bridge's 407 with its password. */
  asCaller(): this {
    this.credentials = { ...CALLER };
    return this;
  }

  /**
   * Sends and resolves with the final response. With `credentials`, a 401/407 to a request other
   * than REGISTER is answered once: the request object itself becomes the retry (new branch,
   * next CSeq, the authorization), so a CANCEL or ACK built from it later matches what was sent.
   */
  send(request: SipRequest, onProvisional?: (r: SipResponse) => void): Promise<SipResponse> {
    return new Promise((resolve, reject) => {
      let retried = false;
      const attempt = (): void => {
        this.layer.sendRequest(request, this.bridge, {
          onResponse: (response) => {
            if (response.status < 200) return onProvisional?.(response);
            const challenged = response.status === 401 || response.status === 407;
            if (challenged && this.credentials && !retried && request.method !== 'REGISTER') {
              retried = true;
              this.authorize(request, response);
              attempt();
              return;
            }
            resolve(response);
          },
          onTimeout: () => reject(new Error(`${request.method} timed out`)),
          onTransportError: (error) => reject(error as Error),
        });
      };
      attempt();
    });
  }

  private authorize(request: SipRequest, challenge: SipResponse): void {
    const proxy = challenge.status === 407;
    const value = getHeaders(challenge, proxy ? 'Proxy-Authenticate' : 'WWW-Authenticate').find((c) =>
      c.includes('SHA-256'),
    );
    if (!value || !this.credentials) throw new Error('no SHA-256 challenge');
    const via = getTopVia(request);
    via.params['branch'] = generateBranch();
    setHeader(request, 'Via', formatVia(via));
    const cseq = getCSeq(request);
    setHeader(request, 'CSeq', `${cseq.seq + 1} ${cseq.method}`);
    request.headers.push({
      name: proxy ? 'Proxy-Authorization' : 'Authorization',
      value: digestClientAuthorization({
        challenge: value,
        method: request.method,
        uri: request.uri,
        ...this.credentials,
      }),
    });
  }

  registerRequest(
    user: string,
    options: {
      contactParams?: string;
      headerParams?: string;
      headers?: { name: string; value: string }[];
      expires?: number;
      authorization?: string;
    },
  ): SipRequest {
    const headers = [...(options.headers ?? []), { name: 'Expires', value: String(options.expires ?? 3600) }];
    if (options.authorization) headers.push({ name: 'Authorization', value: options.authorization });
    return createRequest({
      method: 'REGISTER',
      uri: `sip:127.0.0.1:${this.bridge.port}`,
      from: `<sip:${user}@127.0.0.1>`,
      to: `<sip:${user}@127.0.0.1>`,
      callId: this.callId,
      cseq: this.cseq++,
      via: { transport: this.viaTransport, host: '127.0.0.1', port: this.port },
      contact: `<sip:${user}@127.0.0.1:${this.port}${this.uriParams}${options.contactParams ?? ''}>${options.headerParams ?? ''}`,
      headers,
    });
  }

  /** REGISTER, answer the challenge with the given algorithm, return the final response. */
  async register(
    user: string,
    password: string,
    options: {
      contactParams?: string;
      headerParams?: string;
      headers?: { name: string; value: string }[];
      expires?: number;
      algorithm?: 'SHA-256' | 'MD5';
    } = {},
  ): Promise<SipResponse> {
    const first = await this.send(this.registerRequest(user, options));
    if (first.status !== 401) return first;
    const algorithm = options.algorithm ?? 'SHA-256';
    const challenge = getHeaders(first, 'WWW-Authenticate').find((c) => c.includes(`algorithm=${algorithm}`));
    if (!challenge) throw new Error(`no ${algorithm} challenge`);
    const uri = `sip:127.0.0.1:${this.bridge.port}`;
    const authorization = digestClientAuthorization({ challenge, method: 'REGISTER', uri, username: user, password });
    return this.send(this.registerRequest(user, { ...options, authorization }));
  }

  inviteRequest(callee: string, callId = generateCallId('127.0.0.1')): SipRequest {
    return createRequest({
      method: 'INVITE',
      uri: `sip:${callee}@127.0.0.1:${this.bridge.port}`,
      from: `"Bob Caller" <sip:+15551234567@127.0.0.1:${this.port}>`,
      to: `<sip:${callee}@127.0.0.1:${this.bridge.port}>`,
      callId,
      via: { transport: this.viaTransport, host: '127.0.0.1', port: this.port },
      contact: `<sip:+15551234567@127.0.0.1:${this.port}${this.uriParams}>`,
    });
  }

  async close(): Promise<void> {
    await this.transport.close();
  }
}
