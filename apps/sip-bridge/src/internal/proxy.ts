import type { Clock, TimerHandle } from '@pushrelay/core';
import {
  createCancel,
  getCallId,
  getCSeq,
  getHeader,
  getHeaders,
  getTo,
  parseAuthHeader,
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
} from '@pushrelay/sip';
import type { BridgeConfig } from './config.js';
import type { Device, LocationService } from './locations.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import { callFactsOf, type CallFacts, type Notifier } from './notifier.js';
import {
  addRecordRoutes,
  endpointOf,
  localPort,
  loopBranch,
  ownRoutesOnTop,
  portOf,
  recordRoutes,
  withoutOwnRoutes,
  type LocalAddress,
} from './routing.js';
import { cseqOffsetFor } from './trunk.js';
import type { UserDirectory } from './users.js';

export type { LocalAddress } from './routing.js';

interface Branch {
  device: Device;
  request: SipRequest;
  tx: ClientTransaction;
  provisional: boolean;
  final?: number;
  cancelWanted: boolean;
}

type CallState = 'ringing' | 'answered' | 'failed' | 'cancelled';

interface Call {
  /** Where the call is in `calls`. */
  key: string;
  /** Edge mode: the one device key this call is for. */
  only?: string;
  facts: CallFacts;
  tx: ServerTransaction;
  state: CallState;
  branches: Branch[];
  /** Device keys that got an INVITE in this call: never a second one. */
  forwarded: Set<string>;
  /** Push devices that have not come back yet. */
  awaiting: Set<string>;
  pushed: boolean;
  pushWaitOver: boolean;
  best?: SipResponse;
  timers: TimerHandle[];
  /** Counted in `held` (ringing and awaiting a pushed device). */
  held: boolean;
}

/**
 * Stateful proxy for INVITEs to registered users: rings devices that are reachable now, pushes
 * the others through the relay and holds the INVITE until they re-register, then forwards it
 * once per device; relays responses, CANCEL, and in-dialog requests through its Record-Route.
 */
export class CallProxy {
  private readonly calls = new Map<string, Call>();
  private readonly byTransaction = new Map<ServerTransaction, Call>();
  /** Calls ringing and awaiting a pushed device, kept as counts so overload checks stay O(1). */
  private held = 0;
  private readonly heldByUser = new Map<string, number>();

  constructor(
    private readonly config: BridgeConfig,
    private readonly layer: () => TransactionLayer,
    private readonly local: () => LocalAddress,
    private readonly locations: LocationService,
    private readonly notifier: Notifier,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly metrics: Metrics,
    private readonly users?: UserDirectory,
  ) {}

  /** Timers of the calls in progress (push wait, ring timeout). */
  get timerCount(): number {
    let timers = 0;
    for (const call of this.calls.values()) timers += call.timers.length;
    return timers;
  }

  get heldCount(): number {
    return this.held;
  }

  /** Whether a held call awaits a pushed device of `user`. */
  awaits(user: string): boolean {
    return this.heldByUser.has(user);
  }

  /** In-dialog requests forwarded and not answered yet. */
  inFlight = 0;

  get activeCount(): number {
    return this.calls.size;
  }

  async invite(request: SipRequest, tx: ServerTransaction): Promise<void> {
    const uri = parseUri(request.uri);
    const user = uri.user === undefined ? undefined : decodeURIComponent(uri.user);
    const known = this.users
      ? user !== undefined && (await this.users.exists(user))
      : this.config.users.some((u) => u.username === user);
    if (user === undefined || !known) {
      tx.reply(404);
      return;
    }
    this.ring(request, tx, user, this.locations.devices(user, this.clock.now()));
  }

  /**
   * Rings the devices reachable now, pushes the others and holds the INVITE for them. `only`
   * (edge mode) scopes the call to one device of the user: a branch of its own, pushed alone.
   */
  ring(request: SipRequest, tx: ServerTransaction, user: string, devices: Device[], only?: Device): void {
    const callId = getCallId(request);
    const key = only ? `${user}\n${callId}\n${only.key}` : `${user}\n${callId}`;
    if (this.calls.has(key)) {
      // A second INVITE of a call already ringing here (a different branch from upstream).
      tx.reply(482, 'Loop Detected');
      return;
    }
    const now = this.clock.now();
    // A device only another process can reach is not rung from here (pushing it still wakes it).
    const direct = devices.filter((d) => !d.push && d.expiresAt > now && !d.unreachableHere);
    const pushed = devices.filter((d) => d.push);
    if (direct.length === 0 && pushed.length === 0) {
      this.metrics.inc('sip_bridge_unavailable_total');
      tx.reply(480, 'Temporarily Unavailable');
      return;
    }
    const call: Call = {
      key,
      facts: callFactsOf(request, user, callId, now),
      tx,
      state: 'ringing',
      branches: [],
      forwarded: new Set(),
      awaiting: new Set(pushed.map((d) => d.key)),
      pushed: pushed.length > 0,
      pushWaitOver: false,
      timers: [],
      held: false,
    };
    if (only) {
      call.only = only.key;
      if (only.push) call.facts.bindingIds = [only.push.bindingId];
    }
    this.calls.set(key, call);
    this.byTransaction.set(tx, call);
    this.log.info({ callId, direct: direct.length, pushed: pushed.length }, 'INVITE received');
    for (const device of direct) this.forward(call, device, 'direct');
    if (call.pushed) {
      call.timers.push(this.clock.setTimer(() => this.pushWaitOver(call), this.config.calls.pushWaitMs));
      this.notifier
        .incomingCall(call.facts)
        .catch((error: unknown) => this.log.error({ err: error, callId }, 'push failed'));
    }
    call.timers.push(this.clock.setTimer(() => this.finish(call, 480), this.config.calls.ringTimeoutMs));
    this.updateGauge(call);
  }

  /**
   * A device registered here (after authentication): ring it in every call waiting for it, and
   * push its missed calls.
   */
  deviceRegistered(device: Device): void {
    this.ringWaitingCalls(device);
    if (device.push) {
      this.notifier
        .deviceReturned(device.user)
        .catch((error: unknown) => this.log.error({ err: error }, 'missed-calls push failed'));
    }
  }

  /**
   * Rings `device` in every call here waiting for it. Alone (without the missed-calls push) for a
   * device that registered at another bridge process: that process pushes the missed calls, once.
   */
  ringWaitingCalls(device: Device): void {
    if (device.unreachableHere) return;
    for (const call of this.calls.values()) {
      if (call.state !== 'ringing' || call.facts.user !== device.user) continue;
      if (call.forwarded.has(device.key)) continue;
      if (call.only !== undefined && call.only !== device.key) continue;
      // Once the wait for pushed devices is over, a late phone is not rung.
      if (call.pushWaitOver) continue;
      this.forward(call, device, 're-register');
      this.syncHeld(call);
    }
    this.updateGauge();
  }

  /** The caller cancelled (the CANCEL itself was answered 200 by the transaction layer). */
  cancel(tx: ServerTransaction): void {
    const call = this.byTransaction.get(tx);
    if (!call) {
      tx.reply(487);
      return;
    }
    if (call.state !== 'ringing') return;
    call.state = 'cancelled';
    tx.reply(487);
    this.cancelBranches(call);
    if (call.awaiting.size > 0) {
      this.notifier
        .callCancelled(call.facts)
        .catch((error: unknown) => this.log.error({ err: error }, 'cancel push failed'));
    }
    this.end(call, 487);
  }

  private forward(call: Call, device: Device, reason: 'direct' | 're-register'): void {
    call.forwarded.add(device.key);
    call.awaiting.delete(device.key);
    const local = this.local();
    const outbound = device.flow.transport;
    const forwarded = prepareForward(withoutOwnRoutes(call.tx.request, local), {
      via: {
        transport: outbound,
        host: local.host,
        port: localPort(local, outbound),
        branch: loopBranch(call.tx.request),
      },
      uri: device.target,
    });
    if (!forwarded) {
      if (call.branches.length === 0 && call.awaiting.size === 0) this.finish(call, 483);
      return;
    }
    addRecordRoutes(forwarded, recordRoutes(local, call.tx.remote.transport, outbound));
    // The caller's answer to the bridge's own challenge is no business of the callee's.
    forwarded.headers = forwarded.headers.filter(
      (h) => h.name !== 'Proxy-Authorization' || parseAuthHeader(h.value)?.params['realm'] !== this.config.realm,
    );
    const branch: Branch = { device, request: forwarded, provisional: false, cancelWanted: false } as Branch;
    branch.tx = this.layer().sendRequest(forwarded, device.flow, {
      onResponse: (response) => this.branchResponse(call, branch, response),
      onTimeout: () => this.branchFailed(call, branch, 408),
      onTransportError: () => this.branchFailed(call, branch, 503),
    });
    call.branches.push(branch);
    this.metrics.inc('sip_bridge_forwarded_invites_total', { reason });
    this.log.info({ callId: call.facts.callId, bindingId: device.push?.bindingId, reason }, 'INVITE forwarded');
  }

  private branchResponse(call: Call, branch: Branch, response: SipResponse): void {
    const upstream = { ...response, headers: response.headers.map((h) => ({ ...h })) };
    removeFirstHeader(upstream, 'Via');
    if (response.status < 200) {
      if (response.status === 100) return;
      if (!branch.provisional) {
        branch.provisional = true;
        if (branch.cancelWanted) this.sendCancel(branch);
      }
      if (call.state === 'ringing') call.tx.respond(upstream);
      return;
    }
    if (response.status < 300) {
      if (call.state === 'ringing') {
        call.state = 'answered';
        branch.final = response.status;
        call.tx.respond(upstream);
        for (const other of call.branches) if (other !== branch) this.cancelBranch(other);
        this.notifier
          .callAnswered(call.facts)
          .catch((error: unknown) => this.log.error({ err: error }, 'missed-call store failed'));
        this.end(call, response.status);
      } else if (call.state === 'answered') {
        // 2xx retransmissions (or a second fork's 2xx) pass through; the caller ACKs each.
        call.tx.respond(upstream);
      }
      return;
    }
    branch.final = response.status;
    if (!call.best || rank(response.status) < rank(call.best.status)) call.best = upstream;
    this.maybeComplete(call);
  }

  private branchFailed(call: Call, branch: Branch, status: number): void {
    if (branch.final !== undefined) return;
    branch.final = status;
    this.maybeComplete(call);
  }

  /** Every forwarded branch failed and no pushed device is still expected: answer the best failure. */
  private maybeComplete(call: Call): void {
    if (call.state !== 'ringing' || call.awaiting.size > 0) return;
    if (call.branches.some((b) => b.final === undefined)) return;
    this.finish(call, call.best?.status ?? 480);
  }

  private pushWaitOver(call: Call): void {
    if (call.state !== 'ringing') return;
    call.pushWaitOver = true;
    call.awaiting.clear();
    if (call.branches.length === 0) this.finish(call, 480);
    else this.maybeComplete(call);
    this.updateGauge(call);
  }

  private finish(call: Call, status: number): void {
    if (call.state !== 'ringing') return;
    call.state = 'failed';
    if (call.best && call.best.status === status) call.tx.respond(call.best);
    else call.tx.reply(status);
    if (status === 480) this.metrics.inc('sip_bridge_unavailable_total');
    this.cancelBranches(call);
    this.end(call, status);
  }

  private end(call: Call, status: number): void {
    for (const timer of call.timers) this.clock.clearTimer(timer);
    call.timers = [];
    this.calls.delete(call.key);
    this.byTransaction.delete(call.tx);
    this.metrics.inc('sip_bridge_calls_total', { status: `${Math.floor(status / 100)}xx` });
    if (call.state !== 'answered' && call.pushed) {
      this.notifier
        .callMissed(call.facts)
        .catch((error: unknown) => this.log.error({ err: error }, 'missed-call store failed'));
    }
    this.log.info({ callId: call.facts.callId, status, state: call.state }, 'call ended');
    this.updateGauge(call);
  }

  private cancelBranches(call: Call): void {
    for (const branch of call.branches) this.cancelBranch(branch);
  }

  private cancelBranch(branch: Branch): void {
    if (branch.final !== undefined || branch.cancelWanted) return;
    branch.cancelWanted = true;
    // §9.1: a CANCEL may only follow a provisional response; otherwise it waits for one.
    if (branch.provisional) this.sendCancel(branch);
  }

  private sendCancel(branch: Branch): void {
    if (branch.final !== undefined) return;
    this.layer().sendRequest(createCancel(branch.request), branch.device.flow, {});
  }

  /**
   * In-dialog requests (ACK for 2xx, BYE, re-INVITE...) that carry our Record-Route as their top
   * Route: pop it and send the request on to the next Route or the Request-URI.
   */
  inDialog(request: SipRequest, tx: ServerTransaction | null): void {
    const local = this.local();
    const own = ownRoutesOnTop(request, local);
    if (own.length === 0) {
      if (tx)
        tx.reply(
          request.method === 'BYE' ? 481 : 403,
          request.method === 'BYE' ? undefined : 'Forbidden (not routed through this proxy)',
        );
      return;
    }
    const stripped = withoutOwnRoutes(request, local);
    // The caller's side of a dialog whose INVITE the bridge re-sent with trunk credentials.
    const offset = cseqOffsetFor(own, request);
    if (offset > 0) {
      const cseq = getCSeq(request);
      setHeader(stripped, 'CSeq', `${cseq.seq + offset} ${cseq.method}`);
    }
    const next = getHeaders(stripped, 'Route')[0];
    const nextUri = parseUri(next !== undefined ? stripAngle(next) : stripped.uri);
    const device = this.locations.findByAddress(nextUri.host, portOf(nextUri));
    const target: Endpoint = device?.flow ?? endpointOf(nextUri);
    if (target.address === local.host && (target.port === local.port || target.port === local.tlsPort)) {
      if (tx) tx.reply(482, 'Loop Detected');
      return;
    }
    const forwarded = prepareForward(stripped, {
      via: { transport: target.transport, host: local.host, port: localPort(local, target.transport) },
    });
    if (!forwarded) {
      if (tx) tx.reply(483);
      return;
    }
    if (!tx) {
      this.layer()
        .sendRaw(forwarded, target)
        .catch((error: unknown) => this.log.warn({ err: error }, 'ACK not forwarded'));
      return;
    }
    this.inFlight++;
    let open = true;
    const done = (): void => {
      if (open) this.inFlight--;
      open = false;
    };
    this.layer().sendRequest(forwarded, target, {
      onResponse: (response) => {
        if (response.status === 100) return;
        const upstream = { ...response, headers: response.headers.map((h) => ({ ...h })) };
        removeFirstHeader(upstream, 'Via');
        if (offset > 0) setHeader(upstream, 'CSeq', getHeader(request, 'CSeq') ?? '');
        tx.respond(upstream);
        if (response.status >= 200) done();
      },
      onTimeout: () => {
        done();
        tx.reply(408);
      },
      onTransportError: () => {
        done();
        tx.reply(503);
      },
    });
  }

  /** Ends every ringing call (shutdown): 480 upstream, CANCEL downstream. */
  abortAll(): void {
    for (const call of [...this.calls.values()]) this.finish(call, 480);
  }

  private syncHeld(call: Call): void {
    const held = this.calls.get(call.key) === call && call.state === 'ringing' && call.awaiting.size > 0;
    if (held === call.held) return;
    call.held = held;
    const user = call.facts.user;
    if (held) {
      this.held++;
      this.heldByUser.set(user, (this.heldByUser.get(user) ?? 0) + 1);
    } else {
      this.held--;
      const left = (this.heldByUser.get(user) ?? 1) - 1;
      if (left > 0) this.heldByUser.set(user, left);
      else this.heldByUser.delete(user);
    }
  }

  private updateGauge(call?: Call): void {
    if (call) this.syncHeld(call);
    this.metrics.set('sip_bridge_held_invites', this.held);
  }
}

/** RFC 3261 §16.7: 6xx beats everything, then the lowest class; 401/407/415/420/484 preferred over 5xx. */
function rank(status: number): number {
  if (status >= 600) return 0;
  return status;
}

function stripAngle(nameAddr: string): string {
  const m = /<([^>]*)>/.exec(nameAddr);
  return m ? m[1]! : nameAddr.trim();
}

/** The To tag marks an in-dialog request. */
export function hasToTag(request: SipRequest): boolean {
  try {
    return typeof getTo(request).params['tag'] === 'string';
  } catch {
    return false;
  }
}
