import { createPublicKey, generateKeyPairSync, randomBytes, randomUUID, verify, type KeyObject } from 'node:crypto';
import {
  simulatorHandle,
  SimulatorState,
  startSimulatorServer,
  type ProviderHandler,
  type SimClock,
  type SimRequest,
  type SimResponse,
  type SimulatorHandle,
} from './base.js';
import { PAYLOAD_LIMITS, VOIP_PAYLOAD_LIMIT } from '@pushrelay/core';
import { createCertificateAuthority, type CertificateAuthority } from './tls.js';

export type ApnsEnvironment = 'production' | 'sandbox';

export interface ApnsSigningKey {
  keyId: string;
  teamId: string;
  /** PKCS#8 PEM of the private key: what a client uses as its .p8. */
  key: string;
}

export interface ApnsSimulatorOptions {
  /** Clock for JWT ages and receive times; default the system clock. */
  clock?: SimClock;
  /** Bundle ids the simulator knows, each owned by a team. Default one app, `com.example.app`. */
  apps?: { bundleId: string; teamId?: string }[];
  /** Team used for the default app and the generated key. Default `TEAM123456`. */
  teamId?: string;
  /** Public keys (PEM) the simulator trusts besides the one it generates. */
  keys?: { keyId: string; teamId: string; publicKey: string; environments?: ApnsEnvironment[] }[];
  productionPort?: number;
  sandboxPort?: number;
  /** The CA of its server certificates; default a new one (another run's keeps its clients' trust). */
  authority?: CertificateAuthority;
  /** SETTINGS_MAX_CONCURRENT_STREAMS; APNs announces 1000. */
  maxConcurrentStreams?: number;
}

export interface ApnsSimulatorHandle extends SimulatorHandle {
  /** `https://localhost:<port>` of the production port (same as `url`). */
  readonly productionUrl: string;
  readonly sandboxUrl: string;
  readonly productionPort: number;
  readonly sandboxPort: number;
  /** What to pass as node-apn's `address`. */
  readonly host: string;
  readonly teamId: string;
  /** A team key made at start, valid in both environments. */
  readonly signingKey: ApnsSigningKey;
  /** Makes and trusts another .p8 key, optionally for one environment only. */
  addSigningKey(options?: { teamId?: string; environments?: ApnsEnvironment[] }): ApnsSigningKey;
  addApp(bundleId: string, teamId?: string): void;
  /** A TLS client certificate for a bundle id (a "Apple Push Services" certificate). */
  issueClientCertificate(bundleId: string, environment?: ApnsEnvironment | 'both'): { cert: string; key: string };
  /** Ties a device token to a bundle id and environment, so mismatches are refused as APNs does. */
  registerDevice(token: string, device: { bundleId: string; environment?: ApnsEnvironment }): void;
  portOf(environment: ApnsEnvironment): number;
  /**
   * The provider tokens (JWTs) that authenticated requests, in the order first seen, with how
   * many requests each one carried: how often a client signs a new token.
   */
  providerTokens(): ApnsProviderTokenUse[];
}

export interface ApnsProviderTokenUse {
  keyId: string;
  /** The token's issued-at claim (epoch seconds). */
  iat: number;
  requests: number;
}

/** Reasons APNs answers with, by HTTP status. */
export const APNS_REASONS = {
  400: [
    'BadCollapseId',
    'BadDeviceToken',
    'BadExpirationDate',
    'BadMessageId',
    'BadPriority',
    'BadTopic',
    'DeviceTokenNotForTopic',
    'DuplicateHeaders',
    'IdleTimeout',
    'InvalidPushType',
    'MissingDeviceToken',
    'MissingTopic',
    'PayloadEmpty',
    'TopicDisallowed',
  ],
  403: [
    'BadCertificate',
    'BadCertificateEnvironment',
    'ExpiredProviderToken',
    'Forbidden',
    'InvalidProviderToken',
    'MissingProviderToken',
    'UnrelatedKeyIdInToken',
    'BadEnvironmentKeyInToken',
  ],
  404: ['BadPath'],
  405: ['MethodNotAllowed'],
  410: ['ExpiredToken', 'Unregistered'],
  413: ['PayloadTooLarge'],
  429: ['TooManyProviderTokenUpdates', 'TooManyRequests'],
  500: ['InternalServerError'],
  503: ['ServiceUnavailable', 'Shutdown'],
} as const;

const DEFAULT_REASON: Record<number, string> = {
  400: 'BadDeviceToken',
  403: 'Forbidden',
  404: 'BadPath',
  405: 'MethodNotAllowed',
  410: 'Unregistered',
  413: 'PayloadTooLarge',
  429: 'TooManyRequests',
  500: 'InternalServerError',
  503: 'ServiceUnavailable',
};

const PUSH_TYPES = new Set([
  'alert',
  'background',
  'location',
  'voip',
  'complication',
  'fileprovider',
  'mdm',
  'liveactivity',
  'pushtotalk',
  'widgets',
]);
/** Topic suffixes of the push types that use their own topic. */
const TOPIC_SUFFIX: Record<string, string> = {
  voip: '.voip',
  complication: '.complication',
  fileprovider: '.pushkit.fileprovider',
  liveactivity: '.push-type.liveactivity',
  pushtotalk: '.voip-ptt',
};
/** Extensions Apple puts in a push certificate for each environment it may be used in. */
const APPLE_CERTIFICATE_ENVIRONMENT_OIDS: Record<ApnsEnvironment, string> = {
  sandbox: '1.2.840.113635.100.6.3.1',
  production: '1.2.840.113635.100.6.3.2',
};
const TOKEN_RE = /^[0-9a-fA-F]{64,200}$/;
const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const TOKEN_MAX_AGE_S = 3600;
const TOKEN_MIN_REFRESH_S = 20 * 60;

interface TrustedKey {
  keyId: string;
  teamId: string;
  publicKey: KeyObject;
  environments: ApnsEnvironment[];
}

interface ClientCertificateGrant {
  bundleId: string;
  environments: ApnsEnvironment[];
}

type Auth = { kind: 'token'; key: TrustedKey } | { kind: 'certificate'; grant: ClientCertificateGrant };

function randomId(length: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  return [...randomBytes(length)].map((b) => alphabet[b % alphabet.length]).join('');
}

function single(value: string | string[] | undefined): string | undefined | null {
  if (Array.isArray(value)) return null;
  return value;
}

function decodeSegment(segment: string | undefined): Record<string, unknown> | undefined {
  if (!segment) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function apnsError(status: number, reason: string, apnsId: string, extra: Record<string, unknown> = {}): SimResponse {
  return { status, headers: { 'apns-id': apnsId }, body: { reason, ...extra }, reason };
}

/** APNs as its clients see it: trusted keys and certificates, apps, devices, the send API. */
class ApnsService {
  readonly apps = new Map<string, string>();
  private readonly keys = new Map<string, TrustedKey>();
  private readonly grants = new Map<string, ClientCertificateGrant>();
  readonly devices = new Map<string, { bundleId: string; environment?: ApnsEnvironment }>();
  /** JWTs whose signature checked out, with the key id they were checked against. */
  private readonly verifiedTokens = new Map<string, string>();
  /** The key each connection authenticated with, and the newest token iat seen on it. */
  private readonly connectionTokens = new Map<string, { keyId: string; iat: number }>();
  /** Every JWT that authenticated a request (the first 1024 kept). */
  readonly tokenUses = new Map<string, ApnsProviderTokenUse>();

  constructor(
    private readonly state: SimulatorState,
    private readonly authority: CertificateAuthority,
    readonly teamId: string,
    options: ApnsSimulatorOptions,
  ) {
    for (const app of options.apps ?? [{ bundleId: 'com.example.app' }])
      this.apps.set(app.bundleId, app.teamId ?? teamId);
    for (const k of options.keys ?? []) {
      this.keys.set(k.keyId, {
        keyId: k.keyId,
        teamId: k.teamId,
        publicKey: createPublicKey(k.publicKey),
        environments: k.environments ?? ['production', 'sandbox'],
      });
    }
  }

  /** A new ES256 key APNs trusts, for a team and the environments it may push to. */
  addSigningKey(o: { teamId?: string; environments?: ApnsEnvironment[] } = {}): ApnsSigningKey {
    const pair = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const keyId = randomId(10);
    const team = o.teamId ?? this.teamId;
    this.keys.set(keyId, {
      keyId,
      teamId: team,
      publicKey: pair.publicKey,
      environments: o.environments ?? ['production', 'sandbox'],
    });
    return { keyId, teamId: team, key: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
  }

  /** Who sends: a client certificate APNs issued, or a provider token (JWT) signed by a trusted key. */
  private authenticate(request: SimRequest, environment: ApnsEnvironment, apnsId: string): Auth | SimResponse {
    const cert = request.clientCertificate;
    if (cert) {
      const grant = this.grants.get(cert.serialNumber);
      if (!cert.authorized || !grant) return apnsError(403, 'BadCertificate', apnsId);
      if (!grant.environments.includes(environment)) return apnsError(403, 'BadCertificateEnvironment', apnsId);
      return { kind: 'certificate', grant };
    }
    const authorization = single(request.headers.authorization);
    if (authorization === null) return apnsError(400, 'DuplicateHeaders', apnsId);
    if (!authorization) return apnsError(403, 'MissingProviderToken', apnsId);
    const match = /^bearer (.+)$/i.exec(authorization);
    const parts = match?.[1]?.split('.') ?? [];
    const header = decodeSegment(parts[0]);
    const claims = decodeSegment(parts[1]);
    if (parts.length !== 3 || !header || !claims || header.alg !== 'ES256' || typeof header.kid !== 'string') {
      return apnsError(403, 'InvalidProviderToken', apnsId);
    }
    const key = this.keys.get(header.kid);
    if (!key) return apnsError(403, 'InvalidProviderToken', apnsId);
    // A client sends the same JWT for up to an hour: check its signature once (ECDSA verify
    // would otherwise dominate the simulator's CPU time under load).
    let signatureOk = this.verifiedTokens.get(match![1]!) === key.keyId;
    if (!signatureOk) {
      signatureOk = verify(
        'sha256',
        Buffer.from(`${parts[0]}.${parts[1]}`),
        { key: key.publicKey, dsaEncoding: 'ieee-p1363' },
        Buffer.from(parts[2]!, 'base64url'),
      );
      if (signatureOk) {
        if (this.verifiedTokens.size >= 1024) this.verifiedTokens.clear();
        this.verifiedTokens.set(match![1]!, key.keyId);
      }
    }
    if (!signatureOk || claims.iss !== key.teamId || typeof claims.iat !== 'number') {
      return apnsError(403, 'InvalidProviderToken', apnsId);
    }
    const nowS = Math.floor(this.state.clock.now() / 1000);
    if (claims.iat > nowS + 60) return apnsError(403, 'InvalidProviderToken', apnsId);
    if (nowS - claims.iat > TOKEN_MAX_AGE_S) return apnsError(403, 'ExpiredProviderToken', apnsId);
    if (!key.environments.includes(environment)) return apnsError(403, 'BadEnvironmentKeyInToken', apnsId);
    // APNs binds a connection to the first key it sees, and counts a new token on a connection
    // (a newer iat) within 20 minutes of the previous one as a needless refresh.
    const connectionKey = `${environment}:${request.connectionId}`;
    const bound = this.connectionTokens.get(connectionKey);
    if (bound !== undefined && bound.keyId !== key.keyId) return apnsError(403, 'UnrelatedKeyIdInToken', apnsId);
    if (bound !== undefined && claims.iat > bound.iat) {
      if (claims.iat - bound.iat < TOKEN_MIN_REFRESH_S) return apnsError(429, 'TooManyProviderTokenUpdates', apnsId);
    }
    if (bound === undefined || claims.iat > bound.iat)
      this.connectionTokens.set(connectionKey, { keyId: key.keyId, iat: claims.iat });
    const use = this.tokenUses.get(match![1]!);
    if (use) use.requests++;
    else if (this.tokenUses.size < 1024)
      this.tokenUses.set(match![1]!, { keyId: key.keyId, iat: claims.iat, requests: 1 });
    return { kind: 'token', key };
  }

  /** The provider logic of one environment's port. */
  handlerFor(environment: ApnsEnvironment): ProviderHandler {
    return {
      tokenOf: (r) => /^\/3\/device\/([^/?]*)/.exec(r.path)?.[1],
      faultable: (r) => !r.path.startsWith('/__sim/'),
      faultResponse: (status, reason, r) => {
        const apnsId = single(r.headers['apns-id']) || randomUUID();
        const why = reason ?? DEFAULT_REASON[status] ?? 'InternalServerError';
        return apnsError(status, why, apnsId, status === 410 ? { timestamp: this.state.clock.now() } : {});
      },
      handle: (r) => this.send(r, environment),
    };
  }

  /** `POST /3/device/<token>`: headers, auth, topic, priority, size and the device checked as APNs does. */
  private send(r: SimRequest, environment: ApnsEnvironment): SimResponse {
    const requestedId = single(r.headers['apns-id']);
    const apnsId = typeof requestedId === 'string' && UUID_RE.test(requestedId) ? requestedId : randomUUID();
    const path = /^\/3\/device\/([^/?]*)$/.exec(r.path);
    if (!path) return apnsError(404, 'BadPath', apnsId);
    if (r.method !== 'POST') return apnsError(405, 'MethodNotAllowed', apnsId);
    for (const name of [
      'apns-id',
      'apns-topic',
      'apns-push-type',
      'apns-priority',
      'apns-expiration',
      'apns-collapse-id',
    ]) {
      if (single(r.headers[name]) === null) return apnsError(400, 'DuplicateHeaders', apnsId);
    }
    if (requestedId !== undefined && requestedId !== null && !UUID_RE.test(requestedId)) {
      return apnsError(400, 'BadMessageId', apnsId);
    }
    const auth = this.authenticate(r, environment, apnsId);
    if ('status' in auth) return auth;

    const token = decodeURIComponent(path[1] ?? '');
    if (token === '') return apnsError(400, 'MissingDeviceToken', apnsId);
    if (!TOKEN_RE.test(token)) return apnsError(400, 'BadDeviceToken', apnsId);

    let topic = single(r.headers['apns-topic']);
    if (!topic) {
      // A certificate names one app, so APNs takes its bundle id as the topic.
      if (auth.kind === 'certificate') topic = auth.grant.bundleId;
      else return apnsError(400, 'MissingTopic', apnsId);
    }
    const pushType = single(r.headers['apns-push-type']);
    if (!pushType || !PUSH_TYPES.has(pushType)) return apnsError(400, 'InvalidPushType', apnsId);
    const suffix = TOPIC_SUFFIX[pushType];
    const usedSuffix = Object.values(TOPIC_SUFFIX).find((s) => topic!.endsWith(s));
    if (suffix ? !topic.endsWith(suffix) : usedSuffix !== undefined) return apnsError(400, 'InvalidPushType', apnsId);
    const bundleId = usedSuffix ? topic.slice(0, -usedSuffix.length) : topic;
    const owner = this.apps.get(bundleId);
    if (owner === undefined) return apnsError(400, 'BadTopic', apnsId);
    if (auth.kind === 'token' && owner !== auth.key.teamId) return apnsError(400, 'TopicDisallowed', apnsId);
    if (auth.kind === 'certificate' && auth.grant.bundleId !== bundleId)
      return apnsError(400, 'TopicDisallowed', apnsId);

    const priority = single(r.headers['apns-priority']);
    if (priority !== undefined && !['10', '5', '1'].includes(priority!)) return apnsError(400, 'BadPriority', apnsId);
    const expiration = single(r.headers['apns-expiration']);
    if (expiration !== undefined && !/^\d{1,12}$/.test(expiration!)) return apnsError(400, 'BadExpirationDate', apnsId);
    const collapseId = single(r.headers['apns-collapse-id']);
    if (collapseId && Buffer.byteLength(collapseId) > 64) return apnsError(400, 'BadCollapseId', apnsId);

    const limit = pushType === 'voip' ? VOIP_PAYLOAD_LIMIT : PAYLOAD_LIMITS.apns;
    if (r.bodyTruncated || r.body.length > limit) return apnsError(413, 'PayloadTooLarge', apnsId);
    if (r.body.length === 0) return apnsError(400, 'PayloadEmpty', apnsId);

    const device = this.devices.get(token.toLowerCase());
    if (device && device.bundleId !== bundleId) return apnsError(400, 'DeviceTokenNotForTopic', apnsId);
    if (device?.environment && device.environment !== environment) return apnsError(400, 'BadDeviceToken', apnsId);
    const deadSince = this.state.tokens.unregisteredAt(token);
    if (deadSince !== undefined) return apnsError(410, 'Unregistered', apnsId, { timestamp: deadSince });

    let payload: unknown;
    try {
      payload = JSON.parse(r.body.toString('utf8'));
    } catch {
      payload = r.body.toString('utf8');
    }
    const headers: Record<string, string> = { 'apns-id': apnsId };
    if (environment === 'sandbox') headers['apns-unique-id'] = randomUUID();
    return { status: 200, headers, token, delivery: { token, payload, id: apnsId } };
  }

  /** A client certificate for an app (Apple's subject and environment extensions), trusted by APNs. */
  issueClientCertificate(
    bundleId: string,
    environment: ApnsEnvironment | 'both' = 'both',
  ): { cert: string; key: string } {
    const environments: ApnsEnvironment[] = environment === 'both' ? ['production', 'sandbox'] : [environment];
    const issued = this.authority.issueClientCertificate(`Apple Push Services: ${bundleId}`, {
      uid: bundleId,
      markerExtensions: environments.map((e) => APPLE_CERTIFICATE_ENVIRONMENT_OIDS[e]),
    });
    this.grants.set(issued.serialNumber.toLowerCase().replace(/^0+/, ''), {
      bundleId,
      environments,
    });
    return { cert: issued.cert, key: issued.key };
  }
}

/**
 * Starts an APNs simulator: a production and a sandbox port sharing one CA, key set, device
 * registry, fault script and delivery log. It validates requests the way APNs does and answers
 * with APNs' status codes and reasons.
 */
export async function startApnsSimulator(options: ApnsSimulatorOptions = {}): Promise<ApnsSimulatorHandle> {
  const state = new SimulatorState('apns', options.clock ? { clock: options.clock } : {});
  const authority = options.authority ?? createCertificateAuthority('pushrelay APNs simulator CA');
  const teamId = options.teamId ?? 'TEAM123456';
  const service = new ApnsService(state, authority, teamId, options);
  const signingKey = service.addSigningKey();

  const common = {
    state,
    ca: authority,
    allowHTTP1: true,
    requestCert: true,
    maxConcurrentStreams: options.maxConcurrentStreams ?? 1000,
  };
  const production = await startSimulatorServer({
    ...common,
    handler: service.handlerFor('production'),
    environment: 'production',
    ...(options.productionPort !== undefined ? { port: options.productionPort } : {}),
  });
  const sandbox = await startSimulatorServer({
    ...common,
    handler: service.handlerFor('sandbox'),
    environment: 'sandbox',
    ...(options.sandboxPort !== undefined ? { port: options.sandboxPort } : {}),
  }).catch(async (e: unknown) => {
    await production.close();
    throw e;
  });

  const base = simulatorHandle(state, [production, sandbox], authority);
  return {
    ...base,
    productionUrl: production.url,
    sandboxUrl: sandbox.url,
    productionPort: production.port,
    sandboxPort: sandbox.port,
    host: 'localhost',
    teamId,
    signingKey,
    addSigningKey: (o) => service.addSigningKey(o),
    addApp: (bundleId, team) => void service.apps.set(bundleId, team ?? teamId),
    issueClientCertificate: (bundleId, environment) => service.issueClientCertificate(bundleId, environment),
    registerDevice: (token, device) => void service.devices.set(token.toLowerCase(), device),
    portOf: (environment) => (environment === 'production' ? production.port : sandbox.port),
    providerTokens: () => [...service.tokenUses.values()].map((u) => ({ ...u })),
  };
}
