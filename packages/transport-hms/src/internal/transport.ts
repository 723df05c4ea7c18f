import type { Agent } from 'undici';
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
  DEFAULT_REFRESH_MARGIN_MS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  InflightSends,
  TokenCache,
  createProviderAgent,
  parseRetryAfter,
  postBody,
  sendWithAccessToken,
  type ProviderConnectionOptions,
} from '@pushrelay/provider-http';
import { HMS_APIS, checkCredential, type HmsApi, type HmsAppCredential } from './credentials.js';
import {
  HMS_ALL_TOKENS_INVALID,
  HMS_JWT_EXPIRED,
  HMS_PARTIAL,
  HMS_SUCCESS,
  HMS_TOKEN_EXPIRED,
  mapHmsAnswer,
  mapHmsV3Answer,
  readHmsAnswer,
} from './errors.js';
import { buildMessage } from './message.js';
import { buildV3Message } from './message-v3.js';
import { ClientCredentialsTokenProvider, DEFAULT_HMS_TOKEN_URL, ServiceAccountJwtProvider } from './token-provider.js';

export const DEFAULT_HMS_BASE_URL = 'https://push-api.cloud.huawei.com';

export interface HmsTransportOptions extends ProviderConnectionOptions {
  /** One entry per Huawei app; `request.app` picks the entry by app id. */
  credentials: readonly HmsAppCredential[];
  /** Default `https://push-api.cloud.huawei.com`. */
  baseUrl?: string;
  /** Default `https://oauth-login.cloud.huawei.com/oauth2/v3/token`. */
  tokenUrl?: string;
  /**
   * How many 80300007 ("all tokens invalid") answers an app that has never had a push accepted
   * may report as invalid-token; later ones are `rejected` (binding kept) until a push to that
   * app succeeds, because a wrong app id gets the same answer for every token. Default 3.
   */
  unprovenInvalidTokenLimit?: number;
}

/** One send API of an app: its path and the bearer tokens it takes. */
interface Route {
  api: HmsApi;
  path: string;
  /** OAuth access tokens (v1/v2) or service-account JWTs (v3). */
  tokens: TokenCache;
  /** Set after the first accepted push: the app id (project id) and credential are right. */
  proven: boolean;
  /** "All tokens invalid" answers while not proven. */
  unprovenAllInvalid: number;
}

interface App {
  appId: string;
  agent: Agent;
  routes: Map<HmsApi, Route>;
  /** The API used unless a request names one in `headers['hms-api']`. */
  api: HmsApi;
  testMessage: boolean;
}

/** The request header that picks the send API of one push (never sent to Huawei). */
export const HMS_API_HEADER = 'hms-api';

/**
 * Sends to Huawei Push Kit: the v1/v2 send API with one cached OAuth token per app, and the v3
 * API of HarmonyOS NEXT with a cached service-account JWT, side by side in one transport.
 */
export class HmsTransport implements Transport {
  readonly provider = 'hms' as const;
  private readonly apps = new Map<string, App>();
  private readonly origin: string;
  private readonly now: () => number;
  private readonly timeoutMs: number;
  private readonly unprovenInvalidLimit: number;
  private readonly inflight = new InflightSends();

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
    const timeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.timeoutMs = timeoutMs;
    this.unprovenInvalidLimit = options.unprovenInvalidTokenLimit ?? 3;
    const checked = options.credentials.map((c, i) => checkCredential(c, i));
    // Every credential is checked before any agent opens, so a bad one leaves no sockets behind.
    const seen = new Set<string>();
    checked.forEach((credential, index) => {
      if (seen.has(credential.appId)) {
        throw new TransportError('hms', `app ${credential.appId} is configured twice`, {
          field: `credentials[${index}].appId`,
        });
      }
      seen.add(credential.appId);
    });
    checked.forEach((credential) => {
      const agent = createProviderAgent(options);
      const tokenOptions = { now: this.now, refreshMarginMs: options.refreshMarginMs ?? DEFAULT_REFRESH_MARGIN_MS };
      const routes = new Map<HmsApi, Route>();
      const route = (api: HmsApi, path: string, tokens: TokenCache) =>
        routes.set(api, { api, path, tokens, proven: false, unprovenAllInvalid: 0 });
      if (credential.clientSecret !== undefined) {
        const oauth = new TokenCache(
          new ClientCredentialsTokenProvider(credential, { dispatcher: agent, tokenUrl, now: this.now, timeoutMs }),
          tokenOptions,
        );
        route('v1', `${basePath}/v1/${encodeURIComponent(credential.appId)}/messages:send`, oauth);
        if (credential.projectId !== undefined) {
          route('v2', `${basePath}/v2/${encodeURIComponent(credential.projectId)}/messages:send`, oauth);
        }
      }
      if (credential.serviceAccount !== undefined && credential.projectId !== undefined) {
        route(
          'v3',
          `${basePath}/v3/${encodeURIComponent(credential.projectId)}/messages:send`,
          new TokenCache(new ServiceAccountJwtProvider(credential.serviceAccount, this.now), tokenOptions),
        );
      }
      this.apps.set(credential.appId, {
        appId: credential.appId,
        agent,
        routes,
        api: credential.api,
        testMessage: credential.testMessage,
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
  async sendToTokens(
    request: PushRequest,
    tokens: readonly string[],
    options: SendOptions = {},
  ): Promise<DeliveryOutcome[]> {
    if (this.inflight.closing) return tokens.map(() => ({ kind: 'retry', reason: 'transport is closing' }));
    let app: App;
    let route: Route;
    let body: string;
    let headers: Record<string, string>;
    try {
      if (request.provider !== 'hms') {
        throw new TransportError('hms', `is ${JSON.stringify(request.provider)}, not hms`, { field: 'provider' });
      }
      const found = this.apps.get(request.app);
      if (!found)
        throw new TransportError('hms', `no credential for app ${JSON.stringify(request.app)}`, { field: 'app' });
      app = found;
      const asked = request.headers?.[HMS_API_HEADER];
      if (asked !== undefined && !HMS_APIS.includes(asked as HmsApi)) {
        throw new TransportError('hms', `must be v1, v2 or v3, not ${JSON.stringify(asked)}`, {
          field: `headers.${HMS_API_HEADER}`,
        });
      }
      const api = (asked as HmsApi | undefined) ?? app.api;
      const picked = app.routes.get(api);
      if (!picked) {
        throw new TransportError('hms', `app ${app.appId} has no credential for the ${api} API`, {
          field: `headers.${HMS_API_HEADER}`,
        });
      }
      route = picked;
      headers = { 'content-type': 'application/json; charset=utf-8' };
      if (api === 'v3') {
        const v3 = buildV3Message(request, tokens, this.now(), app.testMessage);
        headers['push-type'] = String(v3.pushType);
        body = JSON.stringify(v3.body);
      } else {
        body = JSON.stringify({ message: buildMessage(request, tokens, this.now()) });
      }
    } catch (error) {
      // A request Huawei would refuse whatever the retry: settled here, never sent.
      if (error instanceof TransportError) return tokens.map(() => ({ kind: 'rejected', reason: error.message }));
      throw error;
    }
    if (activeTracer()) {
      return this.inflight.track(
        traceProviderRequest('hms', app.appId, (span) =>
          this.deliver(app, route, headers, body, tokens, options, span),
        ),
      );
    }
    return this.inflight.track(this.deliver(app, route, headers, body, tokens, options));
  }

  private async deliver(
    app: App,
    route: Route,
    headers: Record<string, string>,
    body: string,
    tokens: readonly string[],
    { signal, deadline }: SendOptions,
    span?: Span,
  ): Promise<DeliveryOutcome[]> {
    const v3 = route.api === 'v3';
    const answer = await sendWithAccessToken(
      route.tokens,
      (accessToken) =>
        postBody(app.agent, {
          origin: this.origin,
          path: route.path,
          headers: { authorization: `Bearer ${accessToken}`, ...headers },
          body,
          signal,
          deadline,
          timeoutMs: this.timeoutMs,
          now: this.now,
        }),
      // Huawei expired the access token (v1/v2) or the JWT (v3) early.
      (a) => readHmsAnswer(a.body)?.code === (v3 ? HMS_JWT_EXPIRED : HMS_TOKEN_EXPIRED),
    );
    if (answer.kind === 'outcome') return tokens.map(() => answer.outcome);
    if (span?.isRecording()) span.setAttribute('http.response.status_code', answer.status);
    const hms = readHmsAnswer(answer.body);
    if (hms && (hms.code === HMS_SUCCESS || hms.code === HMS_PARTIAL)) route.proven = true;
    if (hms?.code === HMS_ALL_TOKENS_INVALID && !route.proven) route.unprovenAllInvalid++;
    return (v3 ? mapHmsV3Answer : mapHmsAnswer)(answer.status, hms, tokens, {
      trustAllInvalid: route.proven || route.unprovenAllInvalid <= this.unprovenInvalidLimit,
      retryAfterMs: parseRetryAfter(answer.retryAfter, this.now()),
    });
  }

  /** Stops taking sends, lets the ones in flight finish, then closes every connection. */
  close(): Promise<void> {
    return this.inflight.close(() => Promise.all([...this.apps.values()].map((a) => a.agent.close())));
  }
}

export function createHmsTransport(options: HmsTransportOptions): HmsTransport {
  return new HmsTransport(options);
}
