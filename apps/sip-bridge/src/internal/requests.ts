import {
  getFrom,
  parseUri,
  type DigestServer,
  type Endpoint,
  type ServerTransaction,
  type SipRequest,
} from '@pushrelay/sip';
import type { BridgeConfig } from './config.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import { hasToTag, type CallProxy } from './proxy.js';
import { isLoop, type LocalAddress } from './routing.js';
import type { TrunkRouter } from './trunk.js';
import type { UserDirectory } from './users.js';

export const ALLOW = 'INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, MESSAGE, SUBSCRIBE, NOTIFY, INFO, REFER, UPDATE';

/** Out-of-dialog methods a phone may send through the trunk besides INVITE. */
const TRUNK_METHODS = new Set(['MESSAGE', 'SUBSCRIBE', 'NOTIFY', 'OPTIONS', 'INFO', 'PUBLISH', 'REFER']);

/** Who sent an out-of-dialog request, once checked. */
export type Caller =
  | { kind: 'trunk'; how: 'address' | 'credentials' }
  | { kind: 'user'; username: string }
  /** auth.requests is off: the network in front vouches for every request. */
  | { kind: 'unchecked' };

/**
 * Requests other than REGISTER in registrar mode: loops and in-dialog requests first, then who
 * sent it (the trunk by address or credentials, a phone by digest with 407), then where it goes:
 * a local user's devices, or the trunk for anyone else.
 */
export class RequestRouter {
  constructor(
    private readonly config: BridgeConfig,
    private readonly digest: DigestServer,
    private readonly users: UserDirectory,
    private readonly proxy: CallProxy,
    private readonly trunk: TrunkRouter | null,
    private readonly local: () => LocalAddress,
    private readonly log: Logger,
    private readonly metrics: Metrics,
  ) {}

  async handle(request: SipRequest, tx: ServerTransaction, from: Endpoint): Promise<void> {
    if (isLoop(request, this.local())) {
      this.refuse(tx, 482, 'Loop Detected');
      return;
    }
    if (hasToTag(request)) return this.proxy.inDialog(request, tx);
    const user = requestUser(request.uri);
    // A ping of the bridge itself needs no credentials (phones and trunks keep flows alive so).
    if (request.method === 'OPTIONS' && user === undefined) {
      tx.reply(200, 'OK', { headers: [{ name: 'Allow', value: ALLOW }] });
      return;
    }
    const caller = await this.identify(request, tx, from);
    if (!caller || tx.cancelled) return;
    const isLocal = user !== undefined && (await this.users.exists(user));
    if (tx.cancelled) return;
    const toTrunk = !isLocal && caller.kind !== 'trunk' && this.trunk !== null;
    if (request.method === 'INVITE') {
      if (isLocal) return this.proxy.invite(request, tx);
      if (toTrunk) return this.trunk!.forward(request, tx, from.transport);
      this.refuse(tx, 404, 'Not Found');
      return;
    }
    if (toTrunk && TRUNK_METHODS.has(request.method)) return this.trunk!.forward(request, tx, from.transport);
    if (request.method === 'OPTIONS') {
      tx.reply(isLocal || caller.kind === 'trunk' ? 200 : 404, undefined, {
        headers: [{ name: 'Allow', value: ALLOW }],
      });
      return;
    }
    tx.reply(405, 'Method Not Allowed', { headers: [{ name: 'Allow', value: ALLOW }] });
  }

  /** Who sent the request; undefined when it was answered (407 challenge, 403) instead. */
  private async identify(request: SipRequest, tx: ServerTransaction, from: Endpoint): Promise<Caller | undefined> {
    if (this.trunk?.isSource(from)) {
      this.metrics.inc('sip_bridge_inbound_trunk_requests_total', { how: 'address' });
      return { kind: 'trunk', how: 'address' };
    }
    if (!this.config.auth.requests) return { kind: 'unchecked' };
    const auth = await this.digest.verify(request, { proxy: true });
    if (!auth.ok) {
      if (auth.reason === 'missing' || auth.reason === 'stale_nonce' || auth.reason === 'bad_nonce') {
        this.metrics.inc('sip_bridge_request_rejections_total', { method: request.method, status: '407' });
        tx.respond(this.digest.challenge(request, { proxy: true, stale: auth.stale }));
      } else {
        this.log.info({ method: request.method, detail: auth.reason }, 'request refused');
        this.refuse(tx, 403, 'Forbidden');
      }
      return undefined;
    }
    if (this.config.trunk?.inbound && auth.username === this.config.trunk.inbound.username) {
      this.metrics.inc('sip_bridge_inbound_trunk_requests_total', { how: 'credentials' });
      return { kind: 'trunk', how: 'credentials' };
    }
    // A phone calls as itself: its From is the user it authenticated as.
    const fromUser = getFrom(request).uri.user;
    if (fromUser === undefined || safeDecode(fromUser) !== auth.username) {
      this.log.info({ method: request.method }, 'request refused: From user differs from the authenticated user');
      this.refuse(tx, 403, 'Forbidden (From user differs from the authenticated user)');
      return undefined;
    }
    return { kind: 'user', username: auth.username };
  }

  private refuse(tx: ServerTransaction, status: number, reason: string): void {
    this.metrics.inc('sip_bridge_request_rejections_total', { method: tx.request.method, status: String(status) });
    tx.reply(status, reason);
  }
}

/** The user part of a sip:/sips: Request-URI (decoded), or the number of a tel: one. */
export function requestUser(requestUri: string): string | undefined {
  try {
    const uri = parseUri(requestUri);
    if (uri.scheme === 'tel') return uri.opaque?.split(';')[0];
    return uri.user === undefined ? undefined : safeDecode(uri.user);
  } catch {
    return undefined;
  }
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
