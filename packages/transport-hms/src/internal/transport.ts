import type { Agent } from 'undici';
import {
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
  postJson,
  sendWithAccessToken,
  type ProviderConnectionOptions,
} from '@pushrelay/provider-http';
import { checkCredential, type HmsAppCredential } from './credentials.js';
import {
  HMS_ALL_TOKENS_INVALID,
  HMS_PARTIAL,
  HMS_SUCCESS,
  HMS_TOKEN_EXPIRED,
  mapHmsAnswer,
  readHmsAnswer,
} from './errors.js';
import { buildMessage } from './message.js';
import { ClientCredentialsTokenProvider, DEFAULT_HMS_TOKEN_URL } from './token-provider.js';

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

/** Sends to Huawei Push Kit (v1 or v2 send API) with one cached OAuth token per app. */
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
      const provider = new ClientCredentialsTokenProvider(credential, {
        dispatcher: agent,
        tokenUrl,
        now: this.now,
        timeoutMs,
      });
      const path = credential.projectId
        ? `${basePath}/v2/${encodeURIComponent(credential.projectId)}/messages:send`
        : `${basePath}/v1/${encodeURIComponent(credential.appId)}/messages:send`;
      this.apps.set(credential.appId, {
        appId: credential.appId,
        agent,
        tokens: new TokenCache(provider, {
          now: this.now,
          refreshMarginMs: options.refreshMarginMs ?? DEFAULT_REFRESH_MARGIN_MS,
        }),
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
  async sendToTokens(
    request: PushRequest,
    tokens: readonly string[],
    options: SendOptions = {},
  ): Promise<DeliveryOutcome[]> {
    if (this.inflight.closing) return tokens.map(() => ({ kind: 'retry', reason: 'transport is closing' }));
    let app: App;
    let body: string;
    try {
      if (request.provider !== 'hms') {
        throw new TransportError('hms', `is ${JSON.stringify(request.provider)}, not hms`, { field: 'provider' });
      }
      const found = this.apps.get(request.app);
      if (!found)
        throw new TransportError('hms', `no credential for app ${JSON.stringify(request.app)}`, { field: 'app' });
      app = found;
      body = JSON.stringify({ message: buildMessage(request, tokens, this.now()) });
    } catch (error) {
      // A request Huawei would refuse whatever the retry: settled here, never sent.
      if (error instanceof TransportError) return tokens.map(() => ({ kind: 'rejected', reason: error.message }));
      throw error;
    }
    return this.inflight.track(this.deliver(app, body, tokens, options));
  }

  private async deliver(
    app: App,
    body: string,
    tokens: readonly string[],
    { signal, deadline }: SendOptions,
  ): Promise<DeliveryOutcome[]> {
    const answer = await sendWithAccessToken(
      app.tokens,
      (accessToken) =>
        postJson(app.agent, {
          origin: this.origin,
          path: app.path,
          accessToken,
          body,
          signal,
          deadline,
          timeoutMs: this.timeoutMs,
          now: this.now,
        }),
      // Huawei expired the access token early.
      (a) => readHmsAnswer(a.body)?.code === HMS_TOKEN_EXPIRED,
    );
    if (answer.kind === 'outcome') return tokens.map(() => answer.outcome);
    const hms = readHmsAnswer(answer.body);
    if (hms && (hms.code === HMS_SUCCESS || hms.code === HMS_PARTIAL)) app.proven = true;
    if (hms?.code === HMS_ALL_TOKENS_INVALID && !app.proven) app.unprovenAllInvalid++;
    return mapHmsAnswer(answer.status, hms, tokens, {
      trustAllInvalid: app.proven || app.unprovenAllInvalid <= this.unprovenInvalidLimit,
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
