import { randomUUID } from 'node:crypto';
import { constants as h2, sensitiveHeaders, type ClientHttp2Stream, type OutgoingHttpHeaders } from 'node:http2';
import { createSecureContext, type SecureContext } from 'node:tls';
import type { Span } from '@opentelemetry/api';
import {
  PUSH_TYPES,
  TransportError,
  activeTracer,
  traceProviderRequest,
  payloadLimit,
  voipTopic,
  type Clock,
  type DeliveryOutcome,
  type Environment,
  type PushRequest,
  type SendOptions,
  type Transport,
} from '@pushrelay/core';
import { Endpoint, type Connection, type Dispatchable } from './connection.js';
import { ProviderToken } from './jwt.js';
import { outcomeOf } from './outcome.js';

export type ApnsCredential =
  /** A .p8 signing key: one key serves every app of the team, alert and VoIP alike. */
  | { type: 'token'; key: string | Buffer; keyId: string; teamId: string }
  /** A push certificate and its private key, PEM. */
  | { type: 'certificate'; cert: string | Buffer; key: string | Buffer; passphrase?: string }
  /** A push certificate and key as PKCS#12. */
  | { type: 'pkcs12'; pfx: string | Buffer; passphrase?: string };

export interface ApnsAppOptions {
  /** The app's bundle id; PushRequest.app names it. */
  bundleId: string;
  /** Used in both environments unless `production` or `sandbox` give their own. */
  credential?: ApnsCredential;
  production?: ApnsCredential;
  sandbox?: ApnsCredential;
}

export interface ApnsTransportOptions {
  apps: readonly ApnsAppOptions[];
  /** Host to connect to, per environment or for both. Default Apple's. */
  address?: string | Partial<Record<Environment, string>>;
  /** Port, per environment or for both. Default 443. */
  port?: number | Partial<Record<Environment, number>>;
  /** Trusted CA certificates (PEM), e.g. a simulator's. Default the system's. */
  ca?: string | Buffer | readonly (string | Buffer)[];
  /** HTTP/2 connections per credential and environment at most; more open only when streams run out. Default 1. */
  poolSize?: number;
  /** Time to wait for an answer before giving up with `retry`. Default 10 s. */
  requestTimeoutMs?: number;
  /** HTTP/2 PING interval (0: none). Default 60 s. */
  heartBeatMs?: number;
  /** Sends again, on a new connection, a request APNs refused unprocessed (GOAWAY). Default 2. */
  maxResends?: number;
  /** Requests in flight per connection; the rest wait in the transport. Default 1000 (what APNs allows). */
  maxStreamsPerConnection?: number;
  /** Reads the time for JWT ages, deadlines and request timeouts. Default the system clock. */
  clock?: Pick<Clock, 'now'>;
}

const APPLE_HOSTS: Record<Environment, string> = {
  production: 'api.push.apple.com',
  sandbox: 'api.sandbox.push.apple.com',
};
const TOKEN_RE = /^[0-9a-fA-F]{64,200}$/;
const { NGHTTP2_CANCEL, NGHTTP2_REFUSED_STREAM } = h2;
const NEVER_INDEXED = ['apns-id', 'apns-expiration', 'apns-collapse-id'];
/** The error body of an answer is read up to this many characters. */
const MAX_ERROR_BODY = 16_384;

/** bundle id -> environment -> where its sends go, and their topics. */
interface Route {
  production?: Endpoint;
  sandbox?: Endpoint;
  topic: string;
  voipTopic: string;
}

function perEnvironment<T>(
  value: T | Partial<Record<Environment, T>> | undefined,
  environment: Environment,
): T | undefined {
  if (value !== null && typeof value === 'object' && !Buffer.isBuffer(value) && !Array.isArray(value)) {
    return (value as Partial<Record<Environment, T>>)[environment];
  }
  return value as T | undefined;
}

function fail(field: string, message: string): never {
  throw new TransportError('apns', message, { field });
}

const PUSH = Symbol('push');
type TaggedStream = ClientHttp2Stream & { [PUSH]: Push };

// Stream listeners shared by every request: the send they belong to is tagged on the stream,
// so a request costs no closures.
function onResponse(this: TaggedStream, headers: Record<string, string | string[] | undefined>): void {
  const push = this[PUSH];
  push.status = Number(headers[':status']);
  const id = headers['apns-id'];
  if (typeof id === 'string') push.answerId = id;
  const retryAfter = headers['retry-after'];
  if (typeof retryAfter === 'string') push.retryAfter = retryAfter;
}
function onData(this: TaggedStream, chunk: Buffer | string): void {
  const push = this[PUSH];
  // Only an error has a body worth reading (its reason).
  if (push.status !== 200 && push.errorBody.length < MAX_ERROR_BODY) push.errorBody += chunk.toString();
}
function onClose(this: TaggedStream): void {
  this[PUSH].closed(this.rstCode);
}
function ignore(): void {}

/**
 * One send: a request, its attempts and its place in the transport's list of sends under way
 * (which the transport sweeps for request timeouts and deadlines).
 */
class Push implements Dispatchable {
  settled = false;
  nextWaiting: Dispatchable | undefined = undefined;
  prev: Push | undefined = undefined;
  next: Push | undefined = undefined;
  connection: Connection | undefined = undefined;
  stream: ClientHttp2Stream | undefined = undefined;
  issuedAt = 0;
  apnsId = '';
  authorization = '';
  status = 0;
  answerId: string | undefined = undefined;
  retryAfter: string | undefined = undefined;
  errorBody = '';
  resends = 0;
  onAbort: (() => void) | undefined = undefined;
  /** The provider request's span, while tracing is on. */
  span: Span | undefined = undefined;

  constructor(
    readonly owner: ApnsTransport,
    readonly endpoint: Endpoint,
    readonly path: string,
    readonly topic: string,
    readonly pushType: string,
    readonly priority: string,
    readonly expiration: string,
    readonly collapseId: string | undefined,
    readonly body: string,
    readonly deadline: number,
    readonly signal: AbortSignal | undefined,
    readonly resolve: (outcome: DeliveryOutcome) => void,
  ) {}

  issue(connection: Connection): void {
    const now = this.owner.now();
    if (now >= this.deadline) {
      this.finish({ kind: 'retry', reason: 'deadline passed before sending' });
      return;
    }
    const apnsId = randomUUID();
    const headers: OutgoingHttpHeaders = {
      ':method': 'POST',
      ':path': this.path,
      'apns-id': apnsId,
      'apns-topic': this.topic,
      'apns-push-type': this.pushType,
      'apns-priority': this.priority,
      'apns-expiration': this.expiration,
      // Values that change from request to request stay out of the HPACK table, where they
      // would push out the ones every request repeats (the JWT above all).
      [sensitiveHeaders]: NEVER_INDEXED,
    };
    if (this.collapseId !== undefined) headers['apns-collapse-id'] = this.collapseId;
    const token = this.endpoint.token;
    if (token) headers['authorization'] = this.authorization = token.authorization();
    connection.inFlight++;
    let stream: ClientHttp2Stream;
    try {
      stream = connection.session.request(headers);
    } catch (error) {
      // The session is closing (GOAWAY) or gone: the request never left.
      connection.refused();
      this.unsent((error as Error).message);
      return;
    }
    this.apnsId = apnsId;
    this.connection = connection;
    this.stream = stream;
    this.issuedAt = now;
    this.status = 0;
    this.errorBody = '';
    (stream as TaggedStream)[PUSH] = this;
    stream.on('response', onResponse);
    stream.on('data', onData);
    stream.on('close', onClose);
    stream.on('error', ignore);
    stream.end(this.body);
  }

  unsent(reason: string): void {
    if (this.settled) return;
    if (this.resends++ >= this.owner.maxResends) this.finish({ kind: 'retry', reason });
    else this.endpoint.dispatch(this);
  }

  /** The stream of the current attempt closed. */
  closed(rstCode: number): void {
    const connection = this.connection!;
    this.connection = undefined;
    this.stream = undefined;
    this.issuedAt = 0;
    this.endpoint.release(connection);
    if (this.settled) return;
    const status = this.status;
    if (status === 200) {
      this.finish({ kind: 'delivered', providerId: this.answerId ?? this.apnsId });
    } else if (status !== 0) {
      this.finish(this.errorOutcome(status));
    } else if (rstCode === NGHTTP2_REFUSED_STREAM) {
      // APNs refused it unprocessed (a stream past a GOAWAY): safe to send again.
      this.unsent('stream refused by APNs (REFUSED_STREAM)');
    } else {
      this.finish({
        kind: 'retry',
        reason: connection.failure
          ? `connection lost before APNs answered: ${connection.failure}`
          : `stream closed before APNs answered (code ${rstCode})`,
      });
    }
  }

  /** Stops waiting (timeout, deadline, abort): `retry`, and the stream, if any, is cancelled. */
  giveUp(reason: string): void {
    if (this.settled) return;
    const stream = this.stream;
    this.finish({ kind: 'retry', reason });
    if (stream && !stream.destroyed) stream.close(NGHTTP2_CANCEL);
  }

  finish(outcome: DeliveryOutcome): void {
    this.settled = true;
    if (this.span?.isRecording()) {
      if (this.status !== 0) this.span.setAttribute('http.response.status_code', this.status);
      if (this.resends > 0) this.span.setAttribute('pushrelay.resends', this.resends);
    }
    if (this.onAbort) this.signal!.removeEventListener('abort', this.onAbort);
    this.owner.settled(this);
    this.resolve(outcome);
  }

  private errorOutcome(status: number): DeliveryOutcome {
    let reason: string | undefined;
    let timestamp: number | undefined;
    if (this.errorBody !== '') {
      try {
        const body = JSON.parse(this.errorBody) as { reason?: unknown; timestamp?: unknown };
        if (typeof body.reason === 'string') reason = body.reason;
        const ts = Number(body.timestamp);
        if (body.timestamp !== undefined && Number.isFinite(ts)) timestamp = ts;
      } catch {
        /* not JSON: the status says enough */
      }
    }
    if (status === 403 && reason === 'ExpiredProviderToken') this.endpoint.token?.expired(this.authorization);
    return outcomeOf(
      {
        status,
        ...(reason !== undefined ? { reason } : {}),
        ...(timestamp !== undefined ? { timestamp } : {}),
        ...(this.retryAfter !== undefined ? { retryAfter: this.retryAfter } : {}),
      },
      this.owner.now(),
    );
  }
}

export class ApnsTransport implements Transport {
  readonly provider = 'apns' as const;
  /** @internal */
  readonly maxResends: number;
  /** @internal */
  readonly now: () => number;
  private readonly endpoints = new Map<string, Endpoint>();
  private readonly routes = new Map<string, Route>();
  private readonly requestTimeoutMs: number;
  private readonly sweepMs: number;
  /** Sends under way (waiting for a stream or in flight), oldest first. */
  private first: Push | undefined;
  private last: Push | undefined;
  private active = 0;
  private sweeper: NodeJS.Timeout | undefined;
  private idle: (() => void) | undefined;
  private closing: Promise<void> | undefined;

  constructor(options: ApnsTransportOptions) {
    if (!options || !Array.isArray(options.apps) || options.apps.length === 0)
      fail('apps', 'at least one app is required');
    const poolSize = options.poolSize ?? 1;
    if (!Number.isInteger(poolSize) || poolSize < 1) fail('poolSize', 'must be an integer >= 1');
    this.requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    if (!(this.requestTimeoutMs > 0)) fail('requestTimeoutMs', 'must be > 0');
    this.sweepMs = Math.max(5, Math.min(50, Math.floor(this.requestTimeoutMs / 10)));
    this.maxResends = options.maxResends ?? 2;
    if (!Number.isInteger(this.maxResends) || this.maxResends < 0) fail('maxResends', 'must be an integer >= 0');
    const maxStreams = options.maxStreamsPerConnection ?? 1000;
    if (!Number.isInteger(maxStreams) || maxStreams < 1) fail('maxStreamsPerConnection', 'must be an integer >= 1');
    const pingIntervalMs = options.heartBeatMs ?? 60_000;
    const clock = options.clock;
    this.now = clock ? () => clock.now() : Date.now;
    const ca =
      options.ca === undefined
        ? undefined
        : Array.isArray(options.ca)
          ? [...(options.ca as readonly (string | Buffer)[])]
          : [options.ca as string | Buffer];
    const tokens = new Map<string, ProviderToken>();
    let tokenContext: SecureContext | undefined;

    options.apps.forEach((app, i) => {
      if (!app || typeof app.bundleId !== 'string' || app.bundleId === '')
        fail(`apps[${i}].bundleId`, 'must be a non-empty string');
      const route: Route = { topic: app.bundleId, voipTopic: voipTopic(app.bundleId) };
      for (const environment of ['production', 'sandbox'] as const) {
        const credential = app[environment] ?? app.credential;
        if (!credential) continue;
        const field = `apps[${i}].${app[environment] ? environment : 'credential'}`;
        const address = perEnvironment(options.address, environment) ?? APPLE_HOSTS[environment];
        const port = perEnvironment(options.port, environment) ?? 443;
        // Apps of one token key share its connections (APNs takes every topic of the team on them);
        // a certificate names one app, so its connections are its own.
        const key =
          credential.type === 'token'
            ? `token:${credential.teamId}:${credential.keyId}:${environment}:${address}:${port}`
            : `${credential.type}:${app.bundleId}:${environment}:${address}:${port}`;
        let endpoint = this.endpoints.get(key);
        if (!endpoint) {
          let token: ProviderToken | undefined;
          let secureContext: SecureContext;
          try {
            if (credential.type === 'token') {
              if (!credential.keyId || !credential.teamId || !credential.key)
                fail(field, 'a token credential needs key, keyId and teamId');
              const tokenKey = `${credential.teamId}:${credential.keyId}`;
              token = tokens.get(tokenKey);
              if (!token) tokens.set(tokenKey, (token = new ProviderToken(credential, this.now)));
              secureContext = tokenContext ??= createSecureContext(ca ? { ca } : {});
            } else if (credential.type === 'certificate') {
              if (!credential.cert || !credential.key) fail(field, 'a certificate credential needs cert and key');
              secureContext = createSecureContext({
                ...(ca ? { ca } : {}),
                cert: credential.cert,
                key: credential.key,
                ...(credential.passphrase ? { passphrase: credential.passphrase } : {}),
              });
            } else if (credential.type === 'pkcs12') {
              if (!credential.pfx) fail(field, 'a pkcs12 credential needs pfx');
              secureContext = createSecureContext({
                ...(ca ? { ca } : {}),
                pfx: credential.pfx,
                ...(credential.passphrase ? { passphrase: credential.passphrase } : {}),
              });
            } else {
              fail(`${field}.type`, 'must be token, certificate or pkcs12');
            }
          } catch (cause) {
            if (cause instanceof TransportError) throw cause;
            throw new TransportError('apns', `cannot load credential: ${(cause as Error).message}`, { field, cause });
          }
          endpoint = new Endpoint({
            authority: `https://${address.includes(':') ? `[${address}]` : address}:${port}`,
            tls: { secureContext },
            token,
            poolSize,
            maxStreams,
            pingIntervalMs,
            connectTimeoutMs: this.requestTimeoutMs,
          });
          this.endpoints.set(key, endpoint);
        }
        route[environment] = endpoint;
      }
      if (!route.production && !route.sandbox) fail(`apps[${i}].credential`, `app "${app.bundleId}" has no credential`);
      this.routes.set(app.bundleId, route);
    });
  }

  send(request: PushRequest, options: SendOptions = {}): Promise<DeliveryOutcome> {
    if (this.closing) return Promise.resolve({ kind: 'retry', reason: 'transport is closing' });
    if (activeTracer()) {
      return traceProviderRequest('apns', String(request?.app), async (span) => this.start(request, options, span));
    }
    try {
      return this.start(request, options);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Stops taking sends (they get `retry`), waits for the ones under way, then closes every connection. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.active > 0) await new Promise<void>((resolve) => (this.idle = resolve));
      await Promise.all([...this.endpoints.values()].map((e) => e.close()));
    })();
    return this.closing;
  }

  /** @internal A send settled: it leaves the list of sends under way. */
  settled(push: Push): void {
    if (push.prev) push.prev.next = push.next;
    else this.first = push.next;
    if (push.next) push.next.prev = push.prev;
    else this.last = push.prev;
    push.prev = push.next = undefined;
    if (--this.active === 0) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
      this.idle?.();
    }
  }

  /** Checks a request, works out its APNs headers and starts it; a `rejected` outcome for what APNs would refuse. */
  private start(request: PushRequest, options: SendOptions, span?: Span): Promise<DeliveryOutcome> {
    if (!request || typeof request !== 'object') fail('request', 'must be a PushRequest');
    if (request.provider !== 'apns') fail('provider', `must be "apns", got ${JSON.stringify(request.provider)}`);
    const route = this.routes.get(request.app);
    if (!route) fail('app', `no APNs app ${JSON.stringify(request.app)} is configured`);
    const environment = request.environment;
    if (environment !== 'production' && environment !== 'sandbox') fail('environment', 'must be production or sandbox');
    const endpoint = route[environment];
    if (!endpoint) fail('environment', `app "${request.app}" has no ${environment} credential`);
    const pushType = request.pushType;
    if (!PUSH_TYPES.includes(pushType)) fail('pushType', 'must be voip, alert or background');
    const payload = request.payload;
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
      fail('payload', 'must be a JSON object');
    }
    const expiresAt = request.expiresAt;
    if (expiresAt !== null && !Number.isFinite(expiresAt)) fail('expiresAt', 'must be epoch ms or null');
    if (typeof request.token !== 'string' || !TOKEN_RE.test(request.token)) {
      return Promise.resolve({ kind: 'rejected', reason: 'token: an APNs device token is 64 to 200 hex characters' });
    }
    const body = JSON.stringify(payload);
    const size = Buffer.byteLength(body);
    const limit = payloadLimit(request);
    if (size > limit) {
      return Promise.resolve({
        kind: 'rejected',
        reason: `payload: ${size} bytes is over the APNs limit of ${limit} for ${pushType} pushes (PayloadTooLarge)`,
      });
    }
    const collapseId = request.collapseId;
    if (collapseId !== undefined && Buffer.byteLength(collapseId) > 64) {
      return Promise.resolve({ kind: 'rejected', reason: 'collapseId: longer than 64 bytes (BadCollapseId)' });
    }
    const voip = pushType === 'voip';
    const ownTopic = request.headers?.['apns-topic'];
    const topic =
      ownTopic === undefined ? (voip ? route.voipTopic : route.topic) : voip ? voipTopic(ownTopic) : ownTopic;
    const priority = voip || (pushType === 'alert' && request.priority !== 'normal') ? '10' : '5';
    const expiration = expiresAt === null ? '0' : String(Math.max(0, Math.floor(expiresAt / 1000)));

    const { signal, deadline } = options;
    if (signal?.aborted) return Promise.resolve({ kind: 'retry', reason: 'aborted before sending' });
    if (deadline !== undefined && this.now() >= deadline) {
      return Promise.resolve({ kind: 'retry', reason: 'deadline passed before sending' });
    }
    return new Promise<DeliveryOutcome>((resolve) => {
      const push = new Push(
        this,
        endpoint,
        `/3/device/${request.token}`,
        topic,
        pushType,
        priority,
        expiration,
        collapseId,
        body,
        deadline ?? Infinity,
        signal,
        resolve,
      );
      push.span = span;
      if (signal) {
        push.onAbort = () => push.giveUp('aborted');
        signal.addEventListener('abort', push.onAbort, { once: true });
      }
      this.track(push);
      endpoint.dispatch(push);
    });
  }

  private track(push: Push): void {
    push.prev = this.last;
    if (this.last) this.last.next = push;
    else this.first = push;
    this.last = push;
    if (this.active++ === 0) {
      this.sweeper = setInterval(() => this.sweep(), this.sweepMs);
      this.sweeper.unref();
    }
  }

  /** Ends the waits that ran out: a request APNs has not answered in time, a deadline passed. */
  private sweep(): void {
    const now = this.now();
    const timeoutMs = this.requestTimeoutMs;
    for (let push = this.first; push;) {
      const next = push.next;
      if (push.stream !== undefined) {
        if (now >= push.deadline) push.giveUp('no answer from APNs before the deadline');
        else if (now - push.issuedAt >= timeoutMs) push.giveUp('no answer from APNs in time');
      } else if (now >= push.deadline) {
        push.giveUp('deadline passed before sending');
      }
      push = next;
    }
  }
}
