import { Agent } from 'undici';
import type { Clock } from '@pushrelay/core';

export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
export const DEFAULT_REFRESH_MARGIN_MS = 5 * 60_000;

/** The connection and token settings every provider transport built on this package takes. */
export interface ProviderConnectionOptions {
  /** Extra trusted CA certificates (PEM), e.g. a simulator's. */
  ca?: string | Buffer | ReadonlyArray<string | Buffer>;
  /** Default: the system clock. Only `now` is used. */
  clock?: Pick<Clock, 'now'>;
  /** Refresh an access token this long before it expires. Default 5 minutes. */
  refreshMarginMs?: number;
  /** Headers and body timeout of one request. Default 10 s. */
  requestTimeoutMs?: number;
  /** HTTP/2 connections per credential. Default 4. */
  connections?: number;
  /** Streams per HTTP/2 connection. Default 100 (what FCM allows). */
  maxConcurrentStreams?: number;
}

export type ProviderAgentOptions = Pick<
  ProviderConnectionOptions,
  'ca' | 'requestTimeoutMs' | 'connections' | 'maxConcurrentStreams'
>;

/** An undici agent holding long-lived HTTP/2 connections to one provider for one credential. */
export function createProviderAgent(options: ProviderAgentOptions): Agent {
  const streams = options.maxConcurrentStreams ?? 100;
  const timeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const ca = options.ca === undefined ? undefined : ([] as Array<string | Buffer>).concat(options.ca as never);
  return new Agent({
    allowH2: true,
    connections: options.connections ?? 4,
    maxConcurrentStreams: streams,
    // undici counts an HTTP/2 connection busy after `pipelining` requests; without this it
    // would open a new connection for every concurrent send instead of multiplexing.
    // (Over HTTP/1.1 undici never pipelines POSTs, so this only matters for HTTP/2.)
    pipelining: streams,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    ...(ca ? { connect: { ca } } : {}),
  });
}
