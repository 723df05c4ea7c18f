import { parseUri, SipParseError, type TransportProtocol } from '@pushrelay/sip';

/** Who may send requests other than REGISTER, and where users come from (registrar mode). */
export interface AuthConfig {
  /**
   * Challenge out-of-dialog requests from phones (INVITE, MESSAGE, SUBSCRIBE...) with 407 and
   * digest-authenticate them against the users. false: the network in front (an SBC) does it,
   * and anyone who reaches the bridge may call its users and out through the trunk.
   */
  requests: boolean;
  /** `config`: the `users` list; `postgres`: the `sip_users` table of the postgres store. */
  users: 'config' | 'postgres';
  /** How long a user looked up in postgres (found or not) is remembered. */
  userCacheTtlMs: number;
}

/** An address requests are accepted from as the trunk: a host, and a port unless any port goes. */
export interface SourceAddress {
  host: string;
  port?: number;
}

/** The upstream trunk calls to non-local users go to. */
export interface TrunkConfig {
  /** As configured, e.g. `sip:192.0.2.10:5060;transport=udp`. */
  uri: string;
  host: string;
  port: number;
  transport: TransportProtocol;
  /** Answer the trunk's 401/407 challenges with these. */
  username?: string;
  password?: string;
  /** INVITEs from these addresses are the trunk's; default the trunk's host and port. */
  sources: SourceAddress[];
  /** Credentials the trunk may answer the bridge's 407 with instead of calling from a source address. */
  inbound?: { username: string; password: string };
}

/** A TLS listener beside UDP/TCP. Certificate and key are read at start and again on SIGHUP. */
export interface TlsConfig {
  port: number;
  certFile: string;
  keyFile: string;
  /** CA bundle trusted for connections the bridge opens over TLS (a trunk, a phone's Contact). */
  caFile?: string;
}

export interface LimitsConfig {
  /** Server transactions held at once; beyond it requests get a stateless 503 with Retry-After. */
  maxServerTransactions: number;
  /** Calls held for a pushed device at once; beyond it new INVITEs and REGISTERs get 503. */
  maxHeldCalls: number;
  /** Server plus client transactions open at once; beyond it new INVITEs and REGISTERs get 503. */
  maxOpenTransactions: number;
  /** Smoothed event-loop lag (ms); beyond it new INVITEs and REGISTERs get 503. 0: not watched. */
  maxEventLoopLagMs: number;
  /** Seconds in the Retry-After of every overload 503. */
  retryAfterSeconds: number;
}

export interface RegistrarOptions {
  auth: AuthConfig;
  trunk?: TrunkConfig;
  tls?: TlsConfig;
  /** HMS transport options as @pushrelay/transport-hms takes them; `caFile` is read from disk. */
  hms?: Record<string, unknown>;
  limits: LimitsConfig;
}

/** The option readers of resolveConfig, so that this block reports its problems the same way. */
export interface ConfigReaders {
  fail(path: string, message: string): void;
  section(name: string): Record<string, unknown>;
  str(value: unknown, path: string, fallback: string | undefined, pattern?: RegExp): string;
  int(value: unknown, path: string, fallback: number, min: number, max: number): number;
  bool(value: unknown, path: string, fallback: boolean): boolean;
  oneOf<T extends string>(value: unknown, path: string, allowed: readonly T[], fallback: T): T;
}

export const REGISTRAR_SECTIONS = ['auth', 'trunk', 'tls', 'hms', 'limits'] as const;

const HOST = /^[A-Za-z0-9.:[\]-]+$/;
const USERNAME = /^[A-Za-z0-9._~+-]+$/;

/** Reads `auth`, `trunk`, `tls`, `hms` and `limits`. */
export function resolveRegistrarOptions(
  root: Record<string, unknown>,
  read: ConfigReaders,
  storeEngine: string,
): RegistrarOptions {
  const { fail, section, str, int, bool, oneOf } = read;
  const known = (name: string, value: Record<string, unknown>, keys: string[]): void => {
    for (const key of Object.keys(value)) if (!keys.includes(key)) fail(`${name}.${key}`, 'is not a known option');
  };

  const authIn = section('auth');
  known('auth', authIn, ['requests', 'users', 'userCacheTtlMs']);
  const auth: AuthConfig = {
    requests: bool(authIn['requests'], 'auth.requests', true),
    users: oneOf(authIn['users'], 'auth.users', ['config', 'postgres'] as const, 'config'),
    userCacheTtlMs: int(authIn['userCacheTtlMs'], 'auth.userCacheTtlMs', 30_000, 0, 3_600_000),
  };
  if (auth.users === 'postgres' && storeEngine !== 'postgres')
    fail('auth.users', '"postgres" needs a postgres store (store.engine: postgres)');

  const options: RegistrarOptions = {
    auth,
    limits: {
      maxServerTransactions: 50_000,
      maxHeldCalls: 0,
      maxOpenTransactions: 0,
      maxEventLoopLagMs: 0,
      retryAfterSeconds: 0,
    },
  };

  const limitsIn = section('limits');
  known('limits', limitsIn, [
    'maxServerTransactions',
    'maxHeldCalls',
    'maxOpenTransactions',
    'maxEventLoopLagMs',
    'retryAfterSeconds',
  ]);
  const limits = options.limits;
  limits.maxServerTransactions = int(
    limitsIn['maxServerTransactions'],
    'limits.maxServerTransactions',
    // Above maxOpenTransactions' default: the bridge's own bounds refuse new calls first (a
    // finished call keeps its transactions for 32 s over UDP), this one is the memory backstop.
    50_000,
    1,
    10_000_000,
  );
  limits.maxHeldCalls = int(limitsIn['maxHeldCalls'], 'limits.maxHeldCalls', 2000, 1, 10_000_000);
  limits.maxOpenTransactions = int(
    limitsIn['maxOpenTransactions'],
    'limits.maxOpenTransactions',
    // Most open transactions are finished ones waiting out Timer J/L/M (64*T1 over UDP): about
    // seven per call for half a minute, so this is the held-call bound's size, not its count.
    40_000,
    1,
    10_000_000,
  );
  limits.maxEventLoopLagMs = int(limitsIn['maxEventLoopLagMs'], 'limits.maxEventLoopLagMs', 50, 0, 60_000);
  limits.retryAfterSeconds = int(limitsIn['retryAfterSeconds'], 'limits.retryAfterSeconds', 5, 1, 3600);

  if (root['trunk'] != null) {
    const trunkIn = section('trunk');
    // host, port and transport come from the URI; an already resolved config carries them too.
    known('trunk', trunkIn, ['uri', 'username', 'password', 'sources', 'inbound', 'host', 'port', 'transport']);
    const uri = str(trunkIn['uri'], 'trunk.uri', undefined);
    const target = trunkTarget(uri, fail);
    const trunk: TrunkConfig = { uri, ...target, sources: [{ host: target.host, port: target.port }] };
    if (trunkIn['username'] != null || trunkIn['password'] != null) {
      trunk.username = str(trunkIn['username'], 'trunk.username', undefined);
      trunk.password = str(trunkIn['password'], 'trunk.password', undefined);
    }
    if (trunkIn['sources'] != null) {
      if (!Array.isArray(trunkIn['sources'])) fail('trunk.sources', 'must be a list of "host" or "host:port"');
      else trunk.sources = trunkIn['sources'].map((s, i) => sourceAddress(s, `trunk.sources[${i}]`, fail));
    }
    if (trunkIn['inbound'] != null) {
      const inboundIn = isObject(trunkIn['inbound'])
        ? trunkIn['inbound']
        : (fail('trunk.inbound', 'must be an object'), {});
      known('trunk.inbound', inboundIn, ['username', 'password']);
      trunk.inbound = {
        username: str(inboundIn['username'], 'trunk.inbound.username', undefined, USERNAME),
        password: str(inboundIn['password'], 'trunk.inbound.password', undefined),
      };
    }
    options.trunk = trunk;
  }

  if (root['tls'] != null) {
    const tlsIn = section('tls');
    known('tls', tlsIn, ['port', 'certFile', 'keyFile', 'caFile']);
    const tls: TlsConfig = {
      port: int(tlsIn['port'], 'tls.port', 5061, 0, 65535),
      certFile: str(tlsIn['certFile'], 'tls.certFile', undefined),
      keyFile: str(tlsIn['keyFile'], 'tls.keyFile', undefined),
    };
    if (tlsIn['caFile'] != null) tls.caFile = str(tlsIn['caFile'], 'tls.caFile', undefined);
    options.tls = tls;
  }

  if (root['hms'] != null) {
    const hms = section('hms');
    if (!Array.isArray(hms['credentials']) || hms['credentials'].length === 0)
      fail('hms.credentials', 'must list at least one app credential');
    options.hms = hms;
  }
  return options;
}

function trunkTarget(
  uri: string,
  fail: ConfigReaders['fail'],
): { host: string; port: number; transport: TransportProtocol } {
  if (uri === '') return { host: '', port: 5060, transport: 'udp' };
  try {
    const parsed = parseUri(uri, 'trunk.uri');
    if (parsed.scheme !== 'sip' && parsed.scheme !== 'sips') throw new Error('must be a sip: or sips: URI');
    const named = (parsed.params['transport'] ?? (parsed.scheme === 'sips' ? 'tls' : 'udp'))?.toLowerCase();
    if (named !== 'udp' && named !== 'tcp' && named !== 'tls') throw new Error('transport must be udp, tcp or tls');
    if (parsed.scheme === 'sips' && named !== 'tls') throw new Error('a sips: URI goes over tls');
    const host = parsed.host.replace(/^\[|\]$/g, '');
    return { host, port: parsed.port ?? (named === 'tls' ? 5061 : 5060), transport: named };
  } catch (error) {
    const message = error instanceof SipParseError || error instanceof Error ? error.message : String(error);
    fail('trunk.uri', message.replace(/^trunk\.uri: /, ''));
    return { host: '', port: 5060, transport: 'udp' };
  }
}

function sourceAddress(value: unknown, path: string, fail: ConfigReaders['fail']): SourceAddress {
  // An already resolved config holds the parsed address.
  if (isObject(value) && typeof value['host'] === 'string' && HOST.test(value['host'])) {
    const port = value['port'];
    if (port === undefined) return { host: value['host'] };
    if (typeof port === 'number' && Number.isInteger(port) && port >= 1 && port <= 65535)
      return { host: value['host'], port };
  }
  if (typeof value !== 'string' || !HOST.test(value)) {
    fail(path, 'must be "host" or "host:port"');
    return { host: '' };
  }
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(value);
  const plain = /^([^:]+):(\d+)$/.exec(value);
  const [host, port] = bracketed ? [bracketed[1]!, bracketed[2]] : plain ? [plain[1]!, plain[2]] : [value, undefined];
  if (port === undefined) return { host };
  const n = Number(port);
  if (n < 1 || n > 65535) fail(path, 'port must be from 1 to 65535');
  return { host, port: n };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
