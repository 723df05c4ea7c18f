import { Agent } from 'undici';
import {
  TransportError,
  type Clock,
  type DeliveryOutcome,
  type PushRequest,
  type SendOptions,
  type Transport,
} from '@pushrelay/core';
import { mapFcmError, readFcmError } from './errors.js';
import { TokenRequestError, networkReason, neverProcessed, parseRetryAfter, safeJson } from './http.js';
import { buildMessage } from './message.js';
import { parseServiceAccount } from './service-account.js';
import { TokenCache, type AccessTokenProvider } from './token-cache.js';
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

export interface FcmTransportOptions {
  /** One entry per Firebase project; `request.app` picks the entry by project id. */
  credentials: readonly FcmProjectCredential[];
  /** Default `https://fcm.googleapis.com`. */
  baseUrl?: string;
  /** Overrides every key file's `token_uri` (the JWT audience stays `token_uri`). */
  tokenUrl?: string;
  /** Extra trusted CA certificates (PEM), e.g. a simulator's. */
  ca?: string | Buffer | ReadonlyArray<string | Buffer>;
  /** Default: the system clock. Only `now` is used. */
  clock?: Pick<Clock, 'now'>;
  /** Refresh an access token this long before it expires. Default 5 minutes. */
  refreshMarginMs?: number;
  /** Headers and body timeout of one request. Default 10 s. */
  requestTimeoutMs?: number;
  /** HTTP/2 connections per project. Default 4. */
  connections?: number;
  /** Streams per HTTP/2 connection; FCM allows 100. */
  maxConcurrentStreams?: number;
}

interface Project {
  id: string;
  agent: Agent;
  tokens: TokenCache;
  path: string;
}

type Answer =
  | { kind: 'answer'; status: number; body: unknown; retryAfter: string | string[] | undefined }
  | { kind: 'outcome'; outcome: DeliveryOutcome };

function toOutcome(error: unknown): DeliveryOutcome {
  if (error instanceof TokenRequestError) {
    if (error.kind === 'auth') return { kind: 'auth-failed', reason: error.message };
    return error.retryAfterMs === undefined
      ? { kind: 'retry', reason: error.message }
      : { kind: 'retry', reason: error.message, retryAfterMs: error.retryAfterMs };
  }
  return { kind: 'retry', reason: networkReason(error) };
}

/** Sends to FCM HTTP v1 over long-lived HTTP/2 connections, one agent per Firebase project. */
export class FcmTransport implements Transport {
  readonly provider = 'fcm' as const;
  private readonly projects = new Map<string, Project>();
  private readonly origin: string;
  private readonly basePath: string;
  private readonly now: () => number;
  private readonly timeoutMs: number;
  private readonly inflight = new Set<Promise<unknown>>();
  private closing: Promise<void> | undefined;

  constructor(options: FcmTransportOptions) {
    if (!options || !Array.isArray(options.credentials) || options.credentials.length === 0) {
      throw new TransportError('fcm', 'at least one project credential is required', { field: 'credentials' });
    }
    const base = new URL(options.baseUrl ?? DEFAULT_FCM_BASE_URL);
    this.origin = base.origin;
    this.basePath = base.pathname.replace(/\/+$/, '');
    const clock = options.clock;
    this.now = clock ? () => clock.now() : Date.now;
    this.timeoutMs = options.requestTimeoutMs ?? 10_000;
    const ca = options.ca === undefined ? undefined : ([] as Array<string | Buffer>).concat(options.ca as never);
    options.credentials.forEach((credential, index) => {
      const field = `credentials[${index}]`;
      const agent = new Agent({
        allowH2: true,
        connections: options.connections ?? 4,
        maxConcurrentStreams: options.maxConcurrentStreams ?? 100,
        // undici counts an HTTP/2 connection busy after `pipelining` requests; without this it
        // would open a new connection for every concurrent send instead of multiplexing.
        pipelining: options.maxConcurrentStreams ?? 100,
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
        ...(ca ? { connect: { ca } } : {}),
      });
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
        if (!projectId) throw new TransportError('fcm', 'projectId is required with a tokenProvider', { field: `${field}.projectId` });
        if (this.projects.has(projectId)) {
          throw new TransportError('fcm', `project ${projectId} is configured twice`, { field: `${field}.projectId` });
        }
      } catch (error) {
        void agent.close();
        for (const p of this.projects.values()) void p.agent.close();
        if (error instanceof TransportError && error.field?.startsWith('serviceAccount')) {
          throw new TransportError('fcm', error.message.replace(/^fcm: /, ''), { field: `${field}.${error.field}`, cause: error.cause });
        }
        throw error;
      }
      this.projects.set(projectId, {
        id: projectId,
        agent,
        tokens: new TokenCache(provider, { now: this.now, refreshMarginMs: options.refreshMarginMs ?? 5 * 60_000 }),
        path: `${this.basePath}/v1/projects/${encodeURIComponent(projectId)}/messages:send`,
      });
    });
  }

  async send(request: PushRequest, options: SendOptions = {}): Promise<DeliveryOutcome> {
    if (this.closing) return { kind: 'retry', reason: 'transport is closing' };
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
    const pending = this.deliver(project, body, options.signal);
    this.inflight.add(pending);
    try {
      return await pending;
    } finally {
      this.inflight.delete(pending);
    }
  }

  private projectFor(request: PushRequest): Project {
    if (request.provider !== 'fcm') {
      throw new TransportError('fcm', `is ${JSON.stringify(request.provider)}, not fcm`, { field: 'provider' });
    }
    const project = this.projects.get(request.app);
    if (!project) throw new TransportError('fcm', `no credential for Firebase project ${JSON.stringify(request.app)}`, { field: 'app' });
    return project;
  }

  private async deliver(project: Project, body: string, signal: AbortSignal | undefined): Promise<DeliveryOutcome> {
    let token: string;
    try {
      token = await project.tokens.get();
    } catch (error) {
      return toOutcome(error);
    }
    let answer = await this.post(project, token, body, signal);
    if (answer.kind === 'answer' && answer.status === 401) {
      const info = readFcmError(answer.status, answer.body);
      if (info.code === 'UNAUTHENTICATED' || info.code === 'HTTP_401') {
        // The token was revoked or expired early: mint a new one and try exactly once more.
        try {
          token = await project.tokens.renew(token);
        } catch (error) {
          return toOutcome(error);
        }
        answer = await this.post(project, token, body, signal);
      }
    }
    if (answer.kind === 'outcome') return answer.outcome;
    if (answer.status === 200) {
      const name = (answer.body as { name?: unknown } | undefined)?.name;
      return typeof name === 'string' ? { kind: 'delivered', providerId: name } : { kind: 'delivered' };
    }
    return mapFcmError(answer.status, readFcmError(answer.status, answer.body), parseRetryAfter(answer.retryAfter, this.now()));
  }

  private async post(project: Project, token: string, body: string, signal: AbortSignal | undefined): Promise<Answer> {
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await project.agent.request({
          origin: this.origin,
          path: project.path,
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json; charset=utf-8' },
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
      await Promise.all([...this.projects.values()].map((p) => p.agent.close()));
    })();
    return this.closing;
  }
}

export function createFcmTransport(options: FcmTransportOptions): FcmTransport {
  return new FcmTransport(options);
}
