import { randomBytes } from 'node:crypto';
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
import { recordableHeaders } from './inspection.js';
import { createCertificateAuthority, type CertificateAuthority } from './tls.js';

const TOKEN_PATH = '/oauth2/v3/token';
const SEND_PATH = /^\/(v1|v2)\/([^/]+)\/messages:send$/;
const MAX_TOKENS = 1000;
const MAX_TTL_S = 1_296_000;
/** Huawei's OAuth flow control: 1000 tokens per app in 5 minutes. */
const TOKEN_WINDOW_MS = 5 * 60_000;
const TOKENS_PER_WINDOW = 1000;
const CATEGORIES = new Set([
  'VOIP',
  'PLAY_VOICE',
  'IM',
  'SUBSCRIPTION',
  'TRAVEL',
  'HEALTH',
  'WORK',
  'ACCOUNT',
  'EXPRESS',
  'FINANCE',
  'DEVICE_REMINDER',
  'SYSTEM_REMINDER',
  'MAIL',
  'PLAY_VIDEO',
  'MARKETING',
]);
const TOKEN_SHAPE = /^[A-Za-z0-9_\-:.+/=]{16,}$/;

/** The HTTP status Huawei answers with each result code. */
const HTTP_OF: Record<string, number> = {
  '80000000': 200,
  '80100000': 200,
  '80100001': 400,
  '80100003': 400,
  '80100004': 400,
  '80200001': 401,
  '80200003': 401,
  '80300002': 403,
  '80300007': 400,
  '80300008': 400,
  '80300010': 400,
  '81000001': 500,
};
const MSG_OF: Record<string, string> = {
  '80000000': 'Success',
  '80100001': 'Some request parameters are incorrect.',
  '80100003': 'Incorrect message structure.',
  '80100004': 'The message expiration time is earlier than the current time.',
  '80200001': 'Oauth authentication error.',
  '80200003': 'Oauth Token expired.',
  '80300002': 'The current app does not have the permission to send messages.',
  '80300007': 'All the tokens are invalid.',
  '80300008': 'The message body size exceeds the default value.',
  '80300010': 'The number of tokens in the message body exceeds the default value.',
  '81000001': 'System inner error.',
};
const CODE_OF_STATUS: Record<number, string> = { 400: '80100001', 401: '80200001', 403: '80300002', 500: '81000001' };

export interface HmsSimulatorOptions {
  clock?: SimClock;
  /** `expires_in` of minted access tokens. Default 3600 s. */
  accessTokenLifetimeS?: number;
  authority?: CertificateAuthority;
  /** 0 (default) picks a free port. */
  port?: number;
}

export interface HmsApp {
  appId: string;
  clientSecret: string;
  projectId?: string;
}

export interface HmsSimulator extends SimulatorHandle {
  /** Base URL of the send API (the transport's `baseUrl`). */
  readonly baseUrl: string;
  /** The OAuth token endpoint. */
  readonly tokenUrl: string;
  /** Registers an app (with a project id for the v2 API) and returns its credentials. */
  registerApp(appId?: string, options?: { projectId?: string }): HmsApp;
  accessTokensIssued(appId?: string): number;
  /** Every access token minted so far is answered 80200003 from now on. */
  expireAccessTokens(): void;
  /** The app may not push (80300002), e.g. Push Kit not enabled. */
  denyPermission(appId: string): void;
  /** Binds a device token to an app: pushes from other apps find it illegal. */
  bindToken(token: string, appId: string): void;
}

function hmsAnswer(code: string, msg = MSG_OF[code] ?? 'error', requestId = ''): SimResponse {
  return { status: HTTP_OF[code] ?? 400, reason: code, body: { code, msg, requestId } };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Push Kit as its clients see it: Huawei's OAuth endpoint and the v1/v2 send API. */
class HmsService implements ProviderHandler {
  readonly apps = new Map<string, HmsApp>();
  readonly projects = new Map<string, string>();
  readonly denied = new Set<string>();
  readonly grants = new Map<string, { appId: string; expiresAt: number }>();
  readonly minted = new Map<string, number[]>();
  readonly tokenApps = new Map<string, string>();
  readonly totals = new Map<string, number>();
  private requestCounter = 0;
  private appCounter = 0;

  constructor(
    private readonly state: SimulatorState,
    private readonly lifetimeS: number,
  ) {}

  /** Access tokens minted, for one app or all. */
  issued(appId?: string): number {
    return appId === undefined ? [...this.totals.values()].reduce((n, c) => n + c, 0) : (this.totals.get(appId) ?? 0);
  }

  /** Huawei's OAuth endpoint: client credentials of a registered app. */
  private mint(form: URLSearchParams): SimResponse {
    if (form.get('grant_type') !== 'client_credentials') {
      return {
        status: 400,
        reason: 'unsupported_grant_type',
        body: { error: 1102, sub_error: 20001, error_description: 'unsupported grant_type' },
      };
    }
    const app = this.apps.get(form.get('client_id') ?? '');
    if (!app || app.clientSecret !== form.get('client_secret')) {
      return {
        status: 400,
        reason: 'invalid client',
        body: { error: 1101, sub_error: 20152, error_description: 'invalid client' },
      };
    }
    const now = this.state.clock.now();
    const recent = (this.minted.get(app.appId) ?? []).filter((at) => at > now - TOKEN_WINDOW_MS);
    if (recent.length >= TOKENS_PER_WINDOW) {
      this.minted.set(app.appId, recent);
      return {
        status: 429,
        reason: 'flow control',
        body: { error: 1203, sub_error: 11205, error_description: 'token flow control' },
      };
    }
    recent.push(now);
    this.minted.set(app.appId, recent);
    this.totals.set(app.appId, (this.totals.get(app.appId) ?? 0) + 1);
    const accessToken = `DQEB${randomBytes(24).toString('base64url')}`;
    this.grants.set(accessToken, { appId: app.appId, expiresAt: now + this.lifetimeS * 1000 });
    return { status: 200, body: { access_token: accessToken, expires_in: this.lifetimeS, token_type: 'Bearer' } };
  }

  /** `messages:send` (v1 by app id, v2 by project id): the bearer checked, the message validated as Push Kit does. */
  private send(request: SimRequest, version: string, id: string): SimResponse {
    const requestId = `${this.state.clock.now()}${String(++this.requestCounter).padStart(6, '0')}`;
    const answer = (code: string, msg?: string) => hmsAnswer(code, msg, requestId);
    const appId = version === 'v1' ? id : this.projects.get(id);
    if (!appId || !this.apps.has(appId))
      return answer('80200001', 'Oauth authentication error: unknown app or project.');
    const auth = request.headers['authorization'];
    const bearer = typeof auth === 'string' && auth.startsWith('Bearer ') ? auth.slice(7) : undefined;
    const grant = bearer ? this.grants.get(bearer) : undefined;
    if (!grant || grant.appId !== appId) return answer('80200001');
    const now = this.state.clock.now();
    if (grant.expiresAt <= now) return answer('80200003');
    if (this.denied.has(appId)) return answer('80300002');
    let body: unknown;
    try {
      body = JSON.parse(request.body.toString('utf8'));
    } catch {
      return answer('80100003');
    }
    if (!isRecord(body) || !isRecord(body['message'])) return answer('80100003');
    const message = body['message'];
    const tokens = message['token'];
    if (tokens === undefined && message['topic'] === undefined && message['condition'] === undefined) {
      return answer('80100001', 'token, topic or condition is required.');
    }
    if (tokens !== undefined && (!Array.isArray(tokens) || tokens.some((t) => typeof t !== 'string'))) {
      return answer('80100001', 'token must be an array of strings.');
    }
    if (Array.isArray(tokens) && tokens.length > MAX_TOKENS) return answer('80300010');
    if (message['data'] !== undefined && typeof message['data'] !== 'string') {
      return answer('80100001', 'data must be a JSON string.');
    }
    const android = message['android'];
    if (android !== undefined) {
      if (!isRecord(android)) return answer('80100003');
      if (android['urgency'] !== undefined && android['urgency'] !== 'HIGH' && android['urgency'] !== 'NORMAL') {
        return answer('80100001', 'android.urgency must be HIGH or NORMAL.');
      }
      if (android['category'] !== undefined && !CATEGORIES.has(android['category'] as string)) {
        return answer('80100001', 'android.category is invalid.');
      }
      const ttl = android['ttl'];
      if (ttl !== undefined) {
        const match = typeof ttl === 'string' ? /^(\d+)(\.\d{1,9})?s$/.exec(ttl) : null;
        if (!match || Number(match[1]) > MAX_TTL_S) return answer('80100001', 'android.ttl is invalid.');
        if (Number(match[1]) === 0) return answer('80100004');
      }
    }
    const withoutTokens = { ...message };
    delete withoutTokens['token'];
    if (payloadSize({ payload: withoutTokens }) > PAYLOAD_LIMITS.hms) return answer('80300008');
    if (body['validate_only'] === true) return answer('80000000');
    const targets = Array.isArray(tokens)
      ? (tokens as string[])
      : [`/topics/${String(message['topic'] ?? message['condition'])}`];
    const illegal = Array.isArray(tokens)
      ? targets.filter((t) => {
          const deadAt = this.state.tokens.unregisteredAt(t);
          const owner = this.tokenApps.get(t);
          return (
            !TOKEN_SHAPE.test(t) || (deadAt !== undefined && deadAt <= now) || (owner !== undefined && owner !== appId)
          );
        })
      : [];
    if (illegal.length === targets.length) return answer('80300007');
    const accepted = targets.filter((t) => !illegal.includes(t));
    // The first accepted token goes through the base's delivery log (which checks the client is
    // still there); the rest of a multicast are logged here.
    for (const token of accepted.slice(1)) {
      this.state.recordDelivery({
        provider: 'hms',
        environment: 'hms',
        token,
        headers: recordableHeaders(request.headers),
        payload: { ...message, token: [token] },
        receivedAt: request.receivedAt,
        id: requestId,
      });
    }
    const first = accepted[0]!;
    const response =
      illegal.length === 0
        ? answer('80000000')
        : answer(
            '80100000',
            JSON.stringify({ success: accepted.length, failure: illegal.length, illegal_tokens: illegal }),
          );
    return {
      ...response,
      token: first,
      delivery: { token: first, payload: { ...message, token: [first] }, id: requestId },
    };
  }

  tokenOf(request: Pick<SimRequest, 'method' | 'path' | 'headers' | 'body'>): string | undefined {
    if (!SEND_PATH.test(request.path)) return undefined;
    try {
      const tokens = (JSON.parse(request.body.toString('utf8')) as { message?: { token?: unknown } }).message?.token;
      return Array.isArray(tokens) && typeof tokens[0] === 'string' ? tokens[0] : undefined;
    } catch {
      return undefined;
    }
  }

  faultable(request: Pick<SimRequest, 'method' | 'path'>): boolean {
    return SEND_PATH.test(request.path);
  }

  faultResponse(status: number, reason: string | undefined): SimResponse {
    if (status === 503)
      return {
        status: 503,
        reason: reason ?? 'flow control',
        body: { code: '80300020', msg: 'Flow control.', requestId: '' },
      };
    const code = reason && /^\d{8}$/.test(reason) ? reason : (CODE_OF_STATUS[status] ?? '81000001');
    return { ...hmsAnswer(code), status };
  }

  handle(request: SimRequest): SimResponse {
    const path = request.path.split('?')[0]!;
    if (request.method === 'POST' && path === TOKEN_PATH)
      return this.mint(new URLSearchParams(request.body.toString('utf8')));
    const match = SEND_PATH.exec(path);
    if (request.method === 'POST' && match) return this.send(request, match[1]!, decodeURIComponent(match[2]!));
    return { status: 404, body: { code: '80100003', msg: `No route ${request.method} ${path}.`, requestId: '' } };
  }

  inspect(request: SimRequest): SimResponse | undefined {
    const route = `${request.method} ${request.path.split('?')[0]}`;
    if (route === 'POST /__sim/this.apps') {
      try {
        const body = (request.body.length ? JSON.parse(request.body.toString('utf8')) : {}) as {
          appId?: unknown;
          projectId?: unknown;
        };
        const appId = typeof body.appId === 'string' ? body.appId : undefined;
        const projectId = typeof body.projectId === 'string' ? body.projectId : undefined;
        return { status: 201, body: this.registerApp(appId, projectId ? { projectId } : {}) };
      } catch {
        return { status: 400, body: { error: 'invalid JSON' } };
      }
    }
    if (route === 'GET /__sim/oauth') return { status: 200, body: { accessTokensIssued: this.issued() } };
    return undefined;
  }

  registerApp(appId = String(100_000_000 + ++this.appCounter), opts: { projectId?: string } = {}): HmsApp {
    const app: HmsApp = { appId, clientSecret: randomBytes(32).toString('hex') };
    if (opts.projectId) {
      app.projectId = opts.projectId;
      this.projects.set(opts.projectId, appId);
    }
    this.apps.set(appId, app);
    return { ...app };
  }
}

/**
 * Starts a Huawei Push Kit simulator with the OAuth client-credentials endpoint on the same
 * TLS + HTTP/2 port. It validates messages the way Push Kit does and answers `{code, msg,
 * requestId}` with Huawei's result codes, including partial success with `illegal_tokens`.
 */
export async function startHmsSimulator(options: HmsSimulatorOptions = {}): Promise<HmsSimulator> {
  const state = new SimulatorState('hms', options.clock ? { clock: options.clock } : {});
  const authority = options.authority ?? createCertificateAuthority('pushrelay HMS simulator CA');
  const service = new HmsService(state, options.accessTokenLifetimeS ?? 3600);
  const server = await startSimulatorServer({
    state,
    handler: service,
    ca: authority,
    environment: 'hms',
    ...(options.port !== undefined ? { port: options.port } : {}),
  });
  return {
    ...simulatorHandle(state, [server], authority),
    baseUrl: server.url,
    tokenUrl: `${server.url}${TOKEN_PATH}`,
    registerApp: (appId, opts) => service.registerApp(appId, opts),
    accessTokensIssued: (appId) => service.issued(appId),
    expireAccessTokens: () => {
      for (const grant of service.grants.values()) grant.expiresAt = 0;
    },
    denyPermission: (appId) => void service.denied.add(appId),
    bindToken: (token, appId) => void service.tokenApps.set(token, appId),
  };
}
