import { createDecipheriv, createECDH, createPublicKey, hkdfSync, randomBytes, verify } from 'node:crypto';
import { webPushToken, type WebPushSubscription } from '@pushrelay/core';
import {
  SimulatorState,
  simulatorHandle,
  startSimulatorServer,
  type ProviderHandler,
  type SimClock,
  type SimRequest,
  type SimResponse,
  type SimulatorHandle,
} from './base.js';
import { createCertificateAuthority, type CertificateAuthority } from './tls.js';

const PUSH_PATH = /^\/push\/([A-Za-z0-9_-]+)$/;
/** RFC 8030 7.2: a push service must take 4096 bytes of body; this one takes no more. */
const MAX_BODY_BYTES = 4096;
/** RFC 8292 2: the JWT's exp must be no more than 24 hours ahead. */
const MAX_JWT_LIFETIME_S = 24 * 3600;
const URGENCIES = new Set(['very-low', 'low', 'normal', 'high']);
const TOPIC = /^[A-Za-z0-9_-]{1,32}$/;

/** A subscription the simulator made, with the browser-side secrets that decrypt its pushes. */
export interface SimWebPushSubscription {
  subscription: WebPushSubscription;
  /** The binding token (canonical JSON) of `subscription`. */
  token: string;
  /** The browser's P-256 private key (base64url), for decrypting outside the simulator. */
  privateKey: string;
  /** The application server key the subscription is bound to, when it was made with one. */
  applicationServerKey?: string;
}

/** What a service worker's `push` event would carry for one delivered message. */
export interface WebPushReceived {
  token: string;
  /** The decrypted plaintext. */
  text: string;
  /** The plaintext as JSON, or undefined when it is not JSON. */
  json: unknown;
  ttl: number;
  urgency: string;
  topic?: string;
  /** The VAPID JWT's claims, verified. */
  vapid: { aud: string; exp: number; sub: string; publicKey: string };
  receivedAt: number;
  id: string;
}

export interface WebPushSimulatorOptions {
  clock?: SimClock;
  authority?: CertificateAuthority;
  /** 0 (default) picks a free port. */
  port?: number;
}

export interface WebPushSimulator extends SimulatorHandle {
  /**
   * A new subscription with real keys, as `PushManager.subscribe()` makes one. With an
   * application server key, only pushes signed with that VAPID key are taken (403 otherwise).
   */
  subscribe(options?: { applicationServerKey?: string }): SimWebPushSubscription;
  /** What the browser received, in order (all subscriptions, or one token's). */
  received(token?: string): WebPushReceived[];
}

function base64url(bytes: Buffer): string {
  return bytes.toString('base64url');
}

/**
 * Decrypts an RFC 8291 `aes128gcm` Web Push body with the receiving browser's keys: the
 * content-coding header of RFC 8188 (salt, record size, the sender's ECDH key), the key and
 * nonce derived from the ECDH secret and the auth secret, then every record. Written from the
 * RFCs, independently of the library the transport encrypts with, so one checks the other.
 * Throws an Error saying what is wrong.
 */
export function decryptWebPush(body: Buffer, keys: { privateKey: string; publicKey: string; auth: string }): Buffer {
  if (body.length < 21) throw new Error('body shorter than the aes128gcm header');
  const salt = body.subarray(0, 16);
  const recordSize = body.readUInt32BE(16);
  const idLength = body[20]!;
  if (idLength !== 65) throw new Error(`keyid is ${idLength} bytes, not a 65-byte P-256 key`);
  if (recordSize < 18) throw new Error(`record size ${recordSize} is below 18`);
  const headerLength = 21 + idLength;
  if (body.length < headerLength + 17) throw new Error('no record after the header');
  const senderKey = body.subarray(21, headerLength);
  const receiverKey = Buffer.from(keys.publicKey, 'base64url');
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(Buffer.from(keys.privateKey, 'base64url'));
  let shared: Buffer;
  try {
    shared = ecdh.computeSecret(senderKey);
  } catch {
    throw new Error('keyid is not a point on P-256');
  }
  const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), receiverKey, senderKey]);
  const ikm = Buffer.from(hkdfSync('sha256', shared, Buffer.from(keys.auth, 'base64url'), keyInfo, 32));
  const cek = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: aes128gcm\0'), 16));
  const nonce = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: nonce\0'), 12));
  const records = body.subarray(headerLength);
  const out: Buffer[] = [];
  let sawLast = false;
  for (let offset = 0, seq = 0; offset < records.length; offset += recordSize, seq++) {
    if (sawLast) throw new Error('data after the last record');
    const record = records.subarray(offset, offset + recordSize);
    if (record.length < 17) throw new Error(`record ${seq} is too short`);
    const iv = Buffer.from(nonce);
    // The record's nonce is the base nonce XOR its sequence number (RFC 8188 2.3).
    // (A body of at most 4096 bytes has a handful of records: the low 32 bits carry the count.)
    iv.writeUInt32BE((iv.readUInt32BE(8) ^ seq) >>> 0, 8);
    const decipher = createDecipheriv('aes-128-gcm', cek, iv);
    decipher.setAuthTag(record.subarray(record.length - 16));
    let plain: Buffer;
    try {
      plain = Buffer.concat([decipher.update(record.subarray(0, record.length - 16)), decipher.final()]);
    } catch {
      throw new Error(`record ${seq} does not decrypt (wrong keys or corrupted)`);
    }
    let end = plain.length - 1;
    while (end >= 0 && plain[end] === 0) end--;
    if (end < 0) throw new Error(`record ${seq} has no padding delimiter`);
    const delimiter = plain[end];
    const last = offset + recordSize >= records.length;
    if (delimiter === 2) sawLast = true;
    else if (delimiter !== 1 || last) throw new Error(`record ${seq} has a bad padding delimiter ${delimiter}`);
    out.push(plain.subarray(0, end));
  }
  if (!sawLast) throw new Error('the last record is not marked last');
  return Buffer.concat(out);
}

interface VapidClaims {
  aud: string;
  exp: number;
  sub: string;
  publicKey: string;
}

/** Checks `Authorization: vapid t=<jwt>, k=<key>` as a push service does (RFC 8292). */
function verifyVapid(header: unknown, audience: string, now: number): VapidClaims | { problem: string } {
  if (typeof header !== 'string') return { problem: 'no Authorization header' };
  const match = /^vapid\s+(.+)$/i.exec(header.trim());
  if (!match) return { problem: 'Authorization is not a vapid scheme' };
  const params = new Map<string, string>();
  for (const part of match[1]!.split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) params.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim());
  }
  const jwt = params.get('t');
  const key = params.get('k');
  if (!jwt || !key) return { problem: 'vapid needs t and k' };
  const parts = jwt.split('.');
  if (parts.length !== 3) return { problem: 't is not a JWT' };
  let head: Record<string, unknown>;
  let claims: Record<string, unknown>;
  try {
    head = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8')) as Record<string, unknown>;
    claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    return { problem: 'JWT header or claims are not JSON' };
  }
  if (head['alg'] !== 'ES256') return { problem: `JWT alg is ${String(head['alg'])}, not ES256` };
  const point = Buffer.from(key, 'base64url');
  if (point.length !== 65 || point[0] !== 4) return { problem: 'k is not an uncompressed P-256 key' };
  const publicKey = createPublicKey({
    key: { kty: 'EC', crv: 'P-256', x: base64url(point.subarray(1, 33)), y: base64url(point.subarray(33)) },
    format: 'jwk',
  });
  const signed = verify(
    'sha256',
    Buffer.from(`${parts[0]}.${parts[1]}`),
    { key: publicKey, dsaEncoding: 'ieee-p1363' },
    Buffer.from(parts[2]!, 'base64url'),
  );
  if (!signed) return { problem: 'JWT signature does not verify with k' };
  if (claims['aud'] !== audience) return { problem: `JWT aud is ${JSON.stringify(claims['aud'])}, not ${audience}` };
  const exp = claims['exp'];
  const nowS = Math.floor(now / 1000);
  if (typeof exp !== 'number' || !Number.isInteger(exp)) return { problem: 'JWT exp is not an integer' };
  if (exp <= nowS) return { problem: 'JWT has expired' };
  if (exp > nowS + MAX_JWT_LIFETIME_S) return { problem: 'JWT exp is more than 24 hours ahead' };
  const sub = claims['sub'];
  if (typeof sub !== 'string' || !/^(mailto:|https:)/.test(sub)) return { problem: 'JWT sub is not mailto: or https:' };
  return { aud: audience, exp, sub, publicKey: key };
}

/** An error answer with Mozilla autopush's body. */
function pushError(status: number, reason: string, message = reason): SimResponse {
  return {
    status,
    reason: message,
    body: { code: status, errno: status === 410 ? 106 : 999, error: reason, message },
  };
}

/** The push service behind the simulator's port: its subscriptions and what browsers received. */
class PushService implements ProviderHandler {
  readonly subscriptions = new Map<string, SimWebPushSubscription>();
  readonly received: WebPushReceived[] = [];
  /** The port's URL, known once it listens: endpoints and VAPID audiences name it. */
  url = '';
  private messages = 0;

  constructor(readonly state: SimulatorState) {}

  tokenOf(request: SimRequest): string | undefined {
    const match = PUSH_PATH.exec(request.path.split('?')[0]!);
    return match ? this.subscriptions.get(match[1]!)?.token : undefined;
  }
  faultable(request: Pick<SimRequest, 'method' | 'path'>): boolean {
    return PUSH_PATH.test(request.path.split('?')[0]!);
  }
  faultResponse(status: number, reason: string | undefined): SimResponse {
    return pushError(status, reason ?? `HTTP ${status}`);
  }
  handle(request: SimRequest): SimResponse {
    const path = request.path.split('?')[0]!;
    const match = PUSH_PATH.exec(path);
    if (request.method === 'POST' && match) return this.push(request, match[1]!);
    return pushError(404, 'Not Found', `no route ${request.method} ${path}`);
  }
  inspect(request: SimRequest): SimResponse | undefined {
    const route = `${request.method} ${request.path.split('?')[0]}`;
    if (route === 'POST /__sim/subscriptions') {
      let key: unknown;
      try {
        key = request.body.length
          ? (JSON.parse(request.body.toString('utf8')) as { applicationServerKey?: unknown }).applicationServerKey
          : undefined;
      } catch {
        return { status: 400, body: { error: 'invalid JSON' } };
      }
      if (key !== undefined && typeof key !== 'string') {
        return { status: 400, body: { error: 'applicationServerKey must be a base64url string' } };
      }
      return { status: 201, body: this.subscribe(key === undefined ? {} : { applicationServerKey: key }) };
    }
    if (route === 'GET /__sim/received') return { status: 200, body: this.received };
    return undefined;
  }

  /** A push to subscription `id`: VAPID, RFC 8291 headers and body, decrypted as the browser would. */
  private push(request: SimRequest, id: string): SimResponse {
    const sub = this.subscriptions.get(id);
    if (!sub) return pushError(404, 'Not Found', 'no such subscription');
    const now = this.state.clock.now();
    const goneAt = this.state.tokens.unregisteredAt(sub.token);
    if (goneAt !== undefined && goneAt <= now)
      return pushError(410, 'Gone', 'the subscription has expired or was unsubscribed');
    const vapid = verifyVapid(request.headers['authorization'], this.url, now);
    if ('problem' in vapid) return pushError(401, 'Unauthorized', vapid.problem);
    if (sub.applicationServerKey !== undefined && vapid.publicKey !== sub.applicationServerKey) {
      return pushError(403, 'Forbidden', 'the VAPID key is not the one the subscription was made with');
    }
    const ttlHeader = request.headers['ttl'];
    if (typeof ttlHeader !== 'string' || !/^\d+$/.test(ttlHeader))
      return pushError(400, 'Bad Request', 'TTL is required');
    const urgency = request.headers['urgency'] ?? 'normal';
    if (typeof urgency !== 'string' || !URGENCIES.has(urgency)) return pushError(400, 'Bad Request', 'bad Urgency');
    const topic = request.headers['topic'];
    if (topic !== undefined && (typeof topic !== 'string' || !TOPIC.test(topic))) {
      return pushError(400, 'Bad Request', 'Topic must be at most 32 base64url characters');
    }
    if (request.bodyTruncated || request.body.length > MAX_BODY_BYTES) {
      return pushError(413, 'Payload Too Large', `the body is over ${MAX_BODY_BYTES} bytes`);
    }
    if (request.headers['content-encoding'] !== 'aes128gcm') {
      return pushError(400, 'Bad Request', 'Content-Encoding must be aes128gcm');
    }
    let plain: Buffer;
    try {
      plain = decryptWebPush(request.body, {
        privateKey: sub.privateKey,
        publicKey: sub.subscription.keys.p256dh,
        auth: sub.subscription.keys.auth,
      });
    } catch (e) {
      // A real push service cannot decrypt and would accept it; the browser would drop it.
      return pushError(400, 'Bad Request', `the browser could not decrypt it: ${(e as Error).message}`);
    }
    const text = plain.toString('utf8');
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    const messageId = `m${++this.messages}-${randomBytes(6).toString('hex')}`;
    this.received.push({
      token: sub.token,
      text,
      json,
      ttl: Number(ttlHeader),
      urgency,
      ...(topic !== undefined ? { topic: topic as string } : {}),
      vapid,
      receivedAt: request.receivedAt,
      id: messageId,
    });
    return {
      status: 201,
      headers: { location: `${this.url}/message/${messageId}`, ttl: ttlHeader },
      token: sub.token,
      delivery: { token: sub.token, payload: json ?? text, id: messageId },
    };
  }

  subscribe(opts: { applicationServerKey?: string } = {}): SimWebPushSubscription {
    const ecdh = createECDH('prime256v1');
    ecdh.generateKeys();
    const id = randomBytes(16).toString('base64url');
    const subscription: WebPushSubscription = {
      endpoint: `${this.url}/push/${id}`,
      keys: { p256dh: ecdh.getPublicKey('base64url'), auth: randomBytes(16).toString('base64url') },
    };
    const made: SimWebPushSubscription = {
      subscription,
      token: webPushToken(subscription),
      // The private key is a 32-byte scalar; ECDH drops leading zero bytes.
      privateKey: Buffer.concat([Buffer.alloc(32 - ecdh.getPrivateKey().length), ecdh.getPrivateKey()]).toString(
        'base64url',
      ),
      ...(opts.applicationServerKey !== undefined ? { applicationServerKey: opts.applicationServerKey } : {}),
    };
    this.subscriptions.set(id, made);
    return structuredClone(made);
  }
}

/**
 * Starts a Web Push service (RFC 8030) on 127.0.0.1 over TLS + HTTP/2: it hands out
 * subscriptions with real keys, takes pushes only with a valid VAPID JWT (aud, exp, sub,
 * signature) and RFC 8291 headers, decrypts each with the subscription's private keys and
 * records what the browser would receive. Answers as push services do: 201 with Location,
 * 404 unknown / 410 gone subscriptions, 413 too large, 400 malformed, 401/403 VAPID refused.
 */
export async function startWebPushSimulator(options: WebPushSimulatorOptions = {}): Promise<WebPushSimulator> {
  const state = new SimulatorState('webpush', options.clock ? { clock: options.clock } : {});
  const authority = options.authority ?? createCertificateAuthority('pushrelay Web Push simulator CA');
  const service = new PushService(state);
  const server = await startSimulatorServer({
    state,
    handler: service,
    ca: authority,
    environment: 'webpush',
    maxBodyBytes: MAX_BODY_BYTES + 1,
    ...(options.port !== undefined ? { port: options.port } : {}),
  });
  service.url = server.url;
  const received = service.received;
  const handle = simulatorHandle(state, [server], authority);
  return {
    ...handle,
    clearDeliveries: () => {
      handle.clearDeliveries();
      received.length = 0;
    },
    subscribe: (opts) => service.subscribe(opts),
    received: (token) =>
      received.filter((r) => token === undefined || r.token === token).map((r) => structuredClone(r)),
  };
}
