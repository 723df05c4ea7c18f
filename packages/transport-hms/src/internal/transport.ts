import { Agent } from 'undici';
import {
  TransportError,
  type Clock,
  type DeliveryOutcome,
  type PushRequest,
  type SendOptions,
  type Transport,
} from '@pushrelay/core';
import { checkCredential, type HmsAppCredential } from './credentials.js';
import { HMS_ALL_TOKENS_INVALID, HMS_PARTIAL, HMS_SUCCESS, HMS_TOKEN_EXPIRED, mapHmsAnswer, readHmsAnswer } from './errors.js';
import { TokenRequestError, networkReason, neverProcessed, parseRetryAfter, safeJson } from './http.js';
import { buildMessage } from './message.js';
import { TokenCache } from './token-cache.js';
import { ClientCredentialsTokenProvider, DEFAULT_HMS_TOKEN_URL } from './token-provider.js';

export const DEFAULT_HMS_BASE_URL = 'https://push-api.cloud.huawei.com';

export interface HmsTransportOptions {
  /** One entry per Huawei app; `request.app` picks the entry by app id. */
  credentials: readonly HmsAppCredential[];
  /** Default `https://push-api.cloud.huawei.com`. */
  baseUrl?: string;
  /** Default `https://oauth-login.cloud.huawei.com/oauth2/v3/token`. */
  tokenUrl?: string;
  /** Extra trusted CA certificates (PEM), e.g. a simulator's. */
  ca?: string | Buffer | ReadonlyArray<string | Buffer>;
  /** Default: the system clock. Only `now` is used. */
  clock?: Pick<Clock, 'now'>;
  /** Refresh an access token this long before it expires. Default 5 minutes. */
  refreshMarginMs?: number;
  /** Headers and body timeout of one request. Default 10 s. */
  requestTimeoutMs?: number;
  /** Connections per app. Default 4. */
  connections?: number;
  /** Streams per HTTP/2 connection. Default 100. */
  maxConcurrentStreams?: number;
  /**
   * How many 80300007 ("all tokens invalid") answers an app that has never had a push accepted
   * may report as invalid-token; later ones are `rejected` (binding kept) until a push to that
   * app succeeds, because a wrong app id gets the same answer for every token. Default 3.
   */
  unprovenInvalidTokenLimit?: number;
}

interface App {
  appId: string;
  agent: Agent;
  tokens: TokenCache;
  path: string;
  /** Set after the first accepted push: the app id and secret are right. */
  proven: boolean;
  /** 80300007 answers while not proven. */
  unprovenAllInvalid: number;
}

type Answer =
  | { kind: 'answer'; status: number; body: unknown; retryAfter: string | string[] | undefined }
  | { kind: 'outcome'; outcome: DeliveryOutcome };

function tokenOutcome(error: unknown): DeliveryOutcome {
  if (error instanceof TokenRequestError) {
    if (error.kind === 'auth') return { kind: 'auth-failed', reason: error.message };
    return error.retryAfterMs === undefined
      ? { kind: 'retry', reason: error.message }
      : { kind: 'retry', reason: error.message, retryAfterMs: error.retryAfterMs };
  }
  return { kind: 'retry', reason: networkReason(error) };
}

/** Sends to Huawei Push Kit (v1 or v2 send API) with one cached OAuth token per app. */
export class HmsTransport implements Transport {
  readonly provider = 'hms' as const;
  private readonly apps = new Map<string, App>();
  private readonly origin: string;
  private readonly now: () => number;
  private readonly unprovenInvalidLimit: number;
  private readonly inflight = new Set<Promise<unknown>>();
  private closing: Promise<void> | undefined;

  constructor(options: HmsTransportOptions) {
    if (!options || !Array.isArray(options.credentials) || options.credentials.length === 0) {
      throw new TransportError('hms', 'at least one app credential is required', { field: 'credentials' });
    }
    const base = new URL(options.baseUrl ?? DEFAULT_HMS_BASE_URL);
    this.origin = base.origin;
    const basePath = base.pathname.replace(/\/+$/, '');
    const tokenUrl = options.tokenUrl ?? DEFAULT_HMS_TOKEN_URL;
    try {
      new URL(tokenUrl);
    } catch {
      throw new TransportError('hms', `is not a URL: ${JSON.stringify(tokenUrl)}`, { field: 'tokenUrl' });
    }
    const clock = options.clock;
    this.now = clock ? () => clock.now() : Date.now;
    const timeoutMs = options.requestTimeoutMs ?? 10_000;
    this.unprovenInvalidLimit = options.unprovenInvalidTokenLimit ?? 3;
    const ca = options.ca === undefined ? undefined : ([] as Array<string | Buffer>).concat(options.ca as never);
    const checked = options.credentials.map((c, i) => checkCredential(c, i));
    checked.forEach((credential, index) => {
      if (this.apps.has(credential.appId)) {
        throw new TransportError('hms', `app ${credential.appId} is configured twice`, { field: `credentials[${index}].appId` });
      }
      const agent = new Agent({
        allowH2: true,
        connections: options.connections ?? 4,
        // undici counts an HTTP/2 connection busy after `pipelining` requests; without this it
        // would open a new connection for every concurrent send instead of multiplexing.
        // (Over HTTP/1.1 undici never pipelines POSTs, so this only matters for HTTP/2.)
        maxConcurrentStreams: options.maxConcurrentStreams ?? 100,
        pipelining: options.maxConcurrentStreams ?? 100,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        ...(ca ? { connect: { ca } } : {}),
      });
      const provider = new ClientCredentialsTokenProvider(credential, { dispatcher: agent, tokenUrl, now: this.now, timeoutMs });
      const path = credential.projectId
        ? `${basePath}/v2/${encodeURIComponent(credential.projectId)}/messages:send`
        : `${basePath}/v1/${encodeURIComponent(credential.appId)}/messages:send`;
      this.apps.set(credential.appId, {
        appId: credential.appId,
        agent,
        tokens: new TokenCache(provider, { now: this.now, refreshMarginMs: options.refreshMarginMs ?? 5 * 60_000 }),
        path,
        proven: false,
        unprovenAllInvalid: 0,
      });
    });
  }

  async send(request: PushRequest, options: SendOptions = {}): Promise<DeliveryOutcome> {
    const [outcome] = await this.sendToTokens(request, [request.token], options);
    return outcome!;
  }

  /**
   * Sends one message to up to 1000 tokens of the same app in one request; the outcomes are in
   * the order of `tokens` (a partial success marks only the tokens Huawei named as invalid).
   */
  async sendToTokens(request: PushRequest, tokens: readonly string[], options: SendOptions = {}): Promise<DeliveryOutcome[]> {
    if (this.closing) return tokens.map(() => ({ kind: 'retry', reason: 'transport is closing' }));
    let app: App;
    let body: string;
    try {
      if (request.provider !== 'hms') {
        throw new TransportError('hms', `is ${JSON.stringify(request.provider)}, not hms`, { field: 'provider' });
      }
      const found = this.apps.get(request.app);
      if (!found) throw new TransportError('hms', `no credential for app ${JSON.stringify(request.app)}`, { field: 'app' });
      app = found;
      body = JSON.stringify({ message: buildMessage(request, tokens, this.now()) });
    } catch (error) {
      // A request Huawei would refuse whatever the retry: settled here, never sent.
      if (error instanceof TransportError) return tokens.map(() => ({ kind: 'rejected', reason: error.message }));
      throw error;
    }
    const pending = this.deliver(app, body, tokens, options.signal);
    this.inflight.add(pending);
    try {
      return await pending;
    } finally {
      this.inflight.delete(pending);
    }
  }

  private async deliver(app: App, body: string, tokens: readonly string[], signal: AbortSignal | undefined): Promise<DeliveryOutcome[]> {
    let accessToken: string;
    try {
      accessToken = await app.tokens.get();
    } catch (error) {
      return tokens.map(() => tokenOutcome(error));
    }
    let answer = await this.post(app, accessToken, body, signal);
    if (answer.kind === 'answer' && readHmsAnswer(answer.body)?.code === HMS_TOKEN_EXPIRED) {
      // Huawei expired the access token early: mint a new one and try exactly once more.
      try {
        accessToken = await app.tokens.renew(accessToken);
      } catch (error) {
        return tokens.map(() => tokenOutcome(error));
      }
      answer = await this.post(app, accessToken, body, signal);
    }
    if (answer.kind === 'outcome') return tokens.map(() => answer.outcome);
    const hms = readHmsAnswer(answer.body);
    if (hms && (hms.code === HMS_SUCCESS || hms.code === HMS_PARTIAL)) app.proven = true;
    if (hms?.code === HMS_ALL_TOKENS_INVALID && !app.proven) app.unprovenAllInvalid++;
    return mapHmsAnswer(answer.status, hms, tokens, {
      trustAllInvalid: app.proven || app.unprovenAllInvalid <= this.unprovenInvalidLimit,
      retryAfterMs: parseRetryAfter(answer.retryAfter, this.now()),
    });
  }

  private async post(app: App, accessToken: string, body: string, signal: AbortSignal | undefined): Promise<Answer> {
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await app.agent.request({
          origin: this.origin,
          path: app.path,
          method: 'POST',
          headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json; charset=utf-8' },
          body,
          // Lets undici multiplex POSTs on one HTTP/2 connection; it never resends on its own.
          idempotent: true,
          ...(signal ? { signal } : {}),
        });
        // The status line is the provider's verdict: a GOAWAY that cuts the body off after it
        // must not turn an accepted push into a retry (that would send it twice).
        const text = await res.body.text().catch(() => '');
        return { kind: 'answer', status: res.statusCode, body: safeJson(text), retryAfter: res.headers['retry-after'] };
      } catch (error) {
        if (signal?.aborted) return { kind: 'outcome', outcome: { kind: 'retry', reason: `aborted: ${String(signal.reason ?? 'signal')}` } };
        // A stream cut off by GOAWAY was not processed; send it again on a fresh connection.
        if (attempt < 3 && neverProcessed(error)) continue;
        return { kind: 'outcome', outcome: { kind: 'retry', reason: networkReason(error) } };
      }
    }
  }

  /** Stops taking sends, lets the ones in flight finish, then closes every connection. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.allSettled([...this.inflight]);
      await Promise.all([...this.apps.values()].map((a) => a.agent.close()));
    })();
    return this.closing;
  }
}

export function createHmsTransport(options: HmsTransportOptions): HmsTransport {
  return new HmsTransport(options);
}
