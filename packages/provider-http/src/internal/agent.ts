import { Agent } from 'undici';

export interface ProviderAgentOptions {
  /** HTTP/2 connections to open. Default 4. */
  connections?: number;
  /** Streams per HTTP/2 connection. Default 100. */
  maxConcurrentStreams?: number;
  /** Headers and body timeout of one request. */
  timeoutMs: number;
  /** Extra trusted CA certificates (PEM), e.g. a simulator's. */
  ca?: string | Buffer | ReadonlyArray<string | Buffer>;
}

/** An undici agent holding long-lived HTTP/2 connections to one provider for one credential. */
export function createProviderAgent(options: ProviderAgentOptions): Agent {
  const streams = options.maxConcurrentStreams ?? 100;
  const ca = options.ca === undefined ? undefined : ([] as Array<string | Buffer>).concat(options.ca as never);
  return new Agent({
    allowH2: true,
    connections: options.connections ?? 4,
    maxConcurrentStreams: streams,
    // undici counts an HTTP/2 connection busy after `pipelining` requests; without this it
    // would open a new connection for every concurrent send instead of multiplexing.
    // (Over HTTP/1.1 undici never pipelines POSTs, so this only matters for HTTP/2.)
    pipelining: streams,
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
    ...(ca ? { connect: { ca } } : {}),
  });
}
