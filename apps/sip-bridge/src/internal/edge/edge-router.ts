import {
  addHeader,
  cloneMessage,
  getHeaders,
  parseUri,
  prepareForward,
  removeFirstHeader,
  type Endpoint,
  type ServerTransaction,
  type SipRequest,
} from '@pushrelay/sip';
import type { Device, LocationService } from '../locations.js';
import type { Metrics } from '../metrics.js';
import { hasToTag, type CallProxy, type LocalAddress } from '../proxy.js';
import type { DeviceRefs, EdgeAddressing } from './addressing.js';
import type { EdgeConfig } from './edge-config.js';
import type { EdgeRegistrar } from './edge-registrar.js';
import type { StatefulForwarder } from './forwarder.js';
import type { HeldRequests } from './held-messages.js';
import { forwardBranch, hasLooped } from './loop.js';
import type { Upstream } from './upstream.js';

const ALLOW = 'INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, MESSAGE, SUBSCRIBE, NOTIFY, REFER, INFO, UPDATE, PRACK';
/** Requests whose dialog must keep passing through the bridge. */
const DIALOG_CREATING = new Set(['INVITE', 'SUBSCRIBE', 'REFER']);

export interface EdgeRouterParts {
  edge: EdgeConfig;
  registrar: EdgeRegistrar;
  proxy: CallProxy;
  forwarder: StatefulForwarder;
  held: HeldRequests;
  locations: LocationService;
  refs: DeviceRefs;
  addressing: EdgeAddressing;
  upstream: Upstream;
  local: () => LocalAddress;
  metrics: Metrics;
}

/**
 * Where a request goes in edge mode. From upstream for a device held here (its Path or alias ref):
 * to the device, pushing and holding for a sleeping one. From a phone, for anything else: to the
 * upstream, which authenticates it. In-dialog requests follow the bridge's Record-Route.
 */
export class EdgeRouter {
  constructor(private readonly p: EdgeRouterParts) {}

  onRequest(request: SipRequest, tx: ServerTransaction | null, from: Endpoint): void {
    const { p } = this;
    if (!tx) {
      // An ACK for a 2xx: it follows the route set like any in-dialog request.
      if (this.routedThroughUs(request)) p.proxy.inDialog(request, null);
      return;
    }
    if (request.method === 'REGISTER') return p.registrar.handle(request, tx, from);
    if (hasToTag(request)) {
      if (this.routedThroughUs(request)) return p.proxy.inDialog(request, tx);
      if (!p.upstream.isPeer(from)) return this.toUpstream(request, tx, from);
      tx.reply(481);
      return;
    }
    const target = this.deviceFor(request);
    if (target === 'gone') {
      tx.reply(404, 'Not Found');
      return;
    }
    if (target) return this.toDevice(request, tx, target);
    if (request.method === 'OPTIONS' && this.isForBridge(request)) {
      tx.reply(200, 'OK', { headers: [{ name: 'Allow', value: ALLOW }] });
      return;
    }
    this.toUpstream(request, tx, from);
  }

  /** A CANCEL matched an INVITE; the transaction layer answered the CANCEL itself. */
  cancel(invite: ServerTransaction): void {
    if (!this.p.forwarder.cancel(invite)) this.p.proxy.cancel(invite);
  }

  /** The device a request from upstream is for: by the ref of its top Route (Path) or Request-URI (alias). */
  private deviceFor(request: SipRequest): Device | 'gone' | undefined {
    const { p } = this;
    const topRoute = getHeaders(request, 'Route')[0];
    const ref =
      (topRoute !== undefined ? p.addressing.refOfNameAddr(topRoute) : undefined) ??
      p.addressing.refOfRequestUri(request.uri);
    if (ref === undefined) return undefined;
    const entry = p.refs.lookup(ref);
    const device = entry ? p.locations.get(entry.user, entry.key) : undefined;
    return device ?? 'gone';
  }

  private toDevice(request: SipRequest, tx: ServerTransaction, device: Device): void {
    const { p } = this;
    if (request.method === 'INVITE') {
      p.proxy.ring(request, tx, device.user, [device], device);
      return;
    }
    if (device.push) {
      p.held.hold(request, tx, device);
      return;
    }
    const local = p.local();
    const forwarded = prepareForward(this.withoutOwnRoute(request), {
      via: { transport: device.flow.transport, host: local.host, port: local.port },
      uri: device.target,
    });
    if (!forwarded) {
      tx.reply(483, 'Too Many Hops');
      return;
    }
    p.forwarder.forward(tx, forwarded, device.flow, { timeoutMs: p.edge.upstreamTimeoutMs, direction: 'device' });
  }

  private toUpstream(request: SipRequest, tx: ServerTransaction, from: Endpoint): void {
    const { p } = this;
    const local = p.local();
    if (hasLooped(request, local)) {
      p.metrics.inc('sip_bridge_edge_loops_total', { method: request.method });
      tx.reply(482, 'Loop Detected');
      return;
    }
    if (p.upstream.isPeer(from)) {
      // From upstream and for no device here: sending it back would only make a loop.
      tx.reply(404, 'Not Found');
      return;
    }
    const copy = this.withoutOwnRoute(request);
    for (const route of p.upstream.routeHeaders().reverse()) addHeader(copy, 'Route', route.value, { first: true });
    const options: Parameters<typeof prepareForward>[1] = {
      via: { transport: p.upstream.transport, host: local.host, port: local.port, branch: forwardBranch(copy) },
    };
    if (DIALOG_CREATING.has(request.method) && !hasToTag(request))
      options.recordRoute = `sip:${local.host}:${local.port}`;
    const forwarded = prepareForward(copy, options);
    if (!forwarded) {
      tx.reply(483, 'Too Many Hops');
      return;
    }
    p.forwarder.forward(tx, forwarded, p.upstream.endpoint, {
      timeoutMs: p.edge.upstreamTimeoutMs,
      direction: 'upstream',
    });
  }

  private routedThroughUs(request: SipRequest): boolean {
    const top = getHeaders(request, 'Route')[0];
    return top !== undefined && this.p.addressing.namesUs(top);
  }

  private isForBridge(request: SipRequest): boolean {
    try {
      const uri = parseUri(request.uri);
      return uri.user === undefined && this.p.addressing.isOwn(uri);
    } catch {
      return false;
    }
  }

  private withoutOwnRoute(request: SipRequest): SipRequest {
    const copy = cloneMessage(request);
    const top = getHeaders(copy, 'Route')[0];
    if (top !== undefined && this.p.addressing.namesUs(top)) removeFirstHeader(copy, 'Route');
    return copy;
  }
}
