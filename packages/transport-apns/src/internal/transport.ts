import apn from '@parse/node-apn';
import { randomUUID } from 'node:crypto';
import { constants as h2 } from 'node:http2';
import {
  PUSH_TYPES,
  TransportError,
  payloadLimit,
  payloadSize,
  voipTopic,
  type DeliveryOutcome,
  type Environment,
  type PushRequest,
  type SendOptions,
  type Transport,
} from '@pushrelay/core';
import { ExchangeLog, type Exchange } from './instrument.js';
import { outcomeOf } from './outcome.js';
import { ProviderPool } from './pool.js';

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
  /** HTTP/2 connections per credential and environment. Default 1. */
  poolSize?: number;
  /** Time to wait for an answer before giving up with `retry`. Default 10 s. */
  requestTimeoutMs?: number;
  /** HTTP/2 PING interval. Default 60 s. */
  heartBeatMs?: number;
  /** Sends again, on a new connection, a request APNs refused unprocessed (GOAWAY). Default 2. */
  maxResends?: number;
  /** Requests in flight per connection; the rest wait in the transport. Default 500 (APNs allows 1000). */
  maxStreamsPerConnection?: number;
}

const APPLE_HOSTS: Record<Environment, string> = {
  production: 'api.push.apple.com',
  sandbox: 'api.sandbox.push.apple.com',
};
const TOKEN_RE = /^[0-9a-fA-F]{64,200}$/;

interface Prepared {
  pool: ProviderPool;
  token: string;
  body: Record<string, unknown>;
  topic: string;
  pushType: string;
  priority: number;
  expiry: number;
  collapseId?: string;
}

const GIVE_UP_REASONS = {
  timeout: 'no answer from APNs in time',
  deadline: 'no answer from APNs before the deadline',
  aborted: 'aborted',
} as const;

type Attempt = { kind: 'answered'; outcome: DeliveryOutcome } | { kind: 'unsent'; reason: string };

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

export class ApnsTransport implements Transport {
  readonly provider = 'apns' as const;
  private readonly pools = new Map<string, ProviderPool>();
  /** bundle id -> environment -> pool */
  private readonly routes = new Map<string, Partial<Record<Environment, ProviderPool>>>();
  private readonly log = new ExchangeLog();
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly requestTimeoutMs: number;
  private readonly maxResends: number;
  private closing: Promise<void> | undefined;

  constructor(options: ApnsTransportOptions) {
    if (!options || !Array.isArray(options.apps) || options.apps.length === 0)
      fail('apps', 'at least one app is required');
    const poolSize = options.poolSize ?? 1;
    if (!Number.isInteger(poolSize) || poolSize < 1) fail('poolSize', 'must be an integer >= 1');
    this.requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    if (!(this.requestTimeoutMs > 0)) fail('requestTimeoutMs', 'must be > 0');
    this.maxResends = options.maxResends ?? 2;
    const maxStreams = options.maxStreamsPerConnection ?? 500;
    if (!Number.isInteger(maxStreams) || maxStreams < 1) fail('maxStreamsPerConnection', 'must be an integer >= 1');
    const ca =
      options.ca === undefined
        ? undefined
        : Array.isArray(options.ca)
          ? [...options.ca]
          : [options.ca as string | Buffer];
    const sharedTokens = new Map<string, { value?: unknown }>();

    options.apps.forEach((app, i) => {
      if (!app || typeof app.bundleId !== 'string' || app.bundleId === '')
        fail(`apps[${i}].bundleId`, 'must be a non-empty string');
      const route: Partial<Record<Environment, ProviderPool>> = {};
      for (const environment of ['production', 'sandbox'] as const) {
        const credential = app[environment] ?? app.credential;
        if (!credential) continue;
        const field = `apps[${i}].${app[environment] ? environment : 'credential'}`;
        const address = perEnvironment(options.address, environment) ?? APPLE_HOSTS[environment];
        const port = perEnvironment(options.port, environment) ?? 443;
        const key =
          credential.type === 'token'
            ? `token:${credential.teamId}:${credential.keyId}:${environment}:${address}:${port}`
            : `${credential.type}:${app.bundleId}:${environment}:${address}:${port}`;
        let pool = this.pools.get(key);
        if (!pool) {
          const base = {
            production: environment === 'production',
            address,
            port,
            ...(ca ? { ca } : {}),
            // The relay decides about retries: node-apn would retry at once and ignore Retry-After.
            connectionRetryLimit: 0,
            requestTimeout: this.requestTimeoutMs,
            heartBeat: options.heartBeatMs ?? 60_000,
          };
          let providerOptions: apn.ProviderOptions;
          if (credential.type === 'token') {
            if (!credential.keyId || !credential.teamId || !credential.key)
              fail(field, 'a token credential needs key, keyId and teamId');
            providerOptions = {
              ...base,
              token: { key: credential.key, keyId: credential.keyId, teamId: credential.teamId },
            };
          } else if (credential.type === 'certificate') {
            if (!credential.cert || !credential.key) fail(field, 'a certificate credential needs cert and key');
            providerOptions = {
              ...base,
              cert: credential.cert,
              key: credential.key,
              ...(credential.passphrase ? { passphrase: credential.passphrase } : {}),
            };
          } else if (credential.type === 'pkcs12') {
            if (!credential.pfx) fail(field, 'a pkcs12 credential needs pfx');
            providerOptions = {
              ...base,
              pfx: credential.pfx,
              ...(credential.passphrase ? { passphrase: credential.passphrase } : {}),
            };
          } else {
            fail(`${field}.type`, 'must be token, certificate or pkcs12');
          }
          const shareKey = credential.type === 'token' ? `${credential.teamId}:${credential.keyId}` : key;
          if (!sharedTokens.has(shareKey)) sharedTokens.set(shareKey, {});
          try {
            pool = new ProviderPool(poolSize, maxStreams, providerOptions, this.log, sharedTokens.get(shareKey)!);
          } catch (cause) {
            throw new TransportError('apns', `cannot load credential: ${(cause as Error).message}`, { field, cause });
          }
          this.pools.set(key, pool);
        }
        route[environment] = pool;
      }
      if (!route.production && !route.sandbox) fail(`apps[${i}].credential`, `app "${app.bundleId}" has no credential`);
      this.routes.set(app.bundleId, route);
    });
  }

  async send(request: PushRequest, options: SendOptions = {}): Promise<DeliveryOutcome> {
    if (this.closing) throw new TransportError('apns', 'the transport is closed');
    const prepared = this.prepare(request);
    if ('kind' in prepared) return prepared;
    const pending = this.deliver(prepared, options);
    this.inFlight.add(pending);
    try {
      return await pending;
    } finally {
      this.inFlight.delete(pending);
    }
  }

  async close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.allSettled([...this.inFlight]);
      await Promise.all([...this.pools.values()].map((p) => p.close()));
    })();
    return this.closing;
  }

  /** Checks a request and works out the APNs headers; a `rejected` outcome for what APNs would refuse. */
  private prepare(request: PushRequest): Prepared | DeliveryOutcome {
    if (!request || typeof request !== 'object') fail('request', 'must be a PushRequest');
    if (request.provider !== 'apns') fail('provider', `must be "apns", got ${JSON.stringify(request.provider)}`);
    const route = this.routes.get(request.app);
    if (!route) fail('app', `no APNs app ${JSON.stringify(request.app)} is configured`);
    if (request.environment !== 'production' && request.environment !== 'sandbox') {
      fail('environment', 'must be production or sandbox');
    }
    const pool = route[request.environment];
    if (!pool) fail('environment', `app "${request.app}" has no ${request.environment} credential`);
    if (!PUSH_TYPES.includes(request.pushType)) fail('pushType', 'must be voip, alert or background');
    if (typeof request.payload !== 'object' || request.payload === null || Array.isArray(request.payload)) {
      fail('payload', 'must be a JSON object');
    }
    if (request.expiresAt !== null && !Number.isFinite(request.expiresAt))
      fail('expiresAt', 'must be epoch ms or null');
    if (typeof request.token !== 'string' || !TOKEN_RE.test(request.token)) {
      return { kind: 'rejected', reason: 'token: an APNs device token is 64 to 200 hex characters' };
    }
    const size = payloadSize(request);
    const voip = request.pushType === 'voip';
    const limit = payloadLimit(request);
    if (size > limit) {
      return {
        kind: 'rejected',
        reason: `payload: ${size} bytes is over the APNs limit of ${limit} for ${request.pushType} pushes (PayloadTooLarge)`,
      };
    }
    if (request.collapseId !== undefined && Buffer.byteLength(request.collapseId) > 64) {
      return { kind: 'rejected', reason: 'collapseId: longer than 64 bytes (BadCollapseId)' };
    }
    const baseTopic = request.headers?.['apns-topic'] ?? request.app;
    const topic = voip ? voipTopic(baseTopic) : baseTopic;
    const priority = voip ? 10 : request.pushType === 'background' ? 5 : request.priority === 'normal' ? 5 : 10;
    const expiry = request.expiresAt === null ? 0 : Math.max(0, Math.floor(request.expiresAt / 1000));
    return {
      pool,
      token: request.token,
      body: request.payload,
      topic,
      pushType: request.pushType,
      priority,
      expiry,
      ...(request.collapseId !== undefined ? { collapseId: request.collapseId } : {}),
    };
  }

  private async deliver(prepared: Prepared, options: SendOptions): Promise<DeliveryOutcome> {
    for (let resend = 0; ; resend++) {
      if (options.signal?.aborted) return { kind: 'retry', reason: 'aborted before sending' };
      if (options.deadline !== undefined && Date.now() >= options.deadline)
        return { kind: 'retry', reason: 'deadline passed before sending' };
      const attempt = await this.attempt(prepared, options);
      if (attempt.kind === 'answered') return attempt.outcome;
      if (resend >= this.maxResends) return { kind: 'retry', reason: attempt.reason };
    }
  }

  /** One request on one connection of the pool. */
  private async attempt(prepared: Prepared, { signal, deadline }: SendOptions): Promise<Attempt> {
    const apnsId = randomUUID();
    const note = new apn.Notification();
    note.rawPayload = prepared.body;
    note.topic = prepared.topic;
    note.pushType = prepared.pushType as apn.Notification['pushType'];
    note.priority = prepared.priority;
    note.expiry = prepared.expiry;
    note.id = apnsId;
    if (prepared.collapseId !== undefined) note.collapseId = prepared.collapseId;

    const slot = await prepared.pool.acquire();
    // The wait for a free stream may have outlived the call.
    if (deadline !== undefined && Date.now() >= deadline) {
      prepared.pool.release(slot);
      return { kind: 'answered', outcome: { kind: 'retry', reason: 'deadline passed before sending' } };
    }
    const exchange = this.log.begin(apnsId);
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    try {
      // node-apn's own timeout should fire first; this one covers streams it never settles,
      // and a deadline that comes before it.
      const guardMs = this.requestTimeoutMs + 1000;
      const untilDeadline = deadline === undefined ? Infinity : deadline - Date.now();
      const guard = new Promise<'timeout' | 'deadline' | 'aborted'>((resolve) => {
        timer =
          untilDeadline < guardMs
            ? setTimeout(() => resolve('deadline'), Math.max(0, untilDeadline))
            : setTimeout(() => resolve('timeout'), guardMs);
        if (signal) {
          onAbort = () => resolve('aborted');
          signal.addEventListener('abort', onAbort, { once: true });
        }
      });
      const result = await Promise.race([slot.provider.send(note, prepared.token), guard]);
      if (typeof result === 'string') {
        if (exchange.stream) exchange.stream.close(h2.NGHTTP2_CANCEL);
        // node-apn may not have opened the stream yet (still connecting): it is cut as it opens.
        else this.log.cancel(apnsId, this.requestTimeoutMs + 1000);
        return { kind: 'answered', outcome: { kind: 'retry', reason: GIVE_UP_REASONS[result] } };
      }
      if (result.sent.length > 0) {
        const id = exchange.headers?.['apns-id'];
        return { kind: 'answered', outcome: { kind: 'delivered', providerId: typeof id === 'string' ? id : apnsId } };
      }
      return this.interpret(exchange, result.failed[0]);
    } finally {
      clearTimeout(timer);
      if (onAbort) signal?.removeEventListener('abort', onAbort);
      prepared.pool.release(slot);
      this.log.end(apnsId);
    }
  }

  private interpret(exchange: Exchange, failure: apn.ResponseFailure | undefined): Attempt {
    const status = exchange.status ?? (typeof failure?.status === 'number' ? failure.status : undefined);
    if (status !== undefined) {
      let body: { reason?: unknown; timestamp?: unknown } = {};
      try {
        if (exchange.body) body = JSON.parse(exchange.body) as typeof body;
      } catch {
        /* not JSON: the status says enough */
      }
      const reason =
        typeof body.reason === 'string' ? body.reason : (failure?.response?.reason ?? failure?.error?.message);
      const timestamp = Number(body.timestamp ?? failure?.response?.timestamp);
      const retryAfter = exchange.headers?.['retry-after'];
      return {
        kind: 'answered',
        outcome: outcomeOf(
          {
            status,
            ...(reason !== undefined ? { reason } : {}),
            ...(Number.isFinite(timestamp) ? { timestamp } : {}),
            ...(typeof retryAfter === 'string' ? { retryAfter } : {}),
          },
          Date.now(),
        ),
      };
    }
    const message = failure?.error?.message ?? 'no answer from APNs';
    // Nothing reached APNs, or APNs refused the stream unprocessed (GOAWAY): safe to send again.
    if (!exchange.opened || exchange.rstCode === h2.NGHTTP2_REFUSED_STREAM) return { kind: 'unsent', reason: message };
    return { kind: 'answered', outcome: { kind: 'retry', reason: message } };
  }
}
