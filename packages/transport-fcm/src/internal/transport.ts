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
  postJson,
  sendWithAccessToken,
  type ProviderConnectionOptions,
  type AccessTokenProvider,
} from '@pushrelay/provider-http';
import { mapFcmError, readFcmError } from './errors.js';
import { buildMessage } from './message.js';
import { parseServiceAccount } from './service-account.js';
import { ServiceAccountTokenProvider } from './token-providers.js';

export const DEFAULT_FCM_BASE_URL = 'https://fcm.googleapis.com';

/** One Firebase project the transport can send for. */
export interface FcmProjectCredential {
  /** The service-account key file: its JSON text or the parsed object. */
  serviceAccount?: string | object;
  /** Any other source of access tokens, e.g. `firebaseAdminTokenProvider(applicationDefault())`. */
  tokenProvider?: AccessTokenProvider;
  /** The Firebase project id (PushRequest.app); defaults to the key file's `project_id`. */
  projectId?: string;
}

export interface FcmTransportOptions extends ProviderConnectionOptions {
  /** One entry per Firebase project; `request.app` picks the entry by project id. */
  credentials: readonly FcmProjectCredential[];
  /** Default `https://fcm.googleapis.com`. */
  baseUrl?: string;
  /** Overrides every key file's `token_uri` (the JWT audience stays `token_uri`). */
  tokenUrl?: string;
}

interface Project {
  id: string;
  agent: Agent;
  tokens: TokenCache;
  path: string;
}

/** Sends to FCM HTTP v1 over long-lived HTTP/2 connections, one agent per Firebase project. */
export class FcmTransport implements Transport {
  readonly provider = 'fcm' as const;
  private readonly projects = new Map<string, Project>();
  private readonly origin: string;
  private readonly basePath: string;
  private readonly now: () => number;
  private readonly timeoutMs: number;
  private readonly inflight = new InflightSends();

  constructor(options: FcmTransportOptions) {
    if (!options || !Array.isArray(options.credentials) || options.credentials.length === 0) {
      throw new TransportError('fcm', 'at least one project credential is required', { field: 'credentials' });
    }
    const base = new URL(options.baseUrl ?? DEFAULT_FCM_BASE_URL);
    this.origin = base.origin;
    this.basePath = base.pathname.replace(/\/+$/, '');
    const clock = options.clock;
    this.now = clock ? () => clock.now() : Date.now;
    this.timeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    options.credentials.forEach((credential, index) => {
      const field = `credentials[${index}]`;
      const agent = createProviderAgent(options);
      let provider: AccessTokenProvider;
      let projectId = credential.projectId;
      try {
        if (credential.serviceAccount !== undefined) {
          const sa = parseServiceAccount(credential.serviceAccount);
          projectId ??= sa.projectId;
          provider = new ServiceAccountTokenProvider(sa, {
            dispatcher: agent,
            ...(options.tokenUrl ? { tokenUrl: options.tokenUrl } : {}),
            now: this.now,
            timeoutMs: this.timeoutMs,
          });
        } else if (credential.tokenProvider && typeof credential.tokenProvider.getAccessToken === 'function') {
          provider = credential.tokenProvider;
        } else {
          throw new TransportError('fcm', 'needs serviceAccount or tokenProvider', { field });
        }
        if (!projectId)
          throw new TransportError('fcm', 'projectId is required with a tokenProvider', {
            field: `${field}.projectId`,
          });
        if (this.projects.has(projectId)) {
          throw new TransportError('fcm', `project ${projectId} is configured twice`, { field: `${field}.projectId` });
        }
      } catch (error) {
        void agent.close();
        for (const p of this.projects.values()) void p.agent.close();
        if (error instanceof TransportError && error.field?.startsWith('serviceAccount')) {
          throw new TransportError('fcm', error.message.replace(/^fcm: /, ''), {
            field: `${field}.${error.field}`,
            cause: error.cause,
          });
        }
        throw error;
      }
      this.projects.set(projectId, {
        id: projectId,
        agent,
        tokens: new TokenCache(provider, {
          now: this.now,
          refreshMarginMs: options.refreshMarginMs ?? DEFAULT_REFRESH_MARGIN_MS,
        }),
        path: `${this.basePath}/v1/projects/${encodeURIComponent(projectId)}/messages:send`,
      });
    });
  }

  async send(request: PushRequest, options: SendOptions = {}): Promise<DeliveryOutcome> {
    if (this.inflight.closing) return { kind: 'retry', reason: 'transport is closing' };
    let project: Project;
    let body: string;
    try {
      project = this.projectFor(request);
      body = JSON.stringify({ message: buildMessage(request, this.now()) });
    } catch (error) {
      // A request FCM would refuse whatever the retry: settled here, never sent.
      if (error instanceof TransportError) return { kind: 'rejected', reason: error.message };
      throw error;
    }
    if (activeTracer()) {
      return this.inflight.track(
        traceProviderRequest('fcm', project.id, (span) => this.deliver(project, body, options, span)),
      );
    }
    return this.inflight.track(this.deliver(project, body, options));
  }

  private projectFor(request: PushRequest): Project {
    if (request.provider !== 'fcm') {
      throw new TransportError('fcm', `is ${JSON.stringify(request.provider)}, not fcm`, { field: 'provider' });
    }
    const project = this.projects.get(request.app);
    if (!project)
      throw new TransportError('fcm', `no credential for Firebase project ${JSON.stringify(request.app)}`, {
        field: 'app',
      });
    return project;
  }

  private async deliver(
    project: Project,
    body: string,
    { signal, deadline }: SendOptions,
    span?: Span,
  ): Promise<DeliveryOutcome> {
    const answer = await sendWithAccessToken(
      project.tokens,
      (accessToken) =>
        postJson(project.agent, {
          origin: this.origin,
          path: project.path,
          accessToken,
          body,
          signal,
          deadline,
          timeoutMs: this.timeoutMs,
          now: this.now,
        }),
      // UNAUTHENTICATED: the token was revoked or expired early.
      (a) => a.status === 401 && ['UNAUTHENTICATED', 'HTTP_401'].includes(readFcmError(a.status, a.body).code),
    );
    if (answer.kind === 'outcome') return answer.outcome;
    if (span?.isRecording()) span.setAttribute('http.response.status_code', answer.status);
    if (answer.status === 200) {
      const name = (answer.body as { name?: unknown } | undefined)?.name;
      return typeof name === 'string' ? { kind: 'delivered', providerId: name } : { kind: 'delivered' };
    }
    return mapFcmError(
      answer.status,
      readFcmError(answer.status, answer.body),
      parseRetryAfter(answer.retryAfter, this.now()),
    );
  }

  /** Stops taking sends, lets the ones in flight finish, then closes every connection. */
  close(): Promise<void> {
    return this.inflight.close(() => Promise.all([...this.projects.values()].map((p) => p.agent.close())));
  }
}

export function createFcmTransport(options: FcmTransportOptions): FcmTransport {
  return new FcmTransport(options);
}
