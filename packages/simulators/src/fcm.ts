import { createPublicKey, createVerify, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import {
  SimulatorState,
  simulatorHandle,
  startSimulatorServer,
  type ProviderHandler,
  type SimClock,
  type SimRequest,
  type SimResponse,
  type SimulatorHandle,
} from './base.js';
import { PAYLOAD_LIMITS, payloadSize } from '@pushrelay/core';
import { createCertificateAuthority, type CertificateAuthority } from './tls.js';

export const FCM_MESSAGING_SCOPE = 'https://www.googleapis.com/auth/firebase.messaging';
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const FCM_ERROR_TYPE = 'type.googleapis.com/google.firebase.fcm.v1.FcmError';
const BAD_REQUEST_TYPE = 'type.googleapis.com/google.rpc.BadRequest';
const MAX_TTL_S = 2_419_200;
const SEND_PATH = /^\/v1\/projects\/([^/]+)\/messages:send$/;
const TOKEN_PATH = '/token';
const RESERVED_DATA_KEY = /^(from|message_type|gcm\..*|google\..*)$/;
/** What FCM registration tokens look like; anything else is an INVALID_ARGUMENT on message.token. */
const TOKEN_SHAPE = /^[A-Za-z0-9_\-:.]{8,4096}$/;

/** The gRPC status FCM answers beside each FcmError code. */
const STATUS_OF: Record<string, { http: number; status: string }> = {
  UNSPECIFIED_ERROR: { http: 500, status: 'INTERNAL' },
  INVALID_ARGUMENT: { http: 400, status: 'INVALID_ARGUMENT' },
  UNREGISTERED: { http: 404, status: 'NOT_FOUND' },
  SENDER_ID_MISMATCH: { http: 403, status: 'PERMISSION_DENIED' },
  QUOTA_EXCEEDED: { http: 429, status: 'RESOURCE_EXHAUSTED' },
  UNAVAILABLE: { http: 503, status: 'UNAVAILABLE' },
  INTERNAL: { http: 500, status: 'INTERNAL' },
  THIRD_PARTY_AUTH_ERROR: { http: 401, status: 'UNAUTHENTICATED' },
};
const CODE_OF_STATUS: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'THIRD_PARTY_AUTH_ERROR',
  403: 'SENDER_ID_MISMATCH',
  404: 'UNREGISTERED',
  429: 'QUOTA_EXCEEDED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
};

/** A Google service-account key file as the Firebase console hands it out. */
export interface ServiceAccountJson {
  type: 'service_account';
  project_id: string;
  private_key_id: string;
  private_key: string;
  client_email: string;
  client_id: string;
  auth_uri: string;
  token_uri: string;
}

export interface FcmSimulatorOptions {
  clock?: SimClock;
  /** `expires_in` of minted access tokens. Default 3599 s. */
  accessTokenLifetimeS?: number;
  /** SETTINGS_MAX_CONCURRENT_STREAMS; FCM allows 100. */
  maxConcurrentStreams?: number;
  authority?: CertificateAuthority;
  /** 0 (default) picks a free port. */
  port?: number;
  /**
   * Service accounts to trust from the start, as `createServiceAccount` made them (in an earlier
   * run on the same port, with the same `authority`): Google keeps a project's keys across the
   * restart of a front end. Access tokens minted before are not kept: the first send with one
   * gets 401 and its client mints a new one.
   */
  serviceAccounts?: readonly ServiceAccountJson[];
}

export interface FcmSimulator extends SimulatorHandle {
  /** Base URL of the send API (the transport's `baseUrl`). */
  readonly baseUrl: string;
  /** The OAuth token endpoint (`token_uri` of the service accounts it makes). */
  readonly tokenUrl: string;
  /** Makes and registers a throwaway service account whose `token_uri` is this simulator. */
  createServiceAccount(projectId?: string): ServiceAccountJson;
  /** Access tokens minted so far. */
  accessTokensIssued(): number;
  /** Makes every access token minted so far invalid (the next send gets 401 UNAUTHENTICATED). */
  revokeAccessTokens(): void;
  /** Binds a device token to a project: sends from other projects get SENDER_ID_MISMATCH. */
  bindToken(token: string, projectId: string): void;
}

interface Account {
  projectId: string;
  clientEmail: string;
  publicKey: KeyObject;
}

interface Grant {
  projectId: string;
  expiresAt: number;
}

function fcmError(code: string, message: string, extraDetails: unknown[] = []): SimResponse {
  const known = STATUS_OF[code];
  const http = known?.http ?? 500;
  return {
    status: http,
    reason: code,
    body: {
      error: {
        code: http,
        message,
        status: known?.status ?? code,
        details: [{ '@type': FCM_ERROR_TYPE, errorCode: code }, ...extraDetails],
      },
    },
  };
}

/** The plain gRPC error Google answers when no FcmError applies (bad OAuth token, wrong project). */
function googleError(http: number, status: string, message: string): SimResponse {
  return { status: http, reason: status, body: { error: { code: http, message, status } } };
}

function badRequest(message: string, field?: string): SimResponse {
  return fcmError(
    'INVALID_ARGUMENT',
    message,
    field ? [{ '@type': BAD_REQUEST_TYPE, fieldViolations: [{ field, description: message }] }] : [],
  );
}

function oauthError(error: string, description: string): SimResponse {
  return { status: 400, reason: error, body: { error, error_description: description } };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function decodeSegment(segment: string | undefined): Record<string, unknown> | undefined {
  if (!segment) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return isRecord(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** FCM as its clients see it: Google's token endpoint and the HTTP v1 send API. */
class FcmService implements ProviderHandler {
  readonly accounts = new Map<string, Account>();
  readonly grants = new Map<string, Grant>();
  readonly tokenProjects = new Map<string, string>();
  issued = 0;
  /** The `aud` JWT grants must name: set once the port listens. */
  tokenUrl = '';
  private messageCounter = 0;
  private accountCounter = 0;

  constructor(
    private readonly state: SimulatorState,
    private readonly lifetimeS: number,
  ) {}

  /** Google's token endpoint: a JWT bearer grant signed by a registered service account. */
  private mint(form: URLSearchParams): SimResponse {
    if (form.get('grant_type') !== JWT_BEARER) return oauthError('unsupported_grant_type', 'Invalid grant_type.');
    const assertion = form.get('assertion') ?? '';
    const [h, c, s] = assertion.split('.');
    const header = decodeSegment(h);
    const claims = decodeSegment(c);
    if (!header || !claims || !s) return oauthError('invalid_grant', 'Invalid JWT: malformed assertion.');
    if (header['alg'] !== 'RS256') return oauthError('invalid_grant', 'Invalid JWT: alg must be RS256.');
    const account = this.accounts.get(String(header['kid'] ?? ''));
    if (!account) return oauthError('invalid_grant', 'Invalid JWT Signature.');
    const verify = createVerify('RSA-SHA256');
    verify.update(`${h}.${c}`);
    if (!verify.verify(account.publicKey, Buffer.from(s, 'base64url'))) {
      return oauthError('invalid_grant', 'Invalid JWT Signature.');
    }
    if (claims['iss'] !== account.clientEmail)
      return oauthError('invalid_grant', 'Invalid JWT: iss is not the key owner.');
    if (claims['aud'] !== this.tokenUrl)
      return oauthError('invalid_grant', `Invalid JWT: aud must be ${this.tokenUrl}.`);
    const scopes = typeof claims['scope'] === 'string' ? claims['scope'].split(' ') : [];
    if (!scopes.includes(FCM_MESSAGING_SCOPE))
      return oauthError('invalid_scope', 'Invalid OAuth scope or ID token audience provided.');
    const nowS = this.state.clock.now() / 1000;
    const iat = Number(claims['iat']);
    const exp = Number(claims['exp']);
    if (!Number.isFinite(iat) || !Number.isFinite(exp) || exp <= iat || exp - iat > 3600) {
      return oauthError('invalid_grant', 'Invalid JWT: exp must be within an hour of iat.');
    }
    if (exp < nowS - 60 || iat > nowS + 60) {
      return oauthError(
        'invalid_grant',
        'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.',
      );
    }
    this.issued++;
    const accessToken = `ya29.sim-${randomBytes(24).toString('base64url')}`;
    this.grants.set(accessToken, {
      projectId: account.projectId,
      expiresAt: this.state.clock.now() + this.lifetimeS * 1000,
    });
    return { status: 200, body: { access_token: accessToken, expires_in: this.lifetimeS, token_type: 'Bearer' } };
  }

  /** `messages:send`: the bearer checked, the message validated the way FCM does. */
  private sendMessage(request: SimRequest, projectId: string): SimResponse {
    const auth = request.headers['authorization'];
    const bearer = typeof auth === 'string' && auth.startsWith('Bearer ') ? auth.slice(7) : undefined;
    const grant = bearer ? this.grants.get(bearer) : undefined;
    if (!grant || grant.expiresAt <= this.state.clock.now()) {
      return googleError(
        401,
        'UNAUTHENTICATED',
        'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.',
      );
    }
    if (grant.projectId !== projectId) {
      return googleError(
        403,
        'PERMISSION_DENIED',
        `Permission 'cloudmessaging.messages.create' denied on resource '//cloudresourcemanager.googleapis.com/projects/${projectId}'.`,
      );
    }
    let body: unknown;
    try {
      body = JSON.parse(request.body.toString('utf8'));
    } catch {
      return googleError(400, 'INVALID_ARGUMENT', 'Invalid JSON payload received.');
    }
    if (!isRecord(body) || !isRecord(body['message']))
      return badRequest('Request contains an invalid argument.', 'message');
    const message = body['message'];
    const targets = (['token', 'topic', 'condition'] as const).filter((t) => message[t] !== undefined);
    if (targets.length !== 1) {
      return badRequest(`Exactly one of token, topic or condition must be set; got ${targets.length}.`, 'message');
    }
    const data = message['data'];
    if (data !== undefined) {
      if (!isRecord(data)) return badRequest("Invalid value at 'message.data'.", 'message.data');
      for (const [key, value] of Object.entries(data)) {
        if (typeof value !== 'string')
          return badRequest(
            `Invalid value at 'message.data[${key}].value' (TYPE_STRING).`,
            `message.data[${key}].value`,
          );
        if (RESERVED_DATA_KEY.test(key)) return badRequest(`Invalid data payload key: ${key}.`, 'message.data');
      }
    }
    const android = message['android'];
    if (android !== undefined) {
      if (!isRecord(android)) return badRequest("Invalid value at 'message.android'.", 'message.android');
      const priority = android['priority'];
      if (priority !== undefined && !['NORMAL', 'HIGH', 'normal', 'high'].includes(priority as string)) {
        return badRequest(
          `Invalid value at 'message.android.priority' (${String(priority)}).`,
          'message.android.priority',
        );
      }
      const ttl = android['ttl'];
      if (ttl !== undefined) {
        const match = typeof ttl === 'string' ? /^(\d+)(\.\d{1,9})?s$/.exec(ttl) : null;
        if (!match)
          return badRequest(
            "Invalid value at 'message.android.ttl' (type.googleapis.com/google.protobuf.Duration).",
            'message.android.ttl',
          );
        if (Number(match[1]) > MAX_TTL_S) return badRequest('TTL must not exceed 4 weeks.', 'message.android.ttl');
      }
    }
    const withoutTarget = { ...message };
    delete withoutTarget['token'];
    delete withoutTarget['topic'];
    delete withoutTarget['condition'];
    if (payloadSize({ payload: withoutTarget }) > PAYLOAD_LIMITS.fcm)
      return badRequest('Message is too big.', 'message');
    const token = message['token'];
    if (token !== undefined) {
      if (typeof token !== 'string' || !TOKEN_SHAPE.test(token)) {
        return badRequest('The registration token is not a valid FCM registration token', 'message.token');
      }
      const deadAt = this.state.tokens.unregisteredAt(token);
      if (deadAt !== undefined && deadAt <= this.state.clock.now())
        return fcmError('UNREGISTERED', 'Requested entity was not found.');
      const owner = this.tokenProjects.get(token);
      if (owner !== undefined && owner !== projectId) {
        return fcmError('SENDER_ID_MISMATCH', 'SenderId mismatch');
      }
    }
    const name = `projects/${projectId}/messages/0:${this.state.clock.now()}${String(++this.messageCounter).padStart(6, '0')}%${randomBytes(8).toString('hex')}`;
    if (body['validate_only'] === true)
      return { status: 200, body: { name: `projects/${projectId}/messages/fake_message_id` } };
    const target = typeof token === 'string' ? token : `/topics/${String(message['topic'] ?? message['condition'])}`;
    return { status: 200, body: { name }, token: target, delivery: { token: target, payload: message, id: name } };
  }

  tokenOf(request: Pick<SimRequest, 'method' | 'path' | 'headers' | 'body'>): string | undefined {
    if (!SEND_PATH.test(request.path)) return undefined;
    try {
      const token = (JSON.parse(request.body.toString('utf8')) as { message?: { token?: unknown } }).message?.token;
      return typeof token === 'string' ? token : undefined;
    } catch {
      return undefined;
    }
  }

  faultable(request: Pick<SimRequest, 'method' | 'path'>): boolean {
    return SEND_PATH.test(request.path);
  }

  faultResponse(status: number, reason: string | undefined): SimResponse {
    const code = reason ?? CODE_OF_STATUS[status] ?? 'INTERNAL';
    if (STATUS_OF[code]) {
      const response = fcmError(code, `Simulated ${code}.`);
      response.status = status;
      (response.body as { error: { code: number } }).error.code = status;
      return response;
    }
    return googleError(status, code, `Simulated ${code}.`);
  }

  handle(request: SimRequest): SimResponse {
    if (request.method === 'POST' && request.path.split('?')[0] === TOKEN_PATH) {
      return this.mint(new URLSearchParams(request.body.toString('utf8')));
    }
    const match = SEND_PATH.exec(request.path);
    if (request.method === 'POST' && match) return this.sendMessage(request, decodeURIComponent(match[1]!));
    return googleError(404, 'NOT_FOUND', `No route ${request.method} ${request.path}.`);
  }

  inspect(request: SimRequest): SimResponse | undefined {
    const route = `${request.method} ${request.path.split('?')[0]}`;
    if (route === 'POST /__sim/service-accounts') {
      let projectId: string | undefined;
      try {
        const body = request.body.length ? (JSON.parse(request.body.toString('utf8')) as { projectId?: unknown }) : {};
        projectId = typeof body.projectId === 'string' ? body.projectId : undefined;
      } catch {
        return { status: 400, body: { error: 'invalid JSON' } };
      }
      return { status: 201, body: this.createServiceAccount(projectId) };
    }
    if (route === 'GET /__sim/oauth') return { status: 200, body: { accessTokensIssued: this.issued } };
    return undefined;
  }

  trust(account: ServiceAccountJson): void {
    this.accounts.set(account.private_key_id, {
      projectId: account.project_id,
      clientEmail: account.client_email,
      publicKey: createPublicKey(account.private_key),
    });
    const made = Number(account.client_id) - 100_000_000_000;
    // Accounts made after the restart get emails of their own.
    if (Number.isInteger(made)) this.accountCounter = Math.max(this.accountCounter, made);
  }

  createServiceAccount(projectId = 'pushrelay-sim'): ServiceAccountJson {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const keyId = randomBytes(20).toString('hex');
    const clientEmail = `sender-${++this.accountCounter}@${projectId}.iam.gserviceaccount.com`;
    this.accounts.set(keyId, { projectId, clientEmail, publicKey });
    return {
      type: 'service_account',
      project_id: projectId,
      private_key_id: keyId,
      private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      client_email: clientEmail,
      client_id: String(100_000_000_000 + this.accountCounter),
      auth_uri: 'https://accounts.google.com/o/oauth2/auth',
      token_uri: this.tokenUrl,
    };
  }
}

/**
 * Starts a Firebase Cloud Messaging HTTP v1 simulator with Google's OAuth token endpoint on the
 * same TLS + HTTP/2 port. It checks the JWT bearer grant against the registered service
 * accounts and validates messages the way FCM does, answering with FCM's real error bodies.
 */
export async function startFcmSimulator(options: FcmSimulatorOptions = {}): Promise<FcmSimulator> {
  const state = new SimulatorState('fcm', options.clock ? { clock: options.clock } : {});
  const authority = options.authority ?? createCertificateAuthority('pushrelay FCM simulator CA');
  const service = new FcmService(state, options.accessTokenLifetimeS ?? 3599);
  const server = await startSimulatorServer({
    state,
    handler: service,
    ca: authority,
    environment: 'fcm',
    ...(options.port !== undefined ? { port: options.port } : {}),
    maxConcurrentStreams: options.maxConcurrentStreams ?? 100,
  });
  service.tokenUrl = `${server.url}${TOKEN_PATH}`;
  for (const account of options.serviceAccounts ?? []) service.trust(account);
  return {
    ...simulatorHandle(state, [server], authority),
    baseUrl: server.url,
    tokenUrl: service.tokenUrl,
    createServiceAccount: (projectId) => service.createServiceAccount(projectId),
    accessTokensIssued: () => service.issued,
    revokeAccessTokens: () => service.grants.clear(),
    bindToken: (token, projectId) => void service.tokenProjects.set(token, projectId),
  };
}
