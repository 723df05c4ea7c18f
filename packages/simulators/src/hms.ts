import { constants, generateKeyPairSync, randomBytes, verify, type KeyObject } from 'node:crypto';
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
const SEND_PATH = /^\/(v1|v2|v3)\/([^/]+)\/messages:send$/;
/** The audience Huawei fixes for service-account JWTs. */
const JWT_AUDIENCE = 'https://oauth-login.cloud.huawei.com/oauth2/v3/token';
/** A JWT may live at most a day (80300036). */
const MAX_JWT_LIFETIME_S = 86_400;
/** v3 push-type header values: alert, widget, extension, background, live view, in-app call. */
const V3_PUSH_TYPES = new Set(['0', '1', '2', '6', '7', '10']);
const V3_CATEGORIES = new Set([
  'IM',
  'VOIP',
  'MISS_CALL',
  'SUBSCRIPTION',
  'TRAVEL',
  'HEALTH',
  'WORK',
  'ACCOUNT',
  'EXPRESS',
  'FINANCE',
  'DEVICE_REMINDER',
  'MAIL',
  'PLAY_VOICE',
  'MARKETING',
]);
/** Test messages: at most 10 tokens each and 1000 per project a day. */
const MAX_TEST_TOKENS = 10;
const TEST_MESSAGES_PER_DAY = 1000;
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
  '80200005': 401,
  '80300002': 403,
  '80300007': 400,
  '80300008': 400,
  '80300010': 400,
  '80300029': 400,
  '80300030': 400,
  '80300036': 401,
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
  '80200005': 'Jwt token expired.',
  '80300029': 'When send test message, the api request exceed limit.',
  '80300030': 'When send test message, token count exceed limit.',
  '80300036': 'JWT expire period over threshold.',
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
  /** The Push Kit service account key of the app's project (v3), in camelCase. */
  serviceAccount?: { keyId: string; subAccount: string; privateKey: string };
}

export interface HmsSimulator extends SimulatorHandle {
  /** Base URL of the send API (the transport's `baseUrl`). */
  readonly baseUrl: string;
  /** The OAuth token endpoint. */
  readonly tokenUrl: string;
  /**
   * Registers an app (with a project id for the v2 and v3 APIs; a service account key, which
   * v3 takes, with `serviceAccount: true`) and returns its credentials.
   */
  registerApp(appId?: string, options?: { projectId?: string; serviceAccount?: boolean }): HmsApp;
  accessTokensIssued(appId?: string): number;
  /** Every access token minted so far is answered 80200003, every JWT seen so far 80200005. */
  expireAccessTokens(): void;
  /** Distinct service-account JWTs the v3 API has been sent (per app). */
  jwtsSeen(appId?: string): number;
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

/**
 * Push Kit as the simulator's server sees it: the apps and their credentials, the OAuth
 * endpoint, the v1/v2 and v3 send APIs and the inspection routes.
 */
class PushKit implements ProviderHandler {
  readonly apps = new Map<string, HmsApp>();
  private readonly projects = new Map<string, string>();
  readonly denied = new Set<string>();
  private readonly grants = new Map<string, { appId: string; expiresAt: number }>();
  private readonly minted = new Map<string, number[]>();
  readonly tokenApps = new Map<string, string>();
  private readonly totals = new Map<string, number>();
  private readonly serviceKeys = new Map<
    string,
    { appId: string; projectId: string; subAccount: string; publicKey: KeyObject }
  >();
  private readonly jwts = new Map<string, string>();
  private readonly expiredJwts = new Set<string>();
  private readonly testSends = new Map<string, number[]>();
  private requestCounter = 0;
  private appCounter = 0;
  private keyCounter = 0;

  constructor(
    readonly state: SimulatorState,
    private readonly lifetimeS: number,
  ) {}

  tokenOf(request: SimRequest): string | undefined {
    if (!SEND_PATH.test(request.path)) return undefined;
    try {
      const body = JSON.parse(request.body.toString('utf8')) as {
        message?: { token?: unknown };
        target?: { token?: unknown };
      };
      const tokens = body.message?.token ?? body.target?.token;
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
    if (request.method === 'POST' && match?.[1] === 'v3') return this.sendV3(request, decodeURIComponent(match[2]!));
    if (request.method === 'POST' && match) return this.send(request, match[1]!, decodeURIComponent(match[2]!));
    return { status: 404, body: { code: '80100003', msg: `No route ${request.method} ${path}.`, requestId: '' } };
  }
  inspect(request: SimRequest): SimResponse | undefined {
    const route = `${request.method} ${request.path.split('?')[0]}`;
    if (route === 'POST /__sim/apps') {
      try {
        const body = (request.body.length ? JSON.parse(request.body.toString('utf8')) : {}) as {
          appId?: unknown;
          projectId?: unknown;
          serviceAccount?: unknown;
        };
        const appId = typeof body.appId === 'string' ? body.appId : undefined;
        const projectId = typeof body.projectId === 'string' ? body.projectId : undefined;
        return {
          status: 201,
          body: this.registerApp(appId, {
            ...(projectId ? { projectId } : {}),
            ...(body.serviceAccount === true ? { serviceAccount: true } : {}),
          }),
        };
      } catch {
        return { status: 400, body: { error: 'invalid JSON' } };
      }
    }
    if (route === 'GET /__sim/oauth') return { status: 200, body: { accessTokensIssued: this.issued() } };
    return undefined;
  }

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

  /** The v1 and v2 send APIs: an OAuth bearer of the app, Push Kit's `message`. */
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

  /** Checks a v3 bearer: a PS256 service-account JWT of the project's key, fresh and short-lived. */
  private checkJwt(bearer: string | undefined, projectId: string): string | undefined {
    const fail = (msg = MSG_OF['80200001']) => ({ code: '80200001', msg });
    const parts = bearer?.split('.') ?? [];
    if (parts.length !== 3) return JSON.stringify(fail('Authentication Error: not a JWT (v3 takes no OAuth token).'));
    const [head, claims, signature] = parts as [string, string, string];
    const json = (part: string): Record<string, unknown> | undefined => {
      try {
        const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
        return isRecord(value) ? value : undefined;
      } catch {
        return undefined;
      }
    };
    const header = json(head);
    const body = json(claims);
    if (!header || !body || header['alg'] !== 'PS256' || header['typ'] !== 'JWT') {
      return JSON.stringify(fail('Authentication Error: JWT header must be {kid, typ: JWT, alg: PS256}.'));
    }
    const key = typeof header['kid'] === 'string' ? this.serviceKeys.get(header['kid']) : undefined;
    if (!key) return JSON.stringify(fail('Authentication Error: unknown kid.'));
    const valid = verify(
      'sha256',
      Buffer.from(`${head}.${claims}`),
      {
        key: key.publicKey,
        padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
      },
      Buffer.from(signature, 'base64url'),
    );
    if (!valid) return JSON.stringify(fail('Authentication Error: bad JWT signature.'));
    if (body['iss'] !== key.subAccount || body['aud'] !== JWT_AUDIENCE) {
      return JSON.stringify(fail('Authentication Error: iss must be the sub_account, aud the token URI.'));
    }
    if (key.projectId !== projectId) return JSON.stringify(fail('Authentication Error: JWT of another project.'));
    const iat = body['iat'];
    const exp = body['exp'];
    if (typeof iat !== 'number' || typeof exp !== 'number')
      return JSON.stringify(fail('Authentication Error: iat and exp are required.'));
    if (exp - iat > MAX_JWT_LIFETIME_S) return JSON.stringify({ code: '80300036', msg: MSG_OF['80300036'] });
    if (exp * 1000 <= this.state.clock.now() || this.expiredJwts.has(bearer!)) {
      return JSON.stringify({ code: '80200005', msg: MSG_OF['80200005'] });
    }
    this.jwts.set(bearer!, key.appId);
    return undefined;
  }

  /** The v3 (HarmonyOS NEXT) send API: a service-account JWT, `payload` and `target`. */
  private sendV3(request: SimRequest, projectId: string): SimResponse {
    const requestId = `${this.state.clock.now()}${String(++this.requestCounter).padStart(6, '0')}`;
    const answer = (code: string, msg?: string) => hmsAnswer(code, msg, requestId);
    const appId = this.projects.get(projectId);
    if (!appId || !this.apps.has(appId)) return answer('80200001', 'Authentication Error: unknown project.');
    const auth = request.headers['authorization'];
    const bearer = typeof auth === 'string' && auth.startsWith('Bearer ') ? auth.slice(7) : undefined;
    const refused = this.checkJwt(bearer, projectId);
    if (refused) {
      const { code, msg } = JSON.parse(refused) as { code: string; msg: string };
      return answer(code, msg);
    }
    if (this.denied.has(appId)) return answer('80300002');
    const pushType = request.headers['push-type'];
    if (typeof pushType !== 'string' || !V3_PUSH_TYPES.has(pushType)) {
      return answer('80100001', 'Check Parameter Error: push-type header is missing or invalid.');
    }
    let body: unknown;
    try {
      body = JSON.parse(request.body.toString('utf8'));
    } catch {
      return answer('80100003', 'Illegal payload, not JSON.');
    }
    if (!isRecord(body) || !isRecord(body['payload']))
      return answer('80100003', 'Illegal payload, payload is required.');
    if (body['message'] !== undefined) return answer('80100003', 'Illegal payload, message is a v1/v2 field.');
    const target = body['target'];
    const tokens = isRecord(target) ? target['token'] : undefined;
    if (!Array.isArray(tokens) || tokens.length === 0 || tokens.some((t) => typeof t !== 'string')) {
      return answer('80100001', 'Check Parameter Error: target.token must be an array of strings.');
    }
    if (tokens.length > MAX_TOKENS) return answer('80300010', 'token count should within 1 and 1000.');
    const pushOptions = body['pushOptions'];
    if (pushOptions !== undefined && !isRecord(pushOptions))
      return answer('80100001', 'Check Parameter Error: pushOptions.');
    const test = isRecord(pushOptions) ? pushOptions['testMessage'] : undefined;
    if (test !== undefined && typeof test !== 'boolean') {
      return answer('80100001', 'Check Parameter Error: pushOptions.testMessage must be a boolean.');
    }
    const ttl = isRecord(pushOptions) ? pushOptions['ttl'] : undefined;
    if (ttl !== undefined) {
      if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl > MAX_TTL_S) {
        return answer('80100001', 'Check Parameter Error: pushOptions.ttl must be whole seconds up to 1296000.');
      }
      if (ttl <= 0) return answer('80100004', 'Illegal expire time.');
    }
    const payload = body['payload'];
    if (pushType === '10' || pushType === '6') {
      if (typeof payload['extraData'] !== 'string')
        return answer('80100003', 'Illegal payload, extraData is required.');
    }
    if (pushType === '0') {
      const notification = payload['notification'];
      if (!isRecord(notification)) return answer('80100003', 'Illegal payload, notification is required.');
      if (!V3_CATEGORIES.has(notification['category'] as string)) {
        return answer('80100003', 'Illegal payload, notification.category is invalid.');
      }
      if (typeof notification['title'] !== 'string' || typeof notification['body'] !== 'string') {
        return answer('80100003', 'Illegal payload, notification title and body are required.');
      }
    }
    const withoutTarget = { ...body };
    delete withoutTarget['target'];
    if (payloadSize({ payload: withoutTarget }) > PAYLOAD_LIMITS.hms) return answer('80300008', MSG_OF['80300008']);
    const now = this.state.clock.now();
    if (test === true) {
      if (tokens.length > MAX_TEST_TOKENS) return answer('80300030');
      const recent = (this.testSends.get(projectId) ?? []).filter((at) => at > now - 86_400_000);
      if (recent.length >= TEST_MESSAGES_PER_DAY) return answer('80300029');
      recent.push(now);
      this.testSends.set(projectId, recent);
    }
    const illegal = new Map<string, string[]>();
    const accepted: string[] = [];
    for (const t of tokens as string[]) {
      const deadAt = this.state.tokens.unregisteredAt(t);
      const owner = this.tokenApps.get(t);
      const reason = !TOKEN_SHAPE.test(t)
        ? 'tokenFormatError'
        : (deadAt !== undefined && deadAt <= now) || (owner !== undefined && owner !== appId)
          ? 'noRight'
          : undefined;
      if (reason) illegal.set(reason, [...(illegal.get(reason) ?? []), t]);
      else accepted.push(t);
    }
    const failure = tokens.length - accepted.length;
    if (accepted.length === 0) {
      return answer('80300007', JSON.stringify({ illegalTokens: Object.fromEntries(illegal), failure }));
    }
    for (const token of accepted.slice(1)) {
      this.state.recordDelivery({
        provider: 'hms',
        environment: 'hms',
        token,
        headers: recordableHeaders(request.headers),
        payload: { ...body, target: { token: [token] } },
        receivedAt: request.receivedAt,
        id: requestId,
      });
    }
    const first = accepted[0]!;
    const response =
      failure === 0
        ? answer('80000000')
        : answer(
            '80100000',
            JSON.stringify({ illegalTokens: Object.fromEntries(illegal), success: accepted.length, failure }),
          );
    return {
      ...response,
      token: first,
      delivery: { token: first, payload: { ...body, target: { token: [first] } }, id: requestId },
    };
  }

  registerApp(
    appId = String(100_000_000 + ++this.appCounter),
    opts: { projectId?: string; serviceAccount?: boolean } = {},
  ): HmsApp {
    const app: HmsApp = { appId, clientSecret: randomBytes(32).toString('hex') };
    const serial = opts.serviceAccount ? ++this.keyCounter : 0;
    const projectId = opts.projectId ?? (opts.serviceAccount ? String(388_421_841_200 + serial) : undefined);
    if (projectId) {
      app.projectId = projectId;
      this.projects.set(projectId, appId);
    }
    if (opts.serviceAccount && projectId) {
      const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const keyId = randomBytes(16).toString('hex');
      const subAccount = String(100_000_000_000 + serial);
      this.serviceKeys.set(keyId, { appId, projectId, subAccount, publicKey });
      app.serviceAccount = {
        keyId,
        subAccount,
        privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      };
    }
    this.apps.set(appId, app);
    return { ...app };
  }
  issued(appId?: string): number {
    return appId === undefined ? [...this.totals.values()].reduce((n, c) => n + c, 0) : (this.totals.get(appId) ?? 0);
  }

  expire(): void {
    for (const grant of this.grants.values()) grant.expiresAt = 0;
    for (const jwt of this.jwts.keys()) this.expiredJwts.add(jwt);
  }

  jwtsSeen(appId?: string): number {
    return [...this.jwts.values()].filter((owner) => appId === undefined || owner === appId).length;
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
  const kit = new PushKit(state, options.accessTokenLifetimeS ?? 3600);
  const server = await startSimulatorServer({
    state,
    handler: kit,
    ca: authority,
    environment: 'hms',
    ...(options.port !== undefined ? { port: options.port } : {}),
  });
  return {
    ...simulatorHandle(state, [server], authority),
    baseUrl: server.url,
    tokenUrl: `${server.url}${TOKEN_PATH}`,
    registerApp: (appId, opts) => kit.registerApp(appId, opts),
    accessTokensIssued: (appId) => kit.issued(appId),
    expireAccessTokens: () => kit.expire(),
    jwtsSeen: (appId) => kit.jwtsSeen(appId),
    denyPermission: (appId) => void kit.denied.add(appId),
    bindToken: (token, appId) => void kit.tokenApps.set(token, appId),
  };
}
