import { SipParseError } from './errors.js';

/** Parameter names are lower-cased; a parameter without `=value` maps to null. */
export type SipParams = Record<string, string | null>;

export interface SipUri {
  /** Lower-cased: `sip`, `sips`, `tel`... */
  scheme: string;
  /** As written, percent-escapes kept. */
  user?: string;
  password?: string;
  host: string;
  port?: number;
  params: SipParams;
  /** `?name=value` URI headers, values as written. */
  headers: Record<string, string>;
  /** For schemes other than sip/sips: everything after `scheme:`; host is then empty. */
  opaque?: string;
}

export interface NameAddr {
  displayName?: string;
  uri: SipUri;
  /** Header parameters (after `>`): tag, expires, q, +sip.instance... */
  params: SipParams;
}

export interface Via {
  protocol: string;
  /** Upper-cased: UDP, TCP, TLS, WS, WSS, SCTP. */
  transport: string;
  host: string;
  port?: number;
  params: SipParams;
}

export interface CSeq {
  seq: number;
  method: string;
}

const TOKEN_RE = /^[A-Za-z0-9\-.!%*_+`'~]+$/;
export function isToken(text: string): boolean {
  return TOKEN_RE.test(text);
}

/**
 * Splits at `separator` characters that are outside quoted strings and `<...>`. Pieces are trimmed;
 * an unterminated quote or bracket is an error rather than a silent mis-split.
 */
export function splitOutside(value: string, separator: string, field?: string): string[] {
  const parts: string[] = [];
  let start = 0;
  let inQuotes = false;
  let inAngle = false;
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    if (inQuotes) {
      if (ch === '\\') i++;
      else if (ch === '"') inQuotes = false;
    } else if (ch === '"') {
      inQuotes = true;
    } else if (inAngle) {
      if (ch === '>') inAngle = false;
    } else if (ch === '<') {
      inAngle = true;
    } else if (ch === separator) {
      parts.push(value.slice(start, i).trim());
      start = i + 1;
    }
  }
  if (inQuotes) throw new SipParseError('bad_header', 'unterminated quoted string', opt(field));
  if (inAngle) throw new SipParseError('bad_header', 'unterminated <', opt(field));
  parts.push(value.slice(start).trim());
  return parts;
}

function opt(field: string | undefined): { field?: string } {
  return field === undefined ? {} : { field };
}

/** Elements of a comma-separated header value; empty elements (`a,,b`) are dropped. */
export function splitHeaderList(value: string, field?: string): string[] {
  return splitOutside(value, ',', field).filter((p) => p.length > 0);
}

export function unquote(text: string): string {
  if (text.length >= 2 && text.startsWith('"') && text.endsWith('"')) {
    return text.slice(1, -1).replace(/\\(.)/gs, '$1');
  }
  return text;
}

export function quote(text: string): string {
  return `"${text.replace(/(["\\])/g, '\\$1')}"`;
}

/** Parses `;a=1;b;c="x y"` (leading `;` optional). Quoted values are unquoted. */
export function parseParams(text: string, field?: string): SipParams {
  const params: SipParams = {};
  const trimmed = text.trim();
  if (trimmed === '') return params;
  const body = trimmed.startsWith(';') ? trimmed.slice(1) : trimmed;
  for (const piece of splitOutside(body, ';', field)) {
    if (piece === '') continue;
    const eq = piece.indexOf('=');
    const name = (eq < 0 ? piece : piece.slice(0, eq)).trim();
    if (!isToken(name)) throw new SipParseError('bad_param', `bad parameter name "${name}"`, opt(field));
    const raw = eq < 0 ? null : piece.slice(eq + 1).trim();
    if (raw !== null && raw.startsWith('"') && (raw.length < 2 || !raw.endsWith('"'))) {
      throw new SipParseError('bad_param', `bad quoted value for ${name}`, opt(field));
    }
    params[name.toLowerCase()] = raw === null ? null : unquote(raw);
  }
  return params;
}

export function formatParams(params: SipParams): string {
  let out = '';
  for (const [name, value] of Object.entries(params)) {
    if (value === null) out += `;${name}`;
    // Feature tags (RFC 3840) carry string values that must stay quoted, e.g. +sip.instance.
    else if (name.startsWith('+') || !isParamValue(value)) out += `;${name}=${quote(value)}`;
    else out += `;${name}=${value}`;
  }
  return out;
}

// Token characters plus what URI parameters, IPv6 references and FCM tokens carry unquoted.
const PARAM_VALUE_RE = /^[A-Za-z0-9\-.!%*_+`'~:[\]/&$]+$/;
function isParamValue(value: string): boolean {
  return PARAM_VALUE_RE.test(value);
}

const HOST_RE = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._]+)$/;

function parsePort(text: string, field?: string): number {
  if (!/^\d{1,5}$/.test(text)) throw new SipParseError('bad_uri', `bad port "${text}"`, opt(field));
  const port = Number(text);
  if (port > 65535) throw new SipParseError('bad_uri', `port out of range ${port}`, opt(field));
  return port;
}

/** Splits `host[:port]` where host may be an IPv6 reference. */
export function parseHostPort(text: string, field?: string): { host: string; port?: number } {
  let host: string;
  let portText: string | undefined;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) throw new SipParseError('bad_uri', 'unterminated IPv6 reference', opt(field));
    host = text.slice(0, close + 1);
    const rest = text.slice(close + 1);
    if (rest !== '') {
      if (!rest.startsWith(':')) throw new SipParseError('bad_uri', `bad host "${text}"`, opt(field));
      portText = rest.slice(1);
    }
  } else {
    const colon = text.indexOf(':');
    host = colon < 0 ? text : text.slice(0, colon);
    portText = colon < 0 ? undefined : text.slice(colon + 1);
  }
  if (!HOST_RE.test(host)) throw new SipParseError('bad_uri', `bad host "${host}"`, opt(field));
  return portText === undefined ? { host } : { host, port: parsePort(portText.trim(), field) };
}

export function parseUri(text: string, field?: string): SipUri {
  const value = text.trim();
  const colon = value.indexOf(':');
  if (colon <= 0) throw new SipParseError('bad_uri', `no scheme in "${value}"`, opt(field));
  const scheme = value.slice(0, colon).toLowerCase();
  if (!/^[a-z][a-z0-9+\-.]*$/.test(scheme)) throw new SipParseError('bad_uri', `bad scheme "${scheme}"`, opt(field));
  const rest = value.slice(colon + 1);
  if (/[\s<>"]/.test(rest)) throw new SipParseError('bad_uri', `illegal character in "${value}"`, opt(field));
  if (scheme !== 'sip' && scheme !== 'sips') {
    if (rest === '') throw new SipParseError('bad_uri', `empty ${scheme} URI`, opt(field));
    return { scheme, host: '', params: {}, headers: {}, opaque: rest };
  }
  // The user part may hold '?', ';' and ',' (user-unreserved), but never an unescaped '@'.
  const at = rest.indexOf('@');
  const userinfo = at < 0 ? undefined : rest.slice(0, at);
  const afterUserAll = at < 0 ? rest : rest.slice(at + 1);
  const question = afterUserAll.indexOf('?');
  const afterUser = question < 0 ? afterUserAll : afterUserAll.slice(0, question);
  const headerText = question < 0 ? '' : afterUserAll.slice(question + 1);
  const semi = afterUser.indexOf(';');
  const hostport = semi < 0 ? afterUser : afterUser.slice(0, semi);
  const uri: SipUri = { scheme, ...parseHostPort(hostport, field), params: {}, headers: {} };
  if (userinfo !== undefined) {
    const pw = userinfo.indexOf(':');
    if (pw < 0) uri.user = userinfo;
    else {
      uri.user = userinfo.slice(0, pw);
      uri.password = userinfo.slice(pw + 1);
    }
    if (uri.user === '') throw new SipParseError('bad_uri', 'empty user part', opt(field));
  }
  if (semi >= 0) uri.params = parseParams(afterUser.slice(semi), field);
  if (headerText !== '') {
    for (const pair of headerText.split('&')) {
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new SipParseError('bad_uri', `bad URI header "${pair}"`, opt(field));
      uri.headers[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
  }
  return uri;
}

export function formatUri(uri: SipUri): string {
  if (uri.opaque !== undefined) return `${uri.scheme}:${uri.opaque}`;
  let out = `${uri.scheme}:`;
  if (uri.user !== undefined) out += uri.password !== undefined ? `${uri.user}:${uri.password}@` : `${uri.user}@`;
  out += uri.host;
  if (uri.port !== undefined) out += `:${uri.port}`;
  out += formatParams(uri.params);
  const headers = Object.entries(uri.headers);
  if (headers.length > 0) out += `?${headers.map(([k, v]) => `${k}=${v}`).join('&')}`;
  return out;
}

/** Parses `"Alice" <sip:a@b;transport=tcp>;tag=x` or the bare `sip:a@b;tag=x` form. */
export function parseNameAddr(text: string, field?: string): NameAddr {
  const value = text.trim();
  if (value === '') throw new SipParseError('bad_name_addr', 'empty value', opt(field));
  if (unbalancedQuotes(value)) throw new SipParseError('bad_name_addr', 'unterminated quoted string', opt(field));
  const lt = findOutsideQuotes(value, '<');
  if (lt >= 0) {
    const gt = value.indexOf('>', lt);
    if (gt < 0) throw new SipParseError('bad_name_addr', 'unterminated <', opt(field));
    const display = value.slice(0, lt).trim();
    const result: NameAddr = {
      uri: parseUri(value.slice(lt + 1, gt), field),
      params: parseParams(value.slice(gt + 1), field),
    };
    const rest = value.slice(gt + 1).trim();
    if (rest !== '' && !rest.startsWith(';')) {
      throw new SipParseError('bad_name_addr', `unexpected "${rest}" after >`, opt(field));
    }
    if (display !== '') {
      if (display.startsWith('"')) {
        if (!display.endsWith('"') || display.length < 2) {
          throw new SipParseError('bad_name_addr', 'bad quoted display name', opt(field));
        }
        result.displayName = unquote(display);
      } else {
        // An unquoted display name is a series of tokens (RFC 3261 §25.1).
        if (!display.split(/\s+/).every(isToken)) {
          throw new SipParseError('bad_name_addr', `bad display name "${display}"`, opt(field));
        }
        result.displayName = display;
      }
    }
    return result;
  }
  // addr-spec form: every ';' belongs to the header, not the URI (RFC 3261 §20).
  const semi = value.indexOf(';');
  const uriText = semi < 0 ? value : value.slice(0, semi);
  if (uriText.includes('?')) throw new SipParseError('bad_name_addr', 'URI headers need <>', opt(field));
  return { uri: parseUri(uriText, field), params: semi < 0 ? {} : parseParams(value.slice(semi), field) };
}

function unbalancedQuotes(value: string): boolean {
  let inQuotes = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (inQuotes && c === '\\') i++;
    else if (c === '"') inQuotes = !inQuotes;
  }
  return inQuotes;
}

function findOutsideQuotes(value: string, ch: string): number {
  let inQuotes = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (inQuotes) {
      if (c === '\\') i++;
      else if (c === '"') inQuotes = false;
    } else if (c === '"') inQuotes = true;
    else if (c === ch) return i;
  }
  return -1;
}

export function formatNameAddr(addr: NameAddr): string {
  let out = '';
  if (addr.displayName !== undefined && addr.displayName !== '') out += `${quote(addr.displayName)} `;
  out += `<${formatUri(addr.uri)}>`;
  return out + formatParams(addr.params);
}

const VIA_PROTOCOL_RE =
  /^([A-Za-z0-9\-.!%*_+`'~]+)[ \t]*\/[ \t]*([A-Za-z0-9\-.!%*_+`'~]+)[ \t]*\/[ \t]*([A-Za-z0-9\-.!%*_+`'~]+)[ \t]+/;

/** Parses one Via element (split a multi-valued Via with splitHeaderList first). */
export function parseVia(text: string): Via {
  const value = text.trim();
  const match = VIA_PROTOCOL_RE.exec(value);
  if (!match) throw new SipParseError('bad_via', `bad Via "${value.slice(0, 80)}"`, { field: 'Via' });
  const rest = value.slice(match[0].length);
  const semi = rest.indexOf(';');
  // sent-by may carry LWS around its colon; nothing else may hold whitespace.
  let sentBy = (semi < 0 ? rest : rest.slice(0, semi)).trim();
  const colon = sentBy.lastIndexOf(':');
  if (colon > 0 && !sentBy.endsWith(']'))
    sentBy = `${sentBy.slice(0, colon).trimEnd()}:${sentBy.slice(colon + 1).trimStart()}`;
  if (sentBy === '') throw new SipParseError('bad_via', 'missing sent-by', { field: 'Via' });
  return {
    protocol: `${match[1]!.toUpperCase()}/${match[2]}`,
    transport: match[3]!.toUpperCase(),
    ...parseHostPort(sentBy, 'Via'),
    params: semi < 0 ? {} : parseParams(rest.slice(semi), 'Via'),
  };
}

export function formatVia(via: Via): string {
  const port = via.port === undefined ? '' : `:${via.port}`;
  return `${via.protocol}/${via.transport} ${via.host}${port}${formatParams(via.params)}`;
}

export function parseCSeq(text: string): CSeq {
  const match = /^(\d{1,10})\s+([A-Za-z0-9\-.!%*_+`'~]+)$/.exec(text.trim());
  if (!match) throw new SipParseError('bad_cseq', `bad CSeq "${text}"`, { field: 'CSeq' });
  const seq = Number(match[1]);
  if (seq > 0x7fffffff) throw new SipParseError('bad_cseq', `sequence number out of range ${seq}`, { field: 'CSeq' });
  return { seq, method: match[2]! };
}
