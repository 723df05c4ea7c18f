import { constants, type ClientHttp2Session, type ClientHttp2Stream, type OutgoingHttpHeaders } from 'node:http2';

const { NGHTTP2_CANCEL } = constants;

/**
 * What happened on the HTTP/2 stream of one request. node-apn drops the response headers
 * (Retry-After included) and reports refused streams, resets and timeouts alike as a generic
 * "apn write failed", so the transport watches the stream itself, keyed by the apns-id it sets.
 */
export interface Exchange {
  /** A stream was opened (false: node-apn failed before anything reached the wire). */
  opened: boolean;
  status?: number;
  headers?: Record<string, string | string[] | undefined>;
  body: string;
  /** RST_STREAM code the stream closed with, when closed by a reset. */
  rstCode?: number;
  stream?: ClientHttp2Stream;
}

const instrumented = new WeakSet<ClientHttp2Session>();

export class ExchangeLog {
  private readonly exchanges = new Map<string, Exchange>();
  /** Requests given up on before node-apn opened their stream: reset as soon as it opens. */
  private readonly cancelled = new Set<string>();

  begin(apnsId: string): Exchange {
    const exchange: Exchange = { opened: false, body: '' };
    this.exchanges.set(apnsId, exchange);
    return exchange;
  }

  end(apnsId: string): void {
    this.exchanges.delete(apnsId);
  }

  /** Resets the request's stream if it opens within `forMs`; after that it never will. */
  cancel(apnsId: string, forMs: number): void {
    this.cancelled.add(apnsId);
    setTimeout(() => this.cancelled.delete(apnsId), forMs).unref();
  }

  /** Wraps `session.request` once so each stream with a known apns-id is observed. */
  watch(session: ClientHttp2Session): void {
    if (instrumented.has(session)) return;
    instrumented.add(session);
    const request = session.request.bind(session);
    session.request = ((headers?: OutgoingHttpHeaders, options?: object) => {
      const id = headers?.['apns-id'];
      const exchange = typeof id === 'string' ? this.exchanges.get(id) : undefined;
      const stream = request(headers, options);
      if (typeof id === 'string' && this.cancelled.delete(id)) {
        // Reset before the body is written: APNs never sees a complete request.
        stream.close(NGHTTP2_CANCEL);
        return stream;
      }
      if (exchange) {
        exchange.opened = true;
        exchange.stream = stream;
        stream.on('response', (h) => {
          exchange.status = Number(h[':status']);
          exchange.headers = h;
          // Only an error has a body worth reading (its reason); 'response' comes before any
          // DATA frame, so nothing of it is missed.
          if (exchange.status !== 200) {
            stream.on('data', (chunk: string | Buffer) => {
              if (exchange.body.length < 16_384) exchange.body += chunk.toString();
            });
          }
        });
        stream.on('close', () => {
          if (stream.rstCode) exchange.rstCode = stream.rstCode;
        });
      }
      return stream;
    }) as typeof session.request;
  }
}
