/** One header line as it appears on the wire (after unfolding); `name` is in canonical form. */
export interface SipHeader {
  name: string;
  value: string;
}

export interface SipRequest {
  kind: 'request';
  method: string;
  uri: string;
  version: string;
  headers: SipHeader[];
  body: Buffer;
}

export interface SipResponse {
  kind: 'response';
  status: number;
  reason: string;
  version: string;
  headers: SipHeader[];
  body: Buffer;
}

export type SipMessage = SipRequest | SipResponse;

const COMPACT: Record<string, string> = {
  a: 'Accept-Contact',
  b: 'Referred-By',
  c: 'Content-Type',
  d: 'Request-Disposition',
  e: 'Content-Encoding',
  f: 'From',
  i: 'Call-ID',
  j: 'Reject-Contact',
  k: 'Supported',
  l: 'Content-Length',
  m: 'Contact',
  n: 'Identity-Info',
  o: 'Event',
  r: 'Refer-To',
  s: 'Subject',
  t: 'To',
  u: 'Allow-Events',
  v: 'Via',
  x: 'Session-Expires',
  y: 'Identity',
};

const CANONICAL = new Map<string, string>(
  [
    ...Object.values(COMPACT),
    'Accept',
    'Accept-Encoding',
    'Accept-Language',
    'Alert-Info',
    'Allow',
    'Authentication-Info',
    'Authorization',
    'Call-Info',
    'Content-Disposition',
    'Content-Language',
    'CSeq',
    'Date',
    'Error-Info',
    'Expires',
    'Feature-Caps',
    'In-Reply-To',
    'Max-Forwards',
    'MIME-Version',
    'Min-Expires',
    'Organization',
    'Path',
    'Priority',
    'Proxy-Authenticate',
    'Proxy-Authorization',
    'Proxy-Require',
    'Record-Route',
    'Reply-To',
    'Require',
    'Retry-After',
    'Route',
    'Server',
    'Service-Route',
    'Timestamp',
    'Unsupported',
    'User-Agent',
    'Warning',
    'WWW-Authenticate',
    'RSeq',
    'RAck',
    'P-Asserted-Identity',
    'Privacy',
    'Reason',
    'Flow-Timer',
    'X-MPUSH',
  ].map((n) => [n.toLowerCase(), n]),
);

/** Expands compact forms and gives well-known headers their usual spelling; others keep theirs. */
export function canonicalHeaderName(name: string): string {
  const lower = name.toLowerCase();
  if (lower.length === 1) {
    const full = COMPACT[lower];
    if (full) return full;
  }
  return CANONICAL.get(lower) ?? name;
}

/**
 * Headers whose values are comma-separated lists (RFC 3261 §7.3.1); the parser splits them into
 * one entry per element so that callers never have to split again. Authorization-style headers,
 * Date and others where commas are data stay whole.
 */
const LIST_HEADERS = new Set(
  [
    'Via',
    'Contact',
    'Route',
    'Record-Route',
    'Path',
    'Service-Route',
    'Allow',
    'Supported',
    'Require',
    'Proxy-Require',
    'Unsupported',
    'Accept',
    'Accept-Encoding',
    'Accept-Language',
    'Content-Encoding',
    'Allow-Events',
    'In-Reply-To',
    'Accept-Contact',
    'Reject-Contact',
  ].map((n) => n.toLowerCase()),
);

export function isListHeader(canonicalName: string): boolean {
  return LIST_HEADERS.has(canonicalName.toLowerCase());
}

function sameName(a: string, b: string): boolean {
  return a.length === b.length && a.toLowerCase() === b.toLowerCase();
}

/** First value of a header, by any spelling or compact form of its name. */
export function getHeader(message: SipMessage, name: string): string | undefined {
  const wanted = canonicalHeaderName(name);
  return message.headers.find((h) => sameName(h.name, wanted))?.value;
}

/** Every value of a header, in message order. */
export function getHeaders(message: SipMessage, name: string): string[] {
  const wanted = canonicalHeaderName(name);
  return message.headers.filter((h) => sameName(h.name, wanted)).map((h) => h.value);
}

/** Replaces every occurrence of a header by one value (placed where the first one was). */
export function setHeader(message: SipMessage, name: string, value: string): void {
  const wanted = canonicalHeaderName(name);
  const index = message.headers.findIndex((h) => sameName(h.name, wanted));
  removeHeader(message, wanted);
  const entry = { name: wanted, value };
  if (index < 0) message.headers.push(entry);
  else message.headers.splice(index, 0, entry);
}

/** Adds a header after the existing ones, or first with `{ first: true }` (Via, Record-Route). */
export function addHeader(message: SipMessage, name: string, value: string, options: { first?: boolean } = {}): void {
  const entry = { name: canonicalHeaderName(name), value };
  if (options.first) {
    const index = message.headers.findIndex((h) => sameName(h.name, entry.name));
    if (index >= 0) message.headers.splice(index, 0, entry);
    else message.headers.unshift(entry);
  } else {
    message.headers.push(entry);
  }
}

export function removeHeader(message: SipMessage, name: string): void {
  const wanted = canonicalHeaderName(name);
  message.headers = message.headers.filter((h) => !sameName(h.name, wanted));
}

/** Removes the first (topmost) value of a header and returns it: Via popping in proxies. */
export function removeFirstHeader(message: SipMessage, name: string): string | undefined {
  const wanted = canonicalHeaderName(name);
  const index = message.headers.findIndex((h) => sameName(h.name, wanted));
  if (index < 0) return undefined;
  const [removed] = message.headers.splice(index, 1);
  return removed!.value;
}

/** A deep copy, so that a forwarded request can be changed without touching the original. */
export function cloneMessage<T extends SipMessage>(message: T): T {
  return { ...message, headers: message.headers.map((h) => ({ ...h })), body: Buffer.from(message.body) };
}
