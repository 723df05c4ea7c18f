import { hash } from 'node:crypto';
import { getHeader, getHeaders, parseNameAddr, parseVia, randomHex, type SipRequest } from '@pushrelay/sip';
import type { LocalAddress } from '../proxy.js';

const MARK = 'z9hG4bK-pr';
const OURS = /^z9hG4bK-pr([0-9a-f]{16})-/;

/**
 * RFC 3261 §16.6 step 8 / §16.3 step 4: the part of our branch that a request coming back
 * unchanged would produce again. A spiral (the upstream sending a call for a user back here, to
 * a device) has another Request-URI and does not match.
 */
export function loopKey(request: SipRequest): string {
  const tag = (name: string): string => {
    try {
      return parseNameAddr(getHeader(request, name) ?? '').params['tag'] ?? '';
    } catch {
      return '';
    }
  };
  const parts = [
    request.uri,
    getHeader(request, 'Call-ID') ?? '',
    tag('From'),
    tag('To'),
    getHeader(request, 'CSeq') ?? '',
    getHeaders(request, 'Proxy-Require').join(','),
  ];
  return hash('sha256', parts.join('\n')).slice(0, 16);
}

/** A fresh branch for forwarding `request`, carrying its loop key. */
export function forwardBranch(request: SipRequest): string {
  return `${MARK}${loopKey(request)}-${randomHex(6)}`;
}

/** Whether `request` already went through this bridge unchanged: a loop, answered 482. */
export function hasLooped(request: SipRequest, local: LocalAddress): boolean {
  let key: string | undefined;
  for (const value of getHeaders(request, 'Via')) {
    let via;
    try {
      via = parseVia(value);
    } catch {
      continue;
    }
    if (via.host !== local.host || (via.port ?? 5060) !== local.port) continue;
    const match = OURS.exec(via.params['branch'] ?? '');
    if (!match) continue;
    key ??= loopKey(request);
    if (match[1] === key) return true;
  }
  return false;
}
