import { SipParseError } from './errors.js';
import { parseCSeq, parseNameAddr, parseUri, parseVia, splitHeaderList } from './grammar.js';
import { canonicalHeaderName, isListHeader, type SipHeader, type SipMessage } from './message.js';

const CRLF = Buffer.from('\r\n');
const CRLFCRLF = Buffer.from('\r\n\r\n');
const LFLF = Buffer.from('\n\n');
const TOKEN = "[A-Za-z0-9\\-.!%*_+`'~]+";
const REQUEST_LINE = new RegExp(`^(${TOKEN}) (\\S+) ([A-Za-z]+/\\S+)$`);
const STATUS_LINE = /^([A-Za-z]+\/\d+\.\d+) (\d{1,9})(?: (.*))?$/;
const HEADER_NAME = new RegExp(`^${TOKEN}$`);

export interface ParseOptions {
  /**
   * Stream framing (TCP/TLS): a missing Content-Length means an empty body. For datagrams
   * (the default) the body is the rest of the datagram.
   */
  stream?: boolean;
}

/**
 * Parses one whole SIP message (a UDP datagram, or one framed message from a stream).
 * Throws SipParseError, and nothing else, for input that is not a usable SIP message.
 */
export function parseMessage(input: Buffer | Uint8Array | string, options: ParseOptions = {}): SipMessage {
  let data =
    typeof input === 'string' ? Buffer.from(input, 'utf8') : Buffer.isBuffer(input) ? input : Buffer.from(input);
  let start = 0;
  // RFC 3261 §7.5: CRLFs before the start line are ignored.
  while (start < data.length && (data[start] === 0x0d || data[start] === 0x0a)) start++;
  if (start > 0) data = data.subarray(start);
  if (data.length === 0) throw new SipParseError('empty', 'empty message');

  let headEnd = data.indexOf(CRLFCRLF);
  let bodyStart: number;
  if (headEnd >= 0) bodyStart = headEnd + 4;
  else {
    headEnd = data.indexOf(LFLF);
    if (headEnd >= 0) bodyStart = headEnd + 2;
    else {
      headEnd = data.length;
      bodyStart = data.length;
    }
  }
  const lines = unfold(data.subarray(0, headEnd).toString('utf8').split(/\r?\n/));
  const startLine = lines.shift() ?? '';

  let message: SipMessage;
  const requestMatch = REQUEST_LINE.exec(startLine);
  const statusMatch = requestMatch ? null : STATUS_LINE.exec(startLine);
  if (requestMatch) {
    message = {
      kind: 'request',
      method: requestMatch[1]!,
      uri: requestMatch[2]!,
      version: requestMatch[3]!.toUpperCase(),
      headers: [],
      body: Buffer.alloc(0),
    };
  } else if (statusMatch) {
    message = {
      kind: 'response',
      status: Number(statusMatch[2]),
      reason: statusMatch[3] ?? '',
      version: statusMatch[1]!.toUpperCase(),
      headers: [],
      body: Buffer.alloc(0),
    };
  } else {
    throw new SipParseError(
      'bad_start_line',
      `not a request or status line: ${JSON.stringify(startLine.slice(0, 80))}`,
    );
  }
  const request = message.kind === 'request' ? message : undefined;
  const fail = (reason: ConstructorParameters<typeof SipParseError>[0], text: string, field?: string): never => {
    throw new SipParseError(reason, text, {
      ...(field === undefined ? {} : { field }),
      ...(request ? { request } : {}),
    });
  };

  let firstError: SipParseError | undefined;
  for (const line of lines) {
    const colon = line.indexOf(':');
    const name = colon < 0 ? '' : line.slice(0, colon).trimEnd();
    if (colon < 0 || !HEADER_NAME.test(name)) {
      firstError ??= new SipParseError('bad_header', `bad header line ${JSON.stringify(line.slice(0, 80))}`);
      continue;
    }
    const canonical = canonicalHeaderName(name);
    const value = line.slice(colon + 1).trim();
    if (isListHeader(canonical) && value.includes(',')) {
      try {
        for (const element of splitHeaderList(value, canonical))
          message.headers.push({ name: canonical, value: element });
      } catch (error) {
        firstError ??= error as SipParseError;
        message.headers.push({ name: canonical, value });
      }
    } else {
      message.headers.push({ name: canonical, value });
    }
  }
  if (firstError) fail(firstError.reason, firstError.message);

  if (message.version !== 'SIP/2.0') fail('bad_version', `unsupported version ${message.version}`);
  if (message.kind === 'response' && (message.status < 100 || message.status > 699)) {
    fail('bad_status', `status code out of range ${message.status}`);
  }

  const lengths = values(message.headers, 'Content-Length');
  let contentLength: number | undefined;
  for (const text of lengths) {
    if (!/^\d{1,9}$/.test(text)) fail('bad_content_length', `bad value "${text}"`, 'Content-Length');
    const n = Number(text);
    if (contentLength !== undefined && n !== contentLength)
      fail('bad_content_length', 'conflicting values', 'Content-Length');
    contentLength = n;
  }
  const available = data.length - bodyStart;
  if (contentLength === undefined) contentLength = options.stream ? 0 : available;
  if (contentLength > available) {
    fail('truncated_body', `declares ${contentLength} bytes, ${available} present`, 'Content-Length');
  }
  message.body = Buffer.from(data.subarray(bodyStart, bodyStart + contentLength));

  for (const name of ['Via', 'From', 'To', 'Call-ID', 'CSeq']) {
    if (values(message.headers, name).length === 0) fail('missing_header', 'required header missing', name);
  }
  const cseqs = values(message.headers, 'CSeq');
  if (cseqs.length > 1) fail('bad_cseq', 'more than one CSeq', 'CSeq');
  if (values(message.headers, 'Call-ID')[0] === '') fail('missing_header', 'empty Call-ID', 'Call-ID');
  try {
    const cseq = parseCSeq(cseqs[0]!);
    parseVia(values(message.headers, 'Via')[0]!);
    for (const name of ['From', 'To']) {
      const found = values(message.headers, name);
      if (found.length > 1) fail('bad_header', `more than one ${name}`, name);
      parseNameAddr(found[0]!, name);
    }
    if (message.kind === 'request') {
      if (cseq.method !== message.method)
        fail('bad_cseq', `method ${cseq.method} does not match ${message.method}`, 'CSeq');
      parseUri(message.uri, 'Request-URI');
    }
  } catch (error) {
    if (error instanceof SipParseError && !error.request && request) {
      throw new SipParseError(error.reason, error.message, { request });
    }
    throw error;
  }
  return message;
}

function values(headers: SipHeader[], canonical: string): string[] {
  const out: string[] = [];
  for (const h of headers) if (h.name === canonical) out.push(h.value);
  return out;
}

/** Joins continuation lines (leading SP/HTAB) to the header they continue (RFC 3261 §7.3.1). */
function unfold(lines: string[]): string[] {
  const out: string[] = [];
  for (const line of lines) {
    if ((line.startsWith(' ') || line.startsWith('\t')) && out.length > 1) {
      out[out.length - 1] = `${out[out.length - 1]!.trimEnd()} ${line.trim()}`;
    } else if ((line.startsWith(' ') || line.startsWith('\t')) && out.length === 1) {
      // Folding onto the first header line works; folding onto the start line does not exist.
      out[0] = `${out[0]} ${line.trim()}`;
    } else {
      out.push(line);
    }
  }
  return out;
}

export type StreamEvent =
  | { type: 'message'; message: SipMessage }
  /** A framed message that could not be parsed; the stream stays usable unless `fatal`. */
  | { type: 'error'; error: SipParseError; fatal: boolean }
  /** A double-CRLF keep-alive ping (RFC 5626 §3.5.1); answer with a single CRLF. */
  | { type: 'ping' };

export interface StreamParserOptions {
  /** Largest header block accepted before the stream is declared broken. Default 64 KiB. */
  maxHeaderBytes?: number;
  /** Largest body accepted. Default 1 MiB. */
  maxBodyBytes?: number;
}

const CONTENT_LENGTH_LINE = /^(?:content-length|l)[ \t]*:([^\r\n]*)$/im;

/**
 * Frames SIP messages out of a byte stream using Content-Length, buffering partial messages and
 * splitting chunks that hold several. After a fatal error (framing lost) it yields nothing more:
 * the connection should be closed.
 */
export class StreamParser {
  private buffer: Buffer = Buffer.alloc(0);
  private scanFrom = 0;
  private broken = false;
  private readonly maxHeaderBytes: number;
  private readonly maxBodyBytes: number;

  constructor(options: StreamParserOptions = {}) {
    this.maxHeaderBytes = options.maxHeaderBytes ?? 64 * 1024;
    this.maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  }

  /** Bytes held while waiting for the rest of a message. */
  get buffered(): number {
    return this.buffer.length;
  }

  get isBroken(): boolean {
    return this.broken;
  }

  push(chunk: Buffer | Uint8Array): StreamEvent[] {
    if (this.broken) return [];
    this.buffer = this.buffer.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buffer, chunk]);
    const events: StreamEvent[] = [];
    for (;;) {
      if (this.buffer.length === 0) break;
      if (this.buffer[0] === 0x0d || this.buffer[0] === 0x0a) {
        if (this.buffer.length >= 4 && this.buffer.subarray(0, 4).equals(CRLFCRLF)) {
          events.push({ type: 'ping' });
          this.consume(4);
          continue;
        }
        if (this.buffer.length < 4 && CRLFCRLF.subarray(0, this.buffer.length).equals(this.buffer)) break;
        // A lone CRLF (a pong, or a keep-alive from a lenient client) carries nothing.
        this.consume(this.buffer.subarray(0, 2).equals(CRLF) ? 2 : 1);
        continue;
      }
      const headEnd = this.buffer.indexOf(CRLFCRLF, this.scanFrom);
      if (headEnd < 0) {
        if (this.buffer.length > this.maxHeaderBytes) {
          return this.fatal(
            events,
            new SipParseError('too_large', `header block exceeds ${this.maxHeaderBytes} bytes`),
          );
        }
        this.scanFrom = Math.max(0, this.buffer.length - 3);
        break;
      }
      if (headEnd > this.maxHeaderBytes) {
        return this.fatal(events, new SipParseError('too_large', `header block exceeds ${this.maxHeaderBytes} bytes`));
      }
      // Unfolded first, since a folded Content-Length is still a Content-Length (§7.3.1).
      const head = this.buffer
        .subarray(0, headEnd)
        .toString('latin1')
        .replace(/\r\n[ \t]+/g, ' ');
      const match = CONTENT_LENGTH_LINE.exec(head);
      let length = 0;
      if (match) {
        const value = match[1]!.trim();
        if (!/^\d{1,9}$/.test(value)) {
          return this.fatal(
            events,
            new SipParseError('bad_content_length', `bad value "${value.slice(0, 20)}"`, { field: 'Content-Length' }),
          );
        }
        length = Number(value);
      }
      if (length > this.maxBodyBytes) {
        return this.fatal(
          events,
          new SipParseError('too_large', `body of ${length} bytes exceeds ${this.maxBodyBytes}`),
        );
      }
      const total = headEnd + 4 + length;
      if (this.buffer.length < total) break;
      const frame = this.buffer.subarray(0, total);
      try {
        events.push({ type: 'message', message: parseMessage(frame, { stream: true }) });
      } catch (error) {
        events.push({ type: 'error', error: asParseError(error), fatal: false });
      }
      this.consume(total);
    }
    return events;
  }

  private consume(n: number): void {
    this.buffer = this.buffer.subarray(n);
    this.scanFrom = 0;
  }

  private fatal(events: StreamEvent[], error: SipParseError): StreamEvent[] {
    this.broken = true;
    this.buffer = Buffer.alloc(0);
    events.push({ type: 'error', error, fatal: true });
    return events;
  }
}

function asParseError(error: unknown): SipParseError {
  if (error instanceof SipParseError) return error;
  // A bug in the parser must not take the connection down; surface it as a parse failure.
  return new SipParseError('bad_header', `unexpected parser failure: ${String(error)}`);
}
