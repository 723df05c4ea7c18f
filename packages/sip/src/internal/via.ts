import { formatVia, parseVia } from './grammar.js';
import type { Endpoint } from './endpoint.js';
import type { SipRequest } from './message.js';

/** Strips the IPv4-mapped prefix so that one peer always has one address spelling. */
export function normalizeAddress(address: string | undefined): string {
  if (!address) return '';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

/**
 * What a server does to the top Via of a request on arrival (RFC 3261 §18.2.1, RFC 3581 §4): add
 * `received` when sent-by differs from the source address, and fill in an empty `rport`.
 */
export function stampVia(request: SipRequest, from: Endpoint): void {
  const index = request.headers.findIndex((h) => h.name === 'Via');
  if (index < 0) return;
  const via = parseVia(request.headers[index]!.value);
  let changed = false;
  const wantsRport = Object.prototype.hasOwnProperty.call(via.params, 'rport');
  if (via.host.replace(/^\[|\]$/g, '') !== from.address || wantsRport) {
    via.params['received'] = from.address;
    changed = true;
  }
  if (wantsRport && via.params['rport'] === null) {
    via.params['rport'] = String(from.port);
    changed = true;
  }
  if (changed) request.headers[index] = { name: 'Via', value: formatVia(via) };
}

/**
 * Where responses to `request` go (§18.2.2, RFC 3581): over TCP/TLS back on the flow it came in
 * on; over UDP to `received` (or sent-by) at the `rport` (or sent-by port, or 5060).
 */
export function responseEndpoint(request: SipRequest, from: Endpoint): Endpoint {
  if (from.transport !== 'udp') return from;
  const value = request.headers.find((h) => h.name === 'Via')?.value;
  if (value === undefined) return from;
  const via = parseVia(value);
  const address = via.params['received'] ?? via.host.replace(/^\[|\]$/g, '');
  const rport = via.params['rport'];
  const port = rport ? Number(rport) : (via.port ?? 5060);
  return { transport: 'udp', address, port };
}
