import { hash } from 'node:crypto';
import { parseNameAddr, parseUri, type SipUri, type TransportProtocol } from '@pushrelay/sip';
import type { LocalAddress } from '../proxy.js';

const REF = /^pr[0-9a-f]{20}$/;

/**
 * The bridge's own URIs in edge mode. Each device gets a ref, the user part of the Path entry
 * (and of the Contact alias) the bridge hands upstream, so a request coming back names the device
 * it is for. Refs are a hash of user and device key: the same after a re-REGISTER or a restart.
 */
export class EdgeAddressing {
  constructor(
    private readonly local: () => LocalAddress,
    private readonly upstreamTransport: TransportProtocol,
  ) {}

  refFor(user: string, deviceKey: string): string {
    return `pr${hash('sha256', `${user}\n${deviceKey}`).slice(0, 20)}`;
  }

  /** `<sip:REF@bridge:port;transport=...;lr>`: the Path entry (RFC 3327) for one device. */
  pathEntry(ref: string): string {
    return `<${this.aliasUri(ref)};lr>`;
  }

  /** `sip:REF@bridge:port;transport=...`: the Contact alias for registrars without Path. */
  aliasUri(ref: string): string {
    const { host, port } = this.local();
    const transport = this.upstreamTransport === 'udp' ? '' : `;transport=${this.upstreamTransport}`;
    return `sip:${ref}@${host}:${port}${transport}`;
  }

  /** Whether a URI points at this bridge (host and port). */
  isOwn(uri: SipUri): boolean {
    const { host, port } = this.local();
    return uri.host.replace(/^\[|\]$/g, '') === host && (uri.port ?? 5060) === port;
  }

  /** The device ref a URI of ours carries, if any. */
  refOf(uri: SipUri): string | undefined {
    if (!this.isOwn(uri) || uri.user === undefined) return undefined;
    return REF.test(uri.user) ? uri.user : undefined;
  }

  /** The ref in a Route or Path value (`<sip:REF@bridge;lr>`), if it is one of ours. */
  refOfNameAddr(value: string): string | undefined {
    try {
      return this.refOf(parseNameAddr(value).uri);
    } catch {
      return undefined;
    }
  }

  /** Whether a Path or Route value names this bridge. */
  namesUs(value: string): boolean {
    try {
      return this.isOwn(parseNameAddr(value).uri);
    } catch {
      return false;
    }
  }

  refOfRequestUri(requestUri: string): string | undefined {
    try {
      return this.refOf(parseUri(requestUri));
    } catch {
      return undefined;
    }
  }
}

/** Which device each ref handed upstream stands for. */
export class DeviceRefs {
  private readonly byRef = new Map<string, { user: string; key: string }>();

  remember(ref: string, user: string, key: string): void {
    this.byRef.set(ref, { user, key });
  }

  lookup(ref: string): { user: string; key: string } | undefined {
    return this.byRef.get(ref);
  }

  forget(ref: string): void {
    this.byRef.delete(ref);
  }

  get size(): number {
    return this.byRef.size;
  }
}
