import type { BindingStore, Clock, DeviceBindingInput } from '@pushrelay/core';
import {
  addHeader,
  cloneMessage,
  formatNameAddr,
  formatUri,
  getContacts,
  getHeader,
  getHeaders,
  getTo,
  parseNameAddr,
  prepareForward,
  removeFirstHeader,
  removeHeader,
  SipParseError,
  type Endpoint,
  type NameAddr,
  type ServerTransaction,
  type SipRequest,
  type SipResponse,
  type SipUri,
} from '@pushrelay/sip';
import type { BridgeConfig } from '../config.js';
import type { Device, LocationService } from '../locations.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { LocalAddress } from '../proxy.js';
import {
  deviceKey,
  parseExpires,
  RegisterRefusal,
  withoutPushParams,
  type PushParams,
  type Registrar,
} from '../registrar.js';
import type { DeviceRefs, EdgeAddressing } from './addressing.js';
import type { EdgeConfig } from './edge-config.js';
import type { StatefulForwarder } from './forwarder.js';
import type { RegistrationKeeper } from './keeper.js';
import { forwardBranch, hasLooped } from './loop.js';
import type { Upstream } from './upstream.js';

/** One Contact of a phone's REGISTER: as the phone sent it, and as it went upstream. */
interface PlannedContact {
  original: NameAddr;
  sent: NameAddr;
  push?: PushParams;
  key: string;
  ref: string;
  /** Seconds asked for (Contact `expires`, else the Expires header); undefined: the registrar's default. */
  requested?: number;
}

export interface EdgeRegistrarParts {
  config: BridgeConfig;
  edge: EdgeConfig;
  registrar: Registrar;
  locations: LocationService;
  bindings: BindingStore;
  refs: DeviceRefs;
  keeper: RegistrationKeeper;
  addressing: EdgeAddressing;
  upstream: Upstream;
  forwarder: StatefulForwarder;
  local: () => LocalAddress;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  /** Told about each device an upstream-accepted REGISTER (re-)registered, once the 2xx went out. */
  onRegistered: (device: Device) => void;
}

/**
 * A phone's REGISTER in edge mode: forwarded upstream with a Path naming the bridge (RFC 3327)
 * or, for registrars without Path, with the Contact rewritten to a bridge alias; challenges and
 * credentials pass through untouched. Only a 2xx from upstream creates, refreshes or removes the
 * device and its push binding.
 */
export class EdgeRegistrar {
  constructor(private readonly p: EdgeRegistrarParts) {}

  handle(request: SipRequest, tx: ServerTransaction, from: Endpoint): void {
    const { p } = this;
    const local = p.local();
    if (getHeaders(request, 'Path').some((v) => p.addressing.namesUs(v)) || hasLooped(request, local)) {
      p.metrics.inc('sip_bridge_edge_loops_total', { method: 'REGISTER' });
      tx.reply(482, 'Loop Detected');
      return;
    }
    let user: string;
    let planned: PlannedContact[] | '*';
    try {
      const toUser = getTo(request).uri.user;
      if (toUser === undefined) throw new RegisterRefusal(400, 'Bad Request (To has no user part)');
      user = decodeURIComponent(toUser);
      planned = this.plan(request, user);
    } catch (error) {
      this.refuse(tx, error);
      return;
    }
    const forwarded = this.forwardedRequest(request, planned);
    if (!forwarded) {
      tx.reply(483, 'Too Many Hops');
      return;
    }
    p.forwarder.forward(tx, forwarded, p.upstream.endpoint, {
      timeoutMs: p.edge.upstreamTimeoutMs,
      direction: 'upstream',
      onFinal: async (response) => this.final(response, user, planned, from),
    });
  }

  private refuse(tx: ServerTransaction, error: unknown): void {
    let status = 400;
    let reason = 'Bad Request';
    if (error instanceof RegisterRefusal) {
      status = error.status;
      reason = error.reason;
    } else if (error instanceof SipParseError || error instanceof URIError) {
      reason = `Bad Request (${error.message})`;
    } else throw error;
    this.p.metrics.inc('sip_bridge_register_rejections_total', { status: String(status) });
    tx.reply(status, reason, { headers: status === 555 ? [this.p.registrar.featureCaps] : [] });
  }

  private plan(request: SipRequest, user: string): PlannedContact[] | '*' {
    const { p } = this;
    const contacts = getContacts(request);
    if (contacts === '*') return '*';
    const headerExpires = parseExpires(getHeader(request, 'Expires'));
    const mpush = getHeader(request, 'X-MPUSH');
    return contacts.map((original) => {
      const push = p.registrar.pushParams(original, mpush);
      const key = deviceKey(original, push);
      const ref = p.addressing.refFor(user, key);
      const requested = parseExpires(original.params['expires'] ?? undefined) ?? headerExpires;
      const planned: PlannedContact = { original, sent: this.sentContact(original, ref), key, ref };
      if (push) planned.push = push;
      if (requested !== undefined) planned.requested = requested;
      return planned;
    });
  }

  /** The Contact as upstream sees it: without pn-* (unless configured), or as a bridge alias. */
  private sentContact(original: NameAddr, ref: string): NameAddr {
    const { edge, addressing } = this.p;
    const params = { ...original.params };
    let uri: SipUri = {
      ...original.uri,
      params: edge.forwardPushParams ? original.uri.params : withoutPushParams(original.uri.params),
    };
    if (!edge.forwardPushParams) delete params['+sip.pnsreg'];
    if (!edge.pathSupport) {
      const alias = parseNameAddr(`<${addressing.aliasUri(ref)}>`).uri;
      const pn = edge.forwardPushParams
        ? Object.fromEntries(Object.entries(original.uri.params).filter(([n]) => n.startsWith('pn-')))
        : {};
      uri = { ...alias, params: { ...alias.params, ...pn } };
    }
    const sent: NameAddr = { uri, params };
    if (original.displayName !== undefined) sent.displayName = original.displayName;
    return sent;
  }

  private forwardedRequest(request: SipRequest, planned: PlannedContact[] | '*'): SipRequest | undefined {
    const { p } = this;
    const local = p.local();
    const copy = cloneMessage(request);
    const topRoute = getHeaders(copy, 'Route')[0];
    if (topRoute !== undefined && p.addressing.namesUs(topRoute)) removeFirstHeader(copy, 'Route');
    if (planned !== '*') {
      const at = copy.headers.findIndex((h) => h.name === 'Contact');
      removeHeader(copy, 'Contact');
      const contacts = planned.map((c) => ({ name: 'Contact', value: formatNameAddr(c.sent) }));
      copy.headers.splice(at < 0 ? copy.headers.length : at, 0, ...contacts);
      if (!p.edge.forwardPushParams) removeHeader(copy, 'X-MPUSH');
      const providers = [...new Set(planned.flatMap((c) => (c.push ? [c.push.provider] : [])))];
      // RFC 8599 §5.3: tell the registrar that push is handled on this path.
      if (providers.length > 0) addHeader(copy, 'Feature-Caps', `*;+sip.pns="${providers.join(',')}"`);
      if (p.edge.pathSupport && planned.length > 0) {
        addHeader(copy, 'Path', p.addressing.pathEntry(planned[0]!.ref), { first: true });
        const supported = getHeaders(copy, 'Supported').map((s) => s.trim().toLowerCase());
        if (!supported.includes('path')) addHeader(copy, 'Supported', 'path');
      }
    }
    for (const route of p.upstream.routeHeaders().reverse()) addHeader(copy, 'Route', route.value, { first: true });
    return prepareForward(copy, {
      via: { transport: p.upstream.transport, host: local.host, port: local.port, branch: forwardBranch(copy) },
    });
  }

  /** The upstream's final answer: a 2xx is applied to devices and bindings, then goes to the phone. */
  private async final(
    response: SipResponse,
    user: string,
    planned: PlannedContact[] | '*',
    from: Endpoint,
  ): Promise<{ response: SipResponse; after?: () => void }> {
    const { p } = this;
    if (response.status < 200 || response.status >= 300) {
      if (response.status === 401 || response.status === 407) {
        p.metrics.inc('sip_bridge_register_rejections_total', { status: String(response.status) });
      }
      return { response };
    }
    if (planned === '*') {
      for (const device of p.locations.removeAll(user)) await this.forget(device);
      p.metrics.inc('sip_bridge_registrations_total', { result: 'unregistered' });
      p.metrics.set('sip_bridge_push_bindings', p.locations.pushDeviceCount);
      return { response };
    }
    const granted = grantedExpiries(response);
    const now = p.clock.now();
    const registered: Device[] = [];
    let pnsreg: number | undefined;
    for (const c of planned) {
      const expires = granted.get(uriKey(c.sent.uri)) ?? headerExpires(response) ?? c.requested ?? 3600;
      if (expires === 0 || c.requested === 0) {
        const removed = p.locations.remove(user, c.key);
        if (removed) await this.forget(removed);
        p.metrics.inc('sip_bridge_registrations_total', { result: 'unregistered' });
        continue;
      }
      const device = await this.store(user, c, from, now, expires);
      registered.push(device);
      if (c.push && c.original.params['+sip.pnsreg'] !== undefined) pnsreg = p.keeper.pnsreg(expires);
    }
    p.metrics.set('sip_bridge_push_bindings', p.locations.pushDeviceCount);
    return {
      response: this.phoneResponse(response, planned, pnsreg),
      after: () => {
        for (const device of registered) p.onRegistered(device);
      },
    };
  }

  private async store(user: string, c: PlannedContact, from: Endpoint, now: number, expires: number): Promise<Device> {
    const { p } = this;
    const previous = p.locations.get(user, c.key);
    const instance = c.original.params['+sip.instance'] ?? undefined;
    const device: Device = {
      key: c.key,
      user,
      target: formatUri({ ...c.original.uri, params: withoutPushParams(c.original.uri.params) }),
      targetHost: c.original.uri.host,
      targetPort: c.original.uri.port ?? 5060,
      contact: `<${formatUri(c.original.uri)}>`,
      flow: { ...from },
      expiresAt: now + expires * 1000,
      updatedAt: now,
    };
    if (instance) device.instance = instance;
    const push = c.push;
    if (push) {
      const input: DeviceBindingInput = {
        tenant: p.config.tenant,
        userId: user,
        provider: push.provider,
        token: push.token,
        app: push.app,
        environment: push.environment,
        pushKind: push.pushKind,
        format: push.format,
        origin: push.origin,
      };
      if (push.params && Object.keys(push.params).length > 0) input.params = push.params;
      if (instance) input.sipInstance = instance;
      const binding = await p.bindings.upsert(input);
      if (previous?.push && previous.push.bindingId !== binding.id) {
        // Same device, new token: the old binding must not be pushed again.
        await p.bindings.remove(p.config.tenant, previous.push.bindingId);
      }
      device.push = { bindingId: binding.id, provider: binding.provider, origin: binding.origin };
    } else if (previous?.push) {
      await p.bindings.remove(p.config.tenant, previous.push.bindingId);
    }
    p.locations.put(device);
    p.refs.remember(c.ref, user, c.key);
    const silent = !(push?.provider === 'apns' && push.pushKind === 'voip');
    p.keeper.refreshed(device, expires, silent);
    p.metrics.inc('sip_bridge_registrations_total', { result: 'registered' });
    p.log.info(
      { user, bindingId: device.push?.bindingId, transport: from.transport, expires },
      previous ? 'device re-registered upstream' : 'device registered upstream',
    );
    return device;
  }

  private async forget(device: Device): Promise<void> {
    const { p } = this;
    p.keeper.forget(device.user, device.key);
    p.refs.forget(p.addressing.refFor(device.user, device.key));
    if (device.push) await p.bindings.remove(p.config.tenant, device.push.bindingId);
    p.log.info({ user: device.user, bindingId: device.push?.bindingId }, 'device unregistered upstream');
  }

  /**
   * The 2xx for the phone: its own Contacts back in place of what went upstream, and the
   * Feature-Caps of the push service handled here (with `+sip.pnsreg` when the phone asked).
   */
  private phoneResponse(response: SipResponse, planned: PlannedContact[], pnsreg: number | undefined): SipResponse {
    const out = cloneMessage(response);
    const bySent = new Map(planned.map((c) => [uriKey(c.sent.uri), c]));
    out.headers = out.headers.map((h) => {
      if (h.name !== 'Contact') return h;
      try {
        const listed = parseNameAddr(h.value);
        const c = bySent.get(uriKey(listed.uri));
        if (!c) return h;
        const params = { ...c.original.params };
        delete params['expires'];
        if (listed.params['expires'] != null) params['expires'] = listed.params['expires'];
        return { name: 'Contact', value: formatNameAddr({ ...c.original, params }) };
      } catch {
        return h;
      }
    });
    if (planned.some((c) => c.push)) {
      removeHeader(out, 'Feature-Caps');
      const caps = this.p.registrar.featureCaps.value;
      addHeader(out, 'Feature-Caps', pnsreg === undefined ? caps : `${caps};+sip.pnsreg="${pnsreg}"`);
    }
    return out;
  }
}

/** Contact URI identity for matching the registrar's 2xx to what was sent (RFC 3261 §19.1.4, loosely). */
function uriKey(uri: SipUri): string {
  const transport = (uri.params['transport'] ?? 'udp').toLowerCase();
  return `${uri.scheme}:${uri.user ?? ''}@${uri.host.toLowerCase()}:${uri.port ?? 5060};${transport}`;
}

/** Each Contact of a REGISTER 2xx with the expiry the registrar granted it. */
function grantedExpiries(response: SipResponse): Map<string, number> {
  const granted = new Map<string, number>();
  for (const value of getHeaders(response, 'Contact')) {
    try {
      const contact = parseNameAddr(value);
      const expires = contact.params['expires'];
      if (expires != null && /^\d{1,10}$/.test(expires.trim())) granted.set(uriKey(contact.uri), Number(expires));
    } catch {
      // A Contact we cannot read is not one of ours.
    }
  }
  return granted;
}

function headerExpires(response: SipResponse): number | undefined {
  const value = getHeader(response, 'Expires')?.trim();
  return value !== undefined && /^\d{1,10}$/.test(value) ? Number(value) : undefined;
}
