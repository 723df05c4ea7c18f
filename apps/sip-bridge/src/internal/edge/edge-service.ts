import type { BindingStore, Clock } from '@pushrelay/core';
import {
  cloneMessage,
  getHeaders,
  removeFirstHeader,
  type Endpoint,
  type ServerTransaction,
  type SipRequest,
  type TransactionLayer,
} from '@pushrelay/sip';
import type { BridgeConfig } from '../config.js';
import type { LocationService } from '../locations.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { Notifier } from '../notifier.js';
import type { CallProxy, LocalAddress } from '../proxy.js';
import type { Registrar } from '../registrar.js';
import { DeviceRefs, EdgeAddressing } from './addressing.js';
import type { EdgeConfig } from './edge-config.js';
import { EdgeRegistrar } from './edge-registrar.js';
import { EdgeRouter } from './edge-router.js';
import { StatefulForwarder } from './forwarder.js';
import { HeldRequests } from './held-messages.js';
import { RegistrationKeeper, type MissedRefresh } from './keeper.js';
import { Upstream } from './upstream.js';

export interface EdgeDependencies {
  config: BridgeConfig;
  registrar: Registrar;
  proxy: CallProxy;
  locations: LocationService;
  bindings: BindingStore;
  notifier: Notifier;
  layer: () => TransactionLayer;
  local: () => LocalAddress;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
}

/** What edge mode holds in memory now, beside the bridge's own `load()`. */
export interface EdgeLoad {
  /** Requests forwarded (upstream or to a device) whose final answer has not come. */
  forwarded: number;
  /** MESSAGEs and other non-INVITE requests held for a sleeping push phone. */
  held: number;
  /** Push phones whose upstream binding the keeper watches (one wake and one expiry timer each). */
  watched: number;
  /** Timers of the above: a deadline per forwarded or held request, the keeper's wake and expiry timers. */
  timers: number;
}

/** Held requests wait at most this long: the sender's non-INVITE transaction ends at 32 s. */
const MAX_NON_INVITE_HOLD_MS = 25_000;

/** Edge mode, assembled: the bridge in front of a registrar/PBX (`mode: edge`). */
export class EdgeService {
  readonly upstream: Upstream;
  readonly keeper: RegistrationKeeper;
  readonly forwarder: StatefulForwarder;
  readonly held: HeldRequests;
  readonly refs = new DeviceRefs();
  private readonly router: EdgeRouter;

  constructor(d: EdgeDependencies) {
    const edge: EdgeConfig = d.config.edge!;
    this.upstream = new Upstream(edge);
    const addressing = new EdgeAddressing(d.local, edge.upstream.transport);
    this.keeper = new RegistrationKeeper(edge, d.notifier, d.clock, d.log, d.metrics);
    this.forwarder = new StatefulForwarder(d.layer, d.clock, d.log, d.metrics);
    const withoutOwnRoute = (request: SipRequest): SipRequest => {
      const copy = cloneMessage(request);
      const top = getHeaders(copy, 'Route')[0];
      if (top !== undefined && addressing.namesUs(top)) removeFirstHeader(copy, 'Route');
      return copy;
    };
    this.held = new HeldRequests(
      this.forwarder,
      d.notifier,
      d.local,
      withoutOwnRoute,
      Math.min(d.config.calls.pushWaitMs, MAX_NON_INVITE_HOLD_MS),
      edge.upstreamTimeoutMs,
      d.clock,
      d.log,
      d.metrics,
    );
    const registrar = new EdgeRegistrar({
      config: d.config,
      edge,
      registrar: d.registrar,
      locations: d.locations,
      bindings: d.bindings,
      refs: this.refs,
      keeper: this.keeper,
      addressing,
      upstream: this.upstream,
      forwarder: this.forwarder,
      local: d.local,
      clock: d.clock,
      log: d.log,
      metrics: d.metrics,
      onRegistered: (device) => {
        d.proxy.deviceRegistered(device);
        this.held.deviceRegistered(device);
      },
    });
    this.router = new EdgeRouter({
      edge,
      registrar,
      proxy: d.proxy,
      forwarder: this.forwarder,
      held: this.held,
      locations: d.locations,
      refs: this.refs,
      addressing,
      upstream: this.upstream,
      local: d.local,
      metrics: d.metrics,
    });
  }

  /** Resolves the upstream's name; before the SIP ports open. */
  start(): Promise<void> {
    return this.upstream.resolve();
  }

  onRequest(request: SipRequest, tx: ServerTransaction | null, from: Endpoint): void {
    this.router.onRequest(request, tx, from);
  }

  cancel(invite: ServerTransaction): void {
    this.router.cancel(invite);
  }

  /** Requests forwarded or held and not answered yet. */
  get pendingCount(): number {
    return this.forwarder.pendingCount + this.held.heldCount;
  }

  /** Forwarded and held requests, watched phones and their timers now; back to a baseline after a burst. */
  load(): EdgeLoad {
    return {
      forwarded: this.forwarder.pendingCount,
      held: this.held.heldCount,
      watched: this.keeper.trackedCount,
      timers: this.forwarder.timerCount + this.held.heldCount + this.keeper.timerCount,
    };
  }

  missedRefreshes(): readonly MissedRefresh[] {
    return this.keeper.missedRefreshes();
  }

  /** Shutdown: held and forwarded requests are answered, wake timers stop. */
  abortAll(): void {
    this.held.abortAll();
    this.forwarder.abortAll();
    this.keeper.close();
  }
}
