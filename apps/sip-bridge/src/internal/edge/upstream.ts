import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { ValidationError } from '@pushrelay/core';
import type { Endpoint, SipHeader } from '@pushrelay/sip';
import type { EdgeConfig, SipHop } from './edge-config.js';

/** The registrar/PBX the edge forwards to, and the outbound proxy in front of it, if any. */
export class Upstream {
  private upstreamAddress: string;
  private proxyAddress: string | undefined;

  constructor(private readonly config: EdgeConfig) {
    this.upstreamAddress = config.upstream.host;
    this.proxyAddress = config.outboundProxy?.host;
  }

  /**
   * Resolves the name of the hop requests are sent to, once, at start; one that does not resolve
   * is a config error. Behind an outbound proxy the upstream's name is the proxy's business.
   */
  async resolve(): Promise<void> {
    if (this.config.outboundProxy) {
      this.proxyAddress = await resolveHop(this.config.outboundProxy, 'edge.outboundProxy');
    } else {
      this.upstreamAddress = await resolveHop(this.config.upstream, 'edge.upstream');
    }
  }

  /** Where requests for upstream are sent: the outbound proxy when there is one. */
  get endpoint(): Endpoint {
    const hop = this.config.outboundProxy ?? this.config.upstream;
    const address = this.config.outboundProxy ? this.proxyAddress! : this.upstreamAddress;
    return { transport: hop.transport, address, port: hop.port };
  }

  get transport(): Endpoint['transport'] {
    return this.endpoint.transport;
  }

  /** `Route: <outbound-proxy;lr>` preloaded on requests for upstream (RFC 3261 §8.1.2). */
  routeHeaders(): SipHeader[] {
    const proxy = this.config.outboundProxy;
    if (!proxy) return [];
    const transport = proxy.transport === 'udp' ? '' : `;transport=${proxy.transport}`;
    return [{ name: 'Route', value: `<sip:${bracket(proxy.host)}:${proxy.port}${transport};lr>` }];
  }

  /**
   * Whether a message came from the upstream or its proxy: its address and SIP port (a TCP
   * connection the upstream opened from another port is not recognised, and loop detection
   * covers what that lets through).
   */
  isPeer(from: Endpoint): boolean {
    const { upstream, outboundProxy } = this.config;
    if (from.address === this.upstreamAddress && from.port === upstream.port) return true;
    return outboundProxy !== undefined && from.address === this.proxyAddress && from.port === outboundProxy.port;
  }
}

async function resolveHop(hop: SipHop, path: string): Promise<string> {
  if (isIP(hop.host)) return hop.host;
  try {
    return (await lookup(hop.host)).address;
  } catch (error) {
    throw new ValidationError(
      [{ path, message: `cannot resolve ${hop.host}: ${(error as Error).message}` }],
      'sip-bridge config',
    );
  }
}

function bracket(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
