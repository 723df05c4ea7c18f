import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createResponse } from './build.js';
import { systemClock, type Clock } from './clock.js';
import { isToken, quote, splitOutside, unquote } from './grammar.js';
import { getHeaders, type SipRequest, type SipResponse } from './message.js';

export type DigestAlgorithm = 'SHA-256' | 'MD5';

const HASH: Record<DigestAlgorithm, string> = { 'SHA-256': 'sha256', MD5: 'md5' };

function h(algorithm: DigestAlgorithm, text: string): string {
  return createHash(HASH[algorithm]).update(text, 'utf8').digest('hex');
}

/** `Digest a=1, b="x, y"` → scheme plus lower-cased parameter names with unquoted values. */
export function parseAuthHeader(value: string): { scheme: string; params: Record<string, string> } | undefined {
  const trimmed = value.trim();
  const space = trimmed.search(/\s/);
  if (space <= 0) return undefined;
  const scheme = trimmed.slice(0, space);
  const params: Record<string, string> = {};
  let pieces: string[];
  try {
    pieces = splitOutside(trimmed.slice(space + 1), ',');
  } catch {
    return undefined;
  }
  for (const piece of pieces) {
    if (piece === '') continue;
    const eq = piece.indexOf('=');
    if (eq <= 0) return undefined;
    const name = piece.slice(0, eq).trim().toLowerCase();
    if (!isToken(name)) return undefined;
    params[name] = unquote(piece.slice(eq + 1).trim());
  }
  return { scheme, params };
}

export interface DigestComputation {
  algorithm: DigestAlgorithm;
  username: string;
  /** The password, or `ha1` in its place. */
  password?: string;
  /** H(username:realm:password) in lower-case hex, for stores that keep no plain passwords. */
  ha1?: string;
  realm: string;
  method: string;
  uri: string;
  nonce: string;
  /** Omit for the RFC 2069 form (no qop). */
  qop?: 'auth';
  nc?: string;
  cnonce?: string;
}

/** H(username:realm:password): what a user store keeps instead of the password (RFC 7616 §3.4.2). */
export function digestHa1(algorithm: DigestAlgorithm, username: string, realm: string, password: string): string {
  return h(algorithm, `${username}:${realm}:${password}`);
}

/** The `response` value of RFC 7616 §3.4.1 (qop=auth) or RFC 2069 (no qop). */
export function computeDigestResponse(c: DigestComputation): string {
  const ha1 = c.ha1?.toLowerCase() ?? h(c.algorithm, `${c.username}:${c.realm}:${c.password ?? ''}`);
  const ha2 = h(c.algorithm, `${c.method}:${c.uri}`);
  if (c.qop) return h(c.algorithm, `${ha1}:${c.nonce}:${c.nc ?? '00000001'}:${c.cnonce ?? ''}:${c.qop}:${ha2}`);
  return h(c.algorithm, `${ha1}:${c.nonce}:${ha2}`);
}

export interface DigestClientOptions {
  /** One WWW-Authenticate or Proxy-Authenticate value (pick the algorithm you want to answer). */
  challenge: string;
  method: string;
  uri: string;
  username: string;
  password: string;
  /** Client nonce; random when absent. */
  cnonce?: string;
  /** Nonce count, 1 for the first use of a nonce. */
  nc?: number;
}

/** The Authorization (or Proxy-Authorization) value answering a digest challenge. */
export function digestClientAuthorization(options: DigestClientOptions): string {
  const parsed = parseAuthHeader(options.challenge);
  if (!parsed || parsed.scheme.toLowerCase() !== 'digest') throw new Error('not a Digest challenge');
  const { params } = parsed;
  const algorithm = (params['algorithm'] ?? 'MD5').toUpperCase() === 'SHA-256' ? 'SHA-256' : 'MD5';
  const realm = params['realm'] ?? '';
  const nonce = params['nonce'] ?? '';
  const offersAuth = (params['qop'] ?? '')
    .split(',')
    .map((q) => q.trim())
    .includes('auth');
  const nc = (options.nc ?? 1).toString(16).padStart(8, '0');
  const cnonce = options.cnonce ?? randomBytes(12).toString('hex');
  const base: DigestComputation = {
    algorithm,
    username: options.username,
    password: options.password,
    realm,
    method: options.method,
    uri: options.uri,
    nonce,
  };
  const response = computeDigestResponse(offersAuth ? { ...base, qop: 'auth', nc, cnonce } : base);
  const parts = [
    `username=${quote(options.username)}`,
    `realm=${quote(realm)}`,
    `nonce=${quote(nonce)}`,
    `uri=${quote(options.uri)}`,
    `response=${quote(response)}`,
    `algorithm=${algorithm}`,
  ];
  if (offersAuth) parts.push(`cnonce=${quote(cnonce)}`, 'qop=auth', `nc=${nc}`);
  if (params['opaque'] !== undefined) parts.push(`opaque=${quote(params['opaque'])}`);
  return `Digest ${parts.join(', ')}`;
}

export type DigestFailure =
  | 'missing'
  | 'malformed'
  | 'realm_mismatch'
  | 'uri_mismatch'
  | 'unsupported_algorithm'
  | 'bad_nonce'
  | 'stale_nonce'
  | 'replayed_nonce_count'
  | 'unknown_user'
  | 'wrong_response';

export type DigestResult =
  | { ok: true; username: string; algorithm: DigestAlgorithm }
  /** `stale` is true when only the nonce was too old: challenge again with stale=true. */
  | { ok: false; reason: DigestFailure; stale: boolean; username?: string };

/**
 * What a credentials lookup gives for a user: the password, or the HA1 for the algorithm asked
 * (`{ ha1 }`), or undefined when there is no such user (or no HA1 for that algorithm).
 */
export type DigestSecret = string | { ha1: string } | undefined;

export interface DigestServerOptions {
  realm: string;
  /** The password or HA1 of a user in the realm for `algorithm`, or undefined when there is no such user. */
  credentials(username: string, realm: string, algorithm: DigestAlgorithm): DigestSecret | Promise<DigestSecret>;
  /** Key that signs nonces; random per instance when absent (nonces then die with the process). */
  secret?: Buffer | string;
  /** How long a nonce stays usable. Default 5 minutes. */
  nonceTtlMs?: number;
  /** Offered in this order; default SHA-256 then MD5 (RFC 8760 §2.4). */
  algorithms?: DigestAlgorithm[];
  /** Accept answers without qop (RFC 2069). They cannot be checked for replay. Default false. */
  allowNoQop?: boolean;
  /**
   * Accept a `uri` parameter that differs from the Request-URI (some softphones send the outbound
   * proxy's URI there). The response is still checked against the `uri` they sent. Default false.
   */
  allowUriMismatch?: boolean;
  clock?: Clock;
}

/**
 * Server side of SIP digest authentication (RFC 3261 §22, RFC 7616, RFC 8760): issues signed,
 * timestamped nonces, verifies answers, reports stale nonces and rejects reused nonce counts.
 */
export class DigestServer {
  readonly realm: string;
  private readonly options: DigestServerOptions;
  private readonly secret: Buffer;
  private readonly ttl: number;
  private readonly clock: Clock;
  private readonly algorithms: DigestAlgorithm[];
  /** Highest nonce count seen per nonce, for replay detection; entries expire with their nonce. */
  private readonly counts = new Map<string, { nc: number; issuedAt: number }>();

  constructor(options: DigestServerOptions) {
    this.options = options;
    this.realm = options.realm;
    this.secret = options.secret === undefined ? randomBytes(32) : Buffer.from(options.secret);
    this.ttl = options.nonceTtlMs ?? 5 * 60 * 1000;
    this.clock = options.clock ?? systemClock;
    this.algorithms = options.algorithms ?? ['SHA-256', 'MD5'];
  }

  /** A fresh nonce: issue time, randomness and an HMAC over both, so no state is kept until used. */
  createNonce(): string {
    const body = Buffer.alloc(16);
    body.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(this.clock.now()))), 0);
    randomBytes(8).copy(body, 8);
    const mac = createHmac('sha256', this.secret).update(body).digest().subarray(0, 16);
    return Buffer.concat([body, mac]).toString('base64url');
  }

  /** Issue time of a nonce we signed, or undefined for a forged or garbled one. */
  private nonceIssuedAt(nonce: string): number | undefined {
    const raw = Buffer.from(nonce, 'base64url');
    if (raw.length !== 32 || raw.toString('base64url') !== nonce) return undefined;
    const body = raw.subarray(0, 16);
    const mac = createHmac('sha256', this.secret).update(body).digest().subarray(0, 16);
    if (!timingSafeEqual(mac, raw.subarray(16))) return undefined;
    return Number(body.readBigUInt64BE(0));
  }

  /** Challenge header values, one per algorithm, all with the same nonce. */
  challenges(options: { stale?: boolean } = {}): string[] {
    const nonce = this.createNonce();
    return this.algorithms.map(
      (algorithm) =>
        `Digest realm=${quote(this.realm)}, nonce=${quote(nonce)}, algorithm=${algorithm}, qop="auth"${options.stale ? ', stale=true' : ''}`,
    );
  }

  /** A 401 (or 407 with `proxy`) carrying the challenges. */
  challenge(request: SipRequest, options: { stale?: boolean; proxy?: boolean } = {}): SipResponse {
    const name = options.proxy ? 'Proxy-Authenticate' : 'WWW-Authenticate';
    return createResponse(request, options.proxy ? 407 : 401, undefined, {
      headers: this.challenges(options).map((value) => ({ name, value })),
    });
  }

  async verify(request: SipRequest, options: { proxy?: boolean } = {}): Promise<DigestResult> {
    const values = getHeaders(request, options.proxy ? 'Proxy-Authorization' : 'Authorization');
    if (values.length === 0) return fail('missing');
    const candidates = values.map(parseAuthHeader);
    const mine = candidates.find((c) => c && c.scheme.toLowerCase() === 'digest' && c.params['realm'] === this.realm);
    if (!mine) {
      return fail(candidates.some((c) => c && c.scheme.toLowerCase() === 'digest') ? 'realm_mismatch' : 'malformed');
    }
    const p = mine.params;
    const username = p['username'];
    const nonce = p['nonce'];
    const uri = p['uri'];
    const response = p['response'];
    if (!username || !nonce || !uri || !response) return fail('malformed', username);
    const algorithmName = (p['algorithm'] ?? 'MD5').toUpperCase();
    const algorithm = this.algorithms.find((a) => a === algorithmName);
    if (!algorithm) return fail('unsupported_algorithm', username);
    if (uri !== request.uri && !this.options.allowUriMismatch) return fail('uri_mismatch', username);

    const issuedAt = this.nonceIssuedAt(nonce);
    if (issuedAt === undefined) return fail('bad_nonce', username);

    const qop = p['qop'];
    let nc: number | undefined;
    if (qop !== undefined) {
      if (qop !== 'auth' || !p['cnonce'] || !/^[0-9a-fA-F]{8}$/.test(p['nc'] ?? '')) return fail('malformed', username);
      nc = parseInt(p['nc']!, 16);
    } else if (!this.options.allowNoQop) {
      return fail('malformed', username);
    }

    const secret = await this.options.credentials(username, this.realm, algorithm);
    if (secret === undefined) return fail('unknown_user', username);
    if (typeof secret !== 'string' && !/^[0-9a-fA-F]+$/.test(secret.ha1)) return fail('unknown_user', username);
    const expected = computeDigestResponse({
      algorithm,
      username,
      ...(typeof secret === 'string' ? { password: secret } : { ha1: secret.ha1 }),
      realm: this.realm,
      method: request.method,
      uri,
      nonce,
      ...(qop ? { qop: 'auth' as const, nc: p['nc']!, cnonce: p['cnonce']! } : {}),
    });
    if (!safeEqual(expected, response.toLowerCase())) return fail('wrong_response', username);

    // A correct answer to an expired nonce proves the password: ask again with stale=true (§3.2.1).
    const now = this.clock.now();
    if (now - issuedAt > this.ttl || issuedAt - now > this.ttl)
      return { ok: false, reason: 'stale_nonce', stale: true, username };

    if (nc !== undefined) {
      this.sweep(now);
      const seen = this.counts.get(nonce);
      if (seen && nc <= seen.nc) return fail('replayed_nonce_count', username);
      this.counts.set(nonce, { nc, issuedAt });
    }
    return { ok: true, username, algorithm };
  }

  private sweep(now: number): void {
    if (this.counts.size < 1024) return;
    for (const [nonce, entry] of this.counts) if (now - entry.issuedAt > this.ttl) this.counts.delete(nonce);
  }
}

function fail(reason: DigestFailure, username?: string): DigestResult {
  return username === undefined ? { ok: false, reason, stale: false } : { ok: false, reason, stale: false, username };
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
