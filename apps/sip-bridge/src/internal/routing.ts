import { hash } from 'node:crypto';
import {
  getHeader,
  getHeaders,
  parseNameAddr,
  parseVia,
  randomHex,
  type Endpoint,
  type SipRequest,
  type SipUri,
  type TransportProtocol,
} from '@pushrelay/sip';

/** Where the bridge is reachable, for Via and Record-Route. UDP and TCP share `port`; TLS has its own. */
export interface LocalAddress {
  host: string;
  port: number;
  tlsPort?: number;
}

/** The port the bridge listens on for a transport. */
export function localPort(local: LocalAddress, transport: TransportProtocol): number {
  return transport === 'tls' ? (local.tlsPort ?? local.port) : local.port;
}

/**
 * A Record-Route URI for the side reached over `transport`. UDP and TCP share a port and keep
 * the plain form (a TCP peer there reuses its flow); TLS names its port and transport.
 */
export function recordRouteUri(local: LocalAddress, transport: TransportProtocol, params = ''): string {
  const base = `sip:${local.host}:${localPort(local, transport)}`;
  return transport === 'tls' ? `${base};transport=tls${params}` : `${base}${params}`;
}

/**
 * The Record-Route entries of a forwarded request, topmost first: one when both sides reach the
 * bridge at the same address, two when one side is TLS and the other is not (RFC 5658 double
 * record-routing), so each side sends its in-dialog requests to the address it can reach.
 */
export function recordRoutes(
  local: LocalAddress,
  inbound: TransportProtocol,
  outbound: TransportProtocol,
  params = '',
): string[] {
  const out = recordRouteUri(local, outbound, params);
  const inn = recordRouteUri(local, inbound, params);
  return out === inn ? [out] : [out, inn];
}

/** Whether a Route value names this bridge, on any of its ports. */
export function isOwnRoute(route: string, local: LocalAddress): boolean {
  try {
    const uri = parseNameAddr(route).uri;
    return uri.host === local.host && ownPorts(local).includes(portOf(uri));
  } catch {
    return false;
  }
}

function ownPorts(local: LocalAddress): number[] {
  return local.tlsPort === undefined ? [local.port] : [local.port, local.tlsPort];
}

/** A URI's port, defaulting by scheme and transport (RFC 3263 §4.2 without DNS). */
export function portOf(uri: SipUri): number {
  return uri.port ?? (transportOf(uri) === 'tls' ? 5061 : 5060);
}

/** The transport a URI asks for: `sips:` and `transport=tls` mean TLS; `transport=tcp` TCP; else UDP. */
export function transportOf(uri: SipUri): TransportProtocol {
  const named = (uri.params['transport'] ?? '').toLowerCase();
  if (uri.scheme === 'sips' || named === 'tls') return 'tls';
  return named === 'tcp' ? 'tcp' : 'udp';
}

/** Own Route entries at the top of the request (one, or two with double record-routing), in order. */
export function ownRoutesOnTop(request: SipRequest, local: LocalAddress): string[] {
  const own: string[] = [];
  for (const route of getHeaders(request, 'Route')) {
    if (!isOwnRoute(route, local)) break;
    own.push(route);
  }
  return own;
}

/** A copy without the own Route entries on top; the request itself when there are none. */
export function withoutOwnRoutes(request: SipRequest, local: LocalAddress): SipRequest {
  const count = ownRoutesOnTop(request, local).length;
  if (count === 0) return request;
  let removed = 0;
  return {
    ...request,
    headers: request.headers.filter((h) => !(h.name === 'Route' && removed++ < count)).map((h) => ({ ...h })),
  };
}

const OWN_BRANCH = 'z9hG4bK';

/**
 * RFC 3261 §16.6 item 8: a branch whose first part hashes what identifies the request as it
 * arrived, so that the same request coming back through this bridge is recognised as a loop,
 * while a spiral (the request back with another Request-URI) is not. The rest is random.
 */
export function loopBranch(request: SipRequest): string {
  return `${OWN_BRANCH}${loopKey(request)}${randomHex(8)}`;
}

function loopKey(request: SipRequest): string {
  const parts = [
    request.uri,
    getHeader(request, 'From') ?? '',
    tagOf(getHeader(request, 'To')),
    getHeader(request, 'Call-ID') ?? '',
    (getHeader(request, 'CSeq') ?? '').trim().split(/\s+/)[0] ?? '',
    getHeaders(request, 'Proxy-Require').join(','),
    getHeaders(request, 'Route')[0] ?? '',
  ];
  return hash('sha256', parts.join('\n')).slice(0, 12);
}

function tagOf(value: string | undefined): string {
  if (value === undefined) return '';
  try {
    return parseNameAddr(value).params['tag'] ?? '';
  } catch {
    return '';
  }
}

/**
 * Whether `request` already went through this bridge unchanged: one of its Vias is ours (any of
 * our ports) with a branch made by loopBranch for the same request.
 */
export function isLoop(request: SipRequest, local: LocalAddress): boolean {
  const ours = ownPorts(local);
  let key: string | undefined;
  for (const value of getHeaders(request, 'Via')) {
    let via;
    try {
      via = parseVia(value);
    } catch {
      continue;
    }
    if (via.host !== local.host || !ours.includes(via.port ?? 5060)) continue;
    key ??= `${OWN_BRANCH}${loopKey(request)}`;
    if ((via.params['branch'] ?? '').startsWith(key)) return true;
  }
  return false;
}

/** The endpoint an in-dialog request goes to when no registered device owns the address. */
export function endpointOf(uri: SipUri): Endpoint {
  return { transport: transportOf(uri), address: uri.host.replace(/^\[|\]$/g, ''), port: portOf(uri) };
}

/**
 * Adds Record-Route entries (`<uri;lr>`, in the given order) above those already there, or
 * right under the top Via when there are none.
 */
export function addRecordRoutes(request: SipRequest, uris: string[]): void {
  const entries = uris.map((uri) => ({ name: 'Record-Route', value: `<${uri};lr>` }));
  const index = request.headers.findIndex((h) => h.name === 'Record-Route');
  request.headers.splice(index < 0 ? 1 : index, 0, ...entries);
}
