import { createHash } from 'node:crypto';
import {
  createCancel,
  digestClientAuthorization,
  getCSeq,
  getFrom,
  getHeader,
  getHeaders,
  parseAuthHeader,
  parseNameAddr,
  parseUri,
  prepareForward,
  removeFirstHeader,
  setHeader,
  type ClientTransaction,
  type Endpoint,
  type ServerTransaction,
  type SipRequest,
  type SipResponse,
  type TransactionLayer,
  type TransportProtocol,
} from '@pushrelay/sip';
import type { TrunkConfig } from './config.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import {
  addRecordRoutes,
  localPort,
  loopBranch,
  recordRoutes,
  withoutOwnRoutes,
  type LocalAddress,
} from './routing.js';

/** Out-of-dialog requests that make a dialog: record-routed, so the dialog keeps passing here. */
const DIALOG_METHODS = new Set(['INVITE', 'SUBSCRIBE', 'REFER']);

/** The trunk with the address it was resolved to at start. */
export type ResolvedTrunk = TrunkConfig & { address: string };

interface TrunkRequest {
  tx: ServerTransaction;
  method: string;
  /** The copy sent now (after an auth retry, the retry). */
  request: SipRequest;
  client?: ClientTransaction;
  /** How far the CSeq sent to the trunk is ahead of the caller's (one per auth retry). */
  offset: number;
  authTries: number;
  provisional: boolean;
  cancelWanted: boolean;
  /** Set once the caller got a final answer (or the request was given up). */
  done: boolean;
  build(offset: number): SipRequest;
}

/**
 * Sends requests for users who do not live here to the upstream trunk, as a stateful proxy:
 * Request-URI moved to the trunk, Record-Route so the dialog comes back through the bridge, the
 * trunk's 401/407 answered with the trunk credentials (a new CSeq, so in-dialog requests of the
 * caller are shifted by the same amount on their way, see cseqOffsetParams), responses relayed
 * with the caller's own CSeq.
 */
export class TrunkRouter {
  private readonly pending = new Map<ServerTransaction, TrunkRequest>();

  constructor(
    private readonly trunk: ResolvedTrunk,
    private readonly realm: string,
    private readonly layer: () => TransactionLayer,
    private readonly local: () => LocalAddress,
    private readonly log: Logger,
    private readonly metrics: Metrics,
  ) {}

  /** Requests sent to the trunk and not answered yet. */
  get activeCount(): number {
    return this.pending.size;
  }

  private get endpoint(): Endpoint {
    return { transport: this.trunk.transport, address: this.trunk.address, port: this.trunk.port };
  }

  /** Forwards an out-of-dialog request from `inbound` (the caller's transport) to the trunk. */
  forward(request: SipRequest, tx: ServerTransaction, inbound: TransportProtocol): void {
    const uri = this.trunkUri(request.uri);
    if (uri === undefined) {
      tx.reply(416, 'Unsupported URI Scheme');
      return;
    }
    const local = this.local();
    const transport = this.trunk.transport;
    const callerTag = getFrom(request).params['tag'] ?? '';
    const seq = getCSeq(request).seq;
    const stripped = withoutOwnRoutes(request, local);
    const build = (offset: number): SipRequest | undefined => {
      const copy = prepareForward(stripped, {
        via: { transport, host: local.host, port: localPort(local, transport), branch: loopBranch(request) },
        uri,
      });
      if (!copy) return undefined;
      // The caller's answer to the bridge's own challenge is no business of the trunk's.
      copy.headers = copy.headers.filter((h) => h.name !== 'Proxy-Authorization' || realmOf(h.value) !== this.realm);
      if (DIALOG_METHODS.has(request.method)) {
        addRecordRoutes(
          copy,
          recordRoutes(local, inbound, transport, offset > 0 ? cseqOffsetParams(offset, callerTag) : ''),
        );
      }
      if (offset > 0) setHeader(copy, 'CSeq', `${seq + offset} ${request.method}`);
      return copy;
    };
    const first = build(0);
    if (!first) {
      tx.reply(483);
      return;
    }
    const entry: TrunkRequest = {
      tx,
      method: request.method,
      request: first,
      offset: 0,
      authTries: 0,
      provisional: false,
      cancelWanted: false,
      done: false,
      build: (offset) => build(offset)!,
    };
    this.pending.set(tx, entry);
    this.send(entry);
    this.metrics.inc('sip_bridge_trunk_requests_total', {
      method: metricMethod(request.method),
    });
    this.log.info({ callId: getHeader(request, 'Call-ID'), method: request.method }, 'request sent to the trunk');
  }

  private send(entry: TrunkRequest): void {
    entry.provisional = false;
    entry.client = this.layer().sendRequest(entry.request, this.endpoint, {
      onResponse: (response, client) => {
        if (client === entry.client) this.response(entry, response);
      },
      onTimeout: (client) => {
        if (client === entry.client) this.finish(entry, 408);
      },
      onTransportError: (error, client) => {
        if (client !== entry.client) return;
        this.log.warn({ err: error }, 'trunk unreachable');
        this.finish(entry, 503);
      },
    });
  }

  private response(entry: TrunkRequest, response: SipResponse): void {
    const status = response.status;
    if (status === 100) return;
    if (entry.done) {
      if (status < 200) {
        // Given up before the trunk said anything: its first provisional lets the CANCEL go.
        if (entry.cancelWanted && !entry.provisional) {
          entry.provisional = true;
          this.sendCancel(entry);
        }
        return;
      }
      // 2xx retransmissions (or a fork's 2xx) of an answered INVITE still reach the caller.
      if (entry.method === 'INVITE' && status < 300 && !entry.cancelWanted)
        entry.tx.respond(this.relayed(entry, response));
      return;
    }
    if ((status === 401 || status === 407) && this.retryWithCredentials(entry, response)) return;
    if ((status === 401 || status === 407) && this.trunk.username !== undefined) {
      this.log.warn({ status }, 'the trunk refused the bridge credentials');
      this.finish(entry, 403, 'Forbidden (the trunk refused the credentials)');
      return;
    }
    if (status < 200) {
      entry.provisional = true;
      if (entry.cancelWanted) this.sendCancel(entry);
      else entry.tx.respond(this.relayed(entry, response));
      return;
    }
    entry.done = true;
    this.pending.delete(entry.tx);
    if (!entry.cancelWanted) entry.tx.respond(this.relayed(entry, response));
    this.metrics.inc('sip_bridge_trunk_responses_total', { status: `${Math.floor(status / 100)}xx` });
  }

  /** Resends with the trunk credentials: once, and once more for a stale nonce. */
  private retryWithCredentials(entry: TrunkRequest, response: SipResponse): boolean {
    const { username, password } = this.trunk;
    if (username === undefined || password === undefined || entry.cancelWanted) return false;
    const proxy = response.status === 407;
    const challenge = pickChallenge(getHeaders(response, proxy ? 'Proxy-Authenticate' : 'WWW-Authenticate'));
    if (!challenge) return false;
    const stale = (parseAuthHeader(challenge)?.params['stale'] ?? '').toLowerCase() === 'true';
    if (entry.authTries >= 2 || (entry.authTries === 1 && !stale)) return false;
    entry.authTries++;
    entry.offset++;
    const retry = entry.build(entry.offset);
    retry.headers.push({
      name: proxy ? 'Proxy-Authorization' : 'Authorization',
      value: digestClientAuthorization({ challenge, method: entry.method, uri: retry.uri, username, password }),
    });
    entry.request = retry;
    this.send(entry);
    return true;
  }

  /** The trunk's response as the caller gets it: without the bridge's Via, with the caller's CSeq. */
  private relayed(entry: TrunkRequest, response: SipResponse): SipResponse {
    const copy = { ...response, headers: response.headers.map((h) => ({ ...h })) };
    removeFirstHeader(copy, 'Via');
    setHeader(copy, 'CSeq', getHeader(entry.tx.request, 'CSeq') ?? '');
    return copy;
  }

  private finish(entry: TrunkRequest, status: number, reason?: string): void {
    if (entry.done) return;
    entry.done = true;
    this.pending.delete(entry.tx);
    if (!entry.cancelWanted) entry.tx.reply(status, reason);
    this.metrics.inc('sip_bridge_trunk_responses_total', { status: `${Math.floor(status / 100)}xx` });
  }

  /** The caller cancelled an INVITE sent to the trunk; false when it is not one of ours. */
  cancel(tx: ServerTransaction): boolean {
    const entry = this.pending.get(tx);
    if (!entry) return false;
    this.giveUp(entry, 487);
    return true;
  }

  private giveUp(entry: TrunkRequest, status: number): void {
    if (entry.done) return;
    entry.tx.reply(status);
    entry.cancelWanted = true;
    entry.done = true;
    this.pending.delete(entry.tx);
    // §9.1: a CANCEL may only follow a provisional response; otherwise it waits for one.
    if (entry.provisional) this.sendCancel(entry);
  }

  private sendCancel(entry: TrunkRequest): void {
    if (entry.method !== 'INVITE') return;
    this.layer().sendRequest(createCancel(entry.request), this.endpoint, {});
  }

  /** Shutdown: every request still waiting for the trunk gets 480, INVITEs are cancelled there. */
  abortAll(): void {
    for (const entry of [...this.pending.values()]) this.giveUp(entry, 480);
  }

  /** Whether a request from `from` comes from one of the trunk's source addresses. */
  isSource(from: Endpoint): boolean {
    return this.trunk.sources.some((s) => s.host === from.address && (s.port === undefined || s.port === from.port));
  }

  /** The Request-URI at the trunk: the same user (or number) at the trunk's host and port. */
  private trunkUri(requestUri: string): string | undefined {
    let user: string | undefined;
    try {
      const uri = parseUri(requestUri);
      if (uri.scheme === 'tel') user = uri.opaque?.split(';')[0];
      else if (uri.scheme === 'sip' || uri.scheme === 'sips') user = uri.user;
      else return undefined;
    } catch {
      return undefined;
    }
    const scheme = this.trunk.uri.trim().toLowerCase().startsWith('sips:') ? 'sips' : 'sip';
    const host = this.trunk.host.includes(':') ? `[${this.trunk.host}]` : this.trunk.host;
    return `${scheme}:${user ? `${user}@` : ''}${host}:${this.trunk.port}`;
  }
}

function metricMethod(method: string): string {
  return ['INVITE', 'MESSAGE', 'SUBSCRIBE', 'NOTIFY', 'OPTIONS', 'INFO', 'REFER', 'PUBLISH'].includes(method)
    ? method
    : 'other';
}

function realmOf(authorization: string): string | undefined {
  return parseAuthHeader(authorization)?.params['realm'];
}

/** The challenge to answer: SHA-256 when offered (RFC 8760), else MD5; Digest only. */
function pickChallenge(values: string[]): string | undefined {
  const digest = values.filter((v) => parseAuthHeader(v)?.scheme.toLowerCase() === 'digest');
  const algorithm = (v: string) => (parseAuthHeader(v)?.params['algorithm'] ?? 'MD5').toUpperCase();
  return digest.find((v) => algorithm(v) === 'SHA-256') ?? digest.find((v) => algorithm(v) === 'MD5');
}

const OFFSET_PARAM = 'pr-cso';
const TAG_PARAM = 'pr-cst';

/**
 * Record-Route parameters of a dialog whose INVITE reached the trunk with a higher CSeq than
 * the caller sent (the bridge answered the trunk's challenge): the offset, and a hash of the
 * caller's From tag, so only the caller's in-dialog requests are shifted, not the callee's.
 */
export function cseqOffsetParams(offset: number, callerTag: string): string {
  return `;${OFFSET_PARAM}=${offset};${TAG_PARAM}=${tagHash(callerTag)}`;
}

/** The CSeq shift for an in-dialog request, read from the bridge's own Route entries it carries. */
export function cseqOffsetFor(ownRoutes: string[], request: SipRequest): number {
  for (const route of ownRoutes) {
    let params;
    try {
      params = parseNameAddr(route).uri.params;
    } catch {
      continue;
    }
    const offset = Number(params[OFFSET_PARAM] ?? '');
    if (!Number.isInteger(offset) || offset <= 0 || offset > 10) continue;
    const fromTag = getFrom(request).params['tag'] ?? '';
    return params[TAG_PARAM] === tagHash(fromTag) ? offset : 0;
  }
  return 0;
}

function tagHash(tag: string): string {
  return createHash('sha256').update(tag).digest('hex').slice(0, 10);
}
