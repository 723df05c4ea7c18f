import { Agent } from 'undici';
import type { Span } from '@opentelemetry/api';
import {
  activeTracer,
  traceProviderRequest,
  TransportError,
  type DeliveryOutcome,
  type PushRequest,
  type SendOptions,
  type Transport,
} from '@pushrelay/core';
import {
  DEFAULT_REQUEST_TIMEOUT_MS,
  InflightSends,
  parseRetryAfter,
  postBody,
  type ProviderConnectionOptions,
} from '@pushrelay/provider-http';
import { outcomeOf } from './answer.js';
import { publicOnlyLookup, webPushEndpointProblem } from './endpoint.js';
import { encryptFor, plaintextOf, pushHeaders, subscriptionOf } from './message.js';
import { VapidHeaders, checkVapidKeySet, type VapidKeySet } from './vapid.js';

export interface WebPushTransportOptions extends Pick<
  ProviderConnectionOptions,
  'ca' | 'clock' | 'requestTimeoutMs' | 'maxConcurrentStreams'
> {
  /** One key set per application server identity; `request.app` picks it by `app`. */
  vapid: readonly VapidKeySet[];
  /**
   * Push to http: endpoints and to private or local addresses. Only for tests against a push
   * service on this machine: in production a subscription is anything a browser (or an
   * attacker) registered, and must not reach the relay's own network.
   */
  allowInsecureEndpoints?: boolean;
  /** Lifetime of the VAPID JWTs, at most 24 h (RFC 8292). Default 12 h; each is reused for half of it. */
  vapidLifetimeS?: number;
  /** Connections per push service origin. Default 2. */
  connections?: number;
}

const MAX_VAPID_LIFETIME_S = 24 * 3600;

/**
 * Sends Web Push messages (RFC 8030) to browsers' push services: the payload encrypted for the
 * subscription (RFC 8291 aes128gcm) and signed with the application server's VAPID key
 * (RFC 8292), over long-lived HTTP/2 connections, one pool per push service origin.
 */
export class WebPushTransport implements Transport {
  readonly provider = 'webpush' as const;
  private readonly agent: Agent;
  private readonly keys = new Map<string, VapidHeaders>();
  private readonly now: () => number;
  private readonly timeoutMs: number;
  private readonly allowInsecure: boolean;
  private readonly inflight = new InflightSends();

  constructor(options: WebPushTransportOptions) {
    if (!options || !Array.isArray(options.vapid) || options.vapid.length === 0) {
      throw new TransportError('webpush', 'at least one VAPID key set is required', { field: 'vapid' });
    }
    const lifetimeS = options.vapidLifetimeS ?? 12 * 3600;
    if (!Number.isInteger(lifetimeS) || lifetimeS < 60 || lifetimeS > MAX_VAPID_LIFETIME_S) {
      throw new TransportError('webpush', `must be an integer from 60 to ${MAX_VAPID_LIFETIME_S}`, {
        field: 'vapidLifetimeS',
      });
    }
    const clock = options.clock;
    this.now = clock ? () => clock.now() : Date.now;
    this.timeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.allowInsecure = options.allowInsecureEndpoints === true;
    const checked = options.vapid.map((v, i) => checkVapidKeySet(v, i));
    checked.forEach((set, index) => {
      if (this.keys.has(set.app)) {
        throw new TransportError('webpush', `app ${set.app} is configured twice`, { field: `vapid[${index}].app` });
      }
      this.keys.set(set.app, new VapidHeaders(set, { now: this.now, lifetimeS }));
    });
    const streams = options.maxConcurrentStreams ?? 100;
    const ca = options.ca === undefined ? undefined : ([] as Array<string | Buffer>).concat(options.ca as never);
    this.agent = new Agent({
      allowH2: true,
      connections: options.connections ?? 2,
      maxConcurrentStreams: streams,
      // Counted busy after `pipelining` requests: without it HTTP/2 would not multiplex.
      pipelining: streams,
      headersTimeout: this.timeoutMs,
      bodyTimeout: this.timeoutMs,
      connect: {
        ...(ca ? { ca } : {}),
        ...(this.allowInsecure ? {} : { lookup: publicOnlyLookup }),
      },
    });
  }

  async send(request: PushRequest, options: SendOptions = {}): Promise<DeliveryOutcome> {
    if (this.inflight.closing) return { kind: 'retry', reason: 'transport is closing' };
    if (request.provider !== 'webpush') {
      throw new TransportError('webpush', `is ${JSON.stringify(request.provider)}, not webpush`, { field: 'provider' });
    }
    let origin: string;
    let path: string;
    let headers: Record<string, string>;
    let body: Buffer;
    try {
      const vapid = this.keys.get(request.app);
      if (!vapid) {
        throw new TransportError('webpush', `no VAPID key set for app ${JSON.stringify(request.app)}`, {
          field: 'app',
        });
      }
      const subscription = subscriptionOf(request);
      const problem = webPushEndpointProblem(subscription.endpoint, { allowInsecure: this.allowInsecure });
      if (problem) throw new TransportError('webpush', problem, { field: 'token.endpoint' });
      const url = new URL(subscription.endpoint);
      origin = url.origin;
      path = `${url.pathname}${url.search}`;
      headers = pushHeaders(request, this.now());
      const plaintext = plaintextOf(request);
      headers['authorization'] = vapid.for(origin);
      body = encryptFor(subscription, plaintext);
    } catch (error) {
      // What no push service would take, whatever the retry: settled here, never sent.
      if (error instanceof TransportError) return { kind: 'rejected', reason: error.message };
      throw error;
    }
    if (activeTracer()) {
      return this.inflight.track(
        traceProviderRequest('webpush', request.app, (span) =>
          this.deliver(origin, path, headers, body, options, span),
        ),
      );
    }
    return this.inflight.track(this.deliver(origin, path, headers, body, options));
  }

  private async deliver(
    origin: string,
    path: string,
    headers: Record<string, string>,
    body: Buffer,
    { signal, deadline }: SendOptions,
    span?: Span,
  ): Promise<DeliveryOutcome> {
    const answer = await postBody(this.agent, {
      origin,
      path,
      headers,
      body,
      signal,
      deadline,
      timeoutMs: this.timeoutMs,
      now: this.now,
    });
    if (answer.kind === 'outcome') return answer.outcome;
    if (span?.isRecording()) span.setAttribute('http.response.status_code', answer.status);
    return outcomeOf(answer.status, answer.body, parseRetryAfter(answer.retryAfter, this.now()), answer.location);
  }

  /** Stops taking sends, lets the ones in flight finish, then closes every connection. */
  close(): Promise<void> {
    return this.inflight.close(() => this.agent.close());
  }
}

export function createWebPushTransport(options: WebPushTransportOptions): WebPushTransport {
  return new WebPushTransport(options);
}
