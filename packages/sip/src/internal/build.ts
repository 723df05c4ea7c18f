import { randomBytes } from 'node:crypto';
import {
  formatUri,
  formatVia,
  parseCSeq,
  parseNameAddr,
  parseVia,
  type CSeq,
  type NameAddr,
  type Via,
} from './grammar.js';
import {
  getHeader,
  getHeaders,
  setHeader,
  type SipHeader,
  type SipMessage,
  type SipRequest,
  type SipResponse,
} from './message.js';
import { SipParseError } from './errors.js';

/** The RFC 3261 magic cookie that marks a branch as globally unique (§8.1.1.7). */
export const BRANCH_COOKIE = 'z9hG4bK';

// Branches, tags and Call-IDs are taken from a pool of random bytes refilled 4 KiB at a time:
// one randomBytes call per identifier cost more than the rest of building a request.
const POOL_SIZE = 4096;
let pool = Buffer.alloc(0);
let poolOffset = 0;

/** `bytes` random bytes from the CSPRNG, as lower-case hex. */
export function randomHex(bytes: number): string {
  if (bytes > POOL_SIZE) return randomBytes(bytes).toString('hex');
  if (poolOffset + bytes > pool.length) {
    pool = randomBytes(POOL_SIZE);
    poolOffset = 0;
  }
  const hex = pool.toString('hex', poolOffset, poolOffset + bytes);
  poolOffset += bytes;
  return hex;
}

export function generateBranch(): string {
  return `${BRANCH_COOKIE}${randomHex(10)}`;
}

export function generateTag(): string {
  return randomHex(6);
}

export function generateCallId(host?: string): string {
  const id = randomHex(12);
  return host ? `${id}@${host}` : id;
}

export const REASON_PHRASES: Readonly<Record<number, string>> = {
  100: 'Trying',
  110: 'Push sent',
  180: 'Ringing',
  181: 'Call Is Being Forwarded',
  182: 'Queued',
  183: 'Session Progress',
  200: 'OK',
  202: 'Accepted',
  300: 'Multiple Choices',
  301: 'Moved Permanently',
  302: 'Moved Temporarily',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  407: 'Proxy Authentication Required',
  408: 'Request Timeout',
  410: 'Gone',
  413: 'Request Entity Too Large',
  415: 'Unsupported Media Type',
  416: 'Unsupported URI Scheme',
  420: 'Bad Extension',
  423: 'Interval Too Brief',
  480: 'Temporarily Unavailable',
  481: 'Call/Transaction Does Not Exist',
  482: 'Loop Detected',
  483: 'Too Many Hops',
  484: 'Address Incomplete',
  486: 'Busy Here',
  487: 'Request Terminated',
  488: 'Not Acceptable Here',
  491: 'Request Pending',
  500: 'Server Internal Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Server Time-out',
  505: 'Version Not Supported',
  513: 'Message Too Large',
  555: 'Push Notification Service Not Supported',
  600: 'Busy Everywhere',
  603: 'Decline',
  604: 'Does Not Exist Anywhere',
  606: 'Not Acceptable',
};

export interface ResponseOptions {
  /** To tag to add when the request's To has none; a fresh one is made otherwise (not for 100). */
  toTag?: string;
  /** Extra headers appended after the copied ones. */
  headers?: SipHeader[];
  body?: Buffer | string;
  contentType?: string;
}

/**
 * Builds a response to `request` per RFC 3261 §8.2.6: Via (all, in order), From, To (with a tag
 * except on 100), Call-ID and CSeq are copied; Record-Route too on dialog-creating 1xx/2xx.
 */
export function createResponse(
  request: SipRequest,
  status: number,
  reason?: string,
  options: ResponseOptions = {},
): SipResponse {
  const headers: SipHeader[] = [];
  for (const h of request.headers) if (h.name === 'Via') headers.push({ ...h });
  const from = getHeader(request, 'From');
  if (from !== undefined) headers.push({ name: 'From', value: from });
  const to = getHeader(request, 'To');
  if (to !== undefined) {
    let value = to;
    if (status > 100 && !hasTag(to)) value = `${to};tag=${options.toTag ?? generateTag()}`;
    headers.push({ name: 'To', value });
  }
  for (const name of ['Call-ID', 'CSeq']) {
    const value = getHeader(request, name);
    if (value !== undefined) headers.push({ name, value });
  }
  if (status > 100 && status < 300) {
    for (const value of getHeaders(request, 'Record-Route')) headers.push({ name: 'Record-Route', value });
  }
  if (status === 100) {
    const timestamp = getHeader(request, 'Timestamp');
    if (timestamp !== undefined) headers.push({ name: 'Timestamp', value: timestamp });
  }
  headers.push(...(options.headers ?? []).map((h) => ({ ...h })));
  const body = toBody(options.body);
  if (body.length > 0 && options.contentType) headers.push({ name: 'Content-Type', value: options.contentType });
  headers.push({ name: 'Content-Length', value: String(body.length) });
  return {
    kind: 'response',
    status,
    reason: reason ?? REASON_PHRASES[status] ?? 'Unknown',
    version: 'SIP/2.0',
    headers,
    body,
  };
}

function hasTag(nameAddr: string): boolean {
  try {
    return typeof parseNameAddr(nameAddr).params['tag'] === 'string';
  } catch {
    return /;\s*tag=/i.test(nameAddr);
  }
}

function toBody(body: Buffer | string | undefined): Buffer {
  if (body === undefined) return Buffer.alloc(0);
  return typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
}

export interface RequestOptions {
  method: string;
  uri: string;
  /** Values for From and To, e.g. `<sip:alice@example.com>;tag=1`; From gets a tag if it has none. */
  from: string;
  to: string;
  callId?: string;
  cseq?: number;
  /** Top Via; the branch is generated when absent, and rport is requested. */
  via?: { transport: string; host: string; port?: number; branch?: string };
  contact?: string;
  maxForwards?: number;
  headers?: SipHeader[];
  body?: Buffer | string;
  contentType?: string;
}

export function createRequest(options: RequestOptions): SipRequest {
  const headers: SipHeader[] = [];
  if (options.via) {
    const via: Via = {
      protocol: 'SIP/2.0',
      transport: options.via.transport.toUpperCase(),
      host: options.via.host,
      params: { branch: options.via.branch ?? generateBranch(), rport: null },
    };
    if (options.via.port !== undefined) via.port = options.via.port;
    headers.push({ name: 'Via', value: formatVia(via) });
  }
  headers.push({ name: 'Max-Forwards', value: String(options.maxForwards ?? 70) });
  headers.push({ name: 'From', value: hasTag(options.from) ? options.from : `${options.from};tag=${generateTag()}` });
  headers.push({ name: 'To', value: options.to });
  headers.push({ name: 'Call-ID', value: options.callId ?? generateCallId() });
  headers.push({ name: 'CSeq', value: `${options.cseq ?? 1} ${options.method}` });
  if (options.contact) headers.push({ name: 'Contact', value: options.contact });
  headers.push(...(options.headers ?? []).map((h) => ({ ...h })));
  const body = toBody(options.body);
  if (body.length > 0 && options.contentType) headers.push({ name: 'Content-Type', value: options.contentType });
  headers.push({ name: 'Content-Length', value: String(body.length) });
  return { kind: 'request', method: options.method, uri: options.uri, version: 'SIP/2.0', headers, body };
}

/**
 * The CANCEL for an INVITE (RFC 3261 §9.1): same Request-URI, Call-ID, From, To, CSeq number and
 * top Via (so it matches the INVITE's branch), and Route headers.
 */
export function createCancel(invite: SipRequest): SipRequest {
  const headers: SipHeader[] = [];
  const topVia = getHeader(invite, 'Via');
  if (topVia !== undefined) headers.push({ name: 'Via', value: topVia });
  headers.push({ name: 'Max-Forwards', value: '70' });
  for (const name of ['From', 'To', 'Call-ID']) headers.push({ name, value: getHeader(invite, name) ?? '' });
  headers.push({ name: 'CSeq', value: `${getCSeq(invite).seq} CANCEL` });
  for (const value of getHeaders(invite, 'Route')) headers.push({ name: 'Route', value });
  headers.push({ name: 'Content-Length', value: '0' });
  return { kind: 'request', method: 'CANCEL', uri: invite.uri, version: 'SIP/2.0', headers, body: Buffer.alloc(0) };
}

/** The ACK a client transaction sends for a non-2xx final response to an INVITE (§17.1.1.3). */
export function createAckForNon2xx(invite: SipRequest, response: SipResponse): SipRequest {
  const headers: SipHeader[] = [];
  const topVia = getHeader(invite, 'Via');
  if (topVia !== undefined) headers.push({ name: 'Via', value: topVia });
  headers.push({ name: 'Max-Forwards', value: '70' });
  headers.push({ name: 'From', value: getHeader(invite, 'From') ?? '' });
  headers.push({ name: 'To', value: getHeader(response, 'To') ?? getHeader(invite, 'To') ?? '' });
  headers.push({ name: 'Call-ID', value: getHeader(invite, 'Call-ID') ?? '' });
  headers.push({ name: 'CSeq', value: `${getCSeq(invite).seq} ACK` });
  for (const value of getHeaders(invite, 'Route')) headers.push({ name: 'Route', value });
  headers.push({ name: 'Content-Length', value: '0' });
  return { kind: 'request', method: 'ACK', uri: invite.uri, version: 'SIP/2.0', headers, body: Buffer.alloc(0) };
}

/**
 * The ACK for a 2xx answer to `invite` (RFC 3261 §13.2.2.4): a new transaction with its own
 * branch, sent to the remote target (the 2xx Contact) along the route set (Record-Route reversed).
 * Send it with `TransactionLayer.sendRaw`.
 */
export function createAckFor2xx(
  invite: SipRequest,
  response: SipResponse,
  via: NonNullable<RequestOptions['via']>,
): SipRequest {
  const contacts = getContacts(response);
  const target = contacts !== '*' && contacts[0] ? formatUri(contacts[0].uri) : invite.uri;
  const routes = getHeaders(response, 'Record-Route').reverse();
  return createRequest({
    method: 'ACK',
    uri: target,
    from: required(invite, 'From'),
    to: required(response, 'To'),
    callId: required(invite, 'Call-ID'),
    cseq: getCSeq(invite).seq,
    via,
    headers: routes.map((value) => ({ name: 'Route', value })),
  });
}

function required(message: SipMessage, name: string): string {
  const value = getHeader(message, name);
  if (value === undefined) throw new SipParseError('missing_header', 'required header missing', { field: name });
  return value;
}

/** All Via elements, topmost first. */
export function getVias(message: SipMessage): Via[] {
  return getHeaders(message, 'Via').map(parseVia);
}

export function getTopVia(message: SipMessage): Via {
  return parseVia(required(message, 'Via'));
}

export function getFrom(message: SipMessage): NameAddr {
  return parseNameAddr(required(message, 'From'), 'From');
}

export function getTo(message: SipMessage): NameAddr {
  return parseNameAddr(required(message, 'To'), 'To');
}

export function getCallId(message: SipMessage): string {
  return required(message, 'Call-ID');
}

export function getCSeq(message: SipMessage): CSeq {
  return parseCSeq(required(message, 'CSeq'));
}

/** Contacts in message order; `'*'` for the wildcard of a removing REGISTER. */
export function getContacts(message: SipMessage): NameAddr[] | '*' {
  const values = getHeaders(message, 'Contact');
  if (values.length === 1 && values[0]!.trim() === '*') return '*';
  return values.map((v) => parseNameAddr(v, 'Contact'));
}

export interface ForwardOptions {
  /** The proxy's own Via: a fresh z9hG4bK branch is generated when none is given. */
  via: { transport: string; host: string; port?: number; branch?: string };
  /** New Request-URI, e.g. the registered Contact of the target device. */
  uri?: string;
  /** Adds `Record-Route: <uri;lr>` so that the dialog keeps passing through this proxy. */
  recordRoute?: string;
}

/**
 * A copy of `request` ready to be forwarded by a proxy (RFC 3261 §16.6): Max-Forwards decremented
 * (70 when absent), the proxy's Via on top, optionally a new Request-URI and a Record-Route.
 * Returns undefined when Max-Forwards is already 0: answer 483 instead.
 */
export function prepareForward(request: SipRequest, options: ForwardOptions): SipRequest | undefined {
  const maxForwards = getHeader(request, 'Max-Forwards');
  const hops = maxForwards === undefined || !/^\d{1,9}$/.test(maxForwards.trim()) ? 70 : Number(maxForwards.trim());
  if (hops <= 0) return undefined;
  const copy: SipRequest = {
    ...request,
    headers: request.headers.map((h) => ({ ...h })),
    body: Buffer.from(request.body),
  };
  if (options.uri !== undefined) copy.uri = options.uri;
  setHeader(copy, 'Max-Forwards', String(hops - 1));
  const via: Via = {
    protocol: 'SIP/2.0',
    transport: options.via.transport.toUpperCase(),
    host: options.via.host,
    params: { branch: options.via.branch ?? generateBranch(), rport: null },
  };
  if (options.via.port !== undefined) via.port = options.via.port;
  copy.headers.unshift({ name: 'Via', value: formatVia(via) });
  if (options.recordRoute !== undefined) {
    const index = copy.headers.findIndex((h) => h.name === 'Record-Route');
    const entry = { name: 'Record-Route', value: `<${options.recordRoute};lr>` };
    if (index < 0) copy.headers.splice(1, 0, entry);
    else copy.headers.splice(index, 0, entry);
  }
  return copy;
}

/** Max-Forwards as a number; undefined when absent or not a number. */
export function getMaxForwards(message: SipMessage): number | undefined {
  const value = getHeader(message, 'Max-Forwards')?.trim();
  return value !== undefined && /^\d{1,9}$/.test(value) ? Number(value) : undefined;
}
