import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions, type LookupOneOptions } from 'node:dns';
import { BlockList, isIP } from 'node:net';

/**
 * Addresses a push service never has: loopback, private, link-local, carrier-grade NAT,
 * benchmarking, multicast and reserved ranges. A subscription pointing there would make the
 * relay a way into the network it runs in.
 */
const PRIVATE = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  PRIVATE.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b:1::', 48],
  ['100::', 64],
  ['2001:db8::', 32],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  PRIVATE.addSubnet(net, prefix, 'ipv6');
}

const LOCAL_NAMES = /(^|\.)(localhost|local|internal|home\.arpa|localdomain)$/i;

/** Whether an IP address (v4, v6, or v4-mapped v6) is one a public push service cannot have. */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return PRIVATE.check(address, 'ipv4');
  if (family !== 6) return false;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return PRIVATE.check(mapped[1]!, 'ipv4');
  return PRIVATE.check(address, 'ipv6');
}

export interface EndpointPolicy {
  /** Accept http: endpoints and private or local addresses. For tests against a local push service only. */
  allowInsecure?: boolean;
}

/**
 * Why a subscription's endpoint may not be pushed to, or undefined when it may: it must be an
 * https URL whose host is a public name or address. Names are checked again, resolved, when
 * the transport connects (see `publicOnlyLookup`).
 */
export function webPushEndpointProblem(endpoint: string, policy: EndpointPolicy = {}): string | undefined {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return 'must be an absolute URL';
  }
  if (url.protocol !== 'https:' && !(policy.allowInsecure && url.protocol === 'http:')) {
    return 'must be an https URL';
  }
  if (url.username || url.password) return 'must not carry credentials';
  if (policy.allowInsecure) return undefined;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host)) return isPrivateAddress(host) ? `${host} is a private or reserved address` : undefined;
  if (LOCAL_NAMES.test(host) || !host.includes('.')) return `${host} is not a public host name`;
  return undefined;
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for net/tls connect that fails when a name resolves to a private address, so a
 * public-looking name pointed at the relay's own network (DNS rebinding) is never connected to.
 */
export function publicOnlyLookup(
  hostname: string,
  options: LookupOneOptions | LookupAllOptions | number | undefined,
  callback: LookupCallback,
): void {
  const opts = typeof options === 'number' ? { family: options } : (options ?? {});
  dnsLookup(hostname, { ...opts, all: true }, (error, addresses) => {
    if (error) return callback(error, []);
    const blocked = addresses.find((a) => isPrivateAddress(a.address));
    if (blocked) {
      const refused = Object.assign(new Error(`${hostname} resolves to ${blocked.address}, a private address`), {
        code: 'EPRIVATEADDRESS',
      });
      return callback(refused, []);
    }
    if ((opts as LookupAllOptions).all) return callback(null, addresses);
    const first = addresses[0]!;
    return callback(null, first.address, first.family);
  });
}
