import { parseUri, type SipUri, type TransportProtocol } from '@pushrelay/sip';

/** A SIP URI of the config, parsed: where to send, and over what. */
export interface SipHop {
  /** As written in the config, e.g. `sip:pbx.example.com:5060;transport=tcp`. */
  uri: string;
  host: string;
  port: number;
  transport: TransportProtocol;
}

/**
 * `mode: edge`: the bridge stands between phones and the registrar/PBX where the users live.
 * REGISTERs go upstream with Path, calls come back through the bridge.
 */
export interface EdgeConfig {
  /** The registrar or PBX (its SIP URI, `transport=udp|tcp`). */
  upstream: SipHop;
  /** Every request for upstream goes through this proxy first (a preloaded Route). */
  outboundProxy?: SipHop;
  /**
   * true: the registrar honours Path (RFC 3327) and routes calls for a phone through the Path the
   * bridge added. false: it does not; the bridge rewrites each Contact to an alias of its own
   * (`sip:<ref>@bridge`) and maps requests for the alias back to the phone.
   */
  pathSupport: boolean;
  /** Whether RFC 8599 `pn-*` Contact parameters and X-MPUSH go upstream. Default false: the bridge alone pushes. */
  forwardPushParams: boolean;
  /** An upstream that has not answered within this long gets the phone a 408; nothing stays held. */
  upstreamTimeoutMs: number;
  /**
   * A push phone that has not refreshed its upstream binding this many seconds before it expires
   * gets a re-register push (at most half the binding's lifetime before expiry).
   */
  wakeBeforeExpirySeconds: number;
}

/** The `edge` section as a config file writes it: URIs as strings. */
export type EdgeConfigInput = Partial<Omit<EdgeConfig, 'upstream' | 'outboundProxy'>> & {
  upstream?: string;
  outboundProxy?: string | null;
};

type Fail = (path: string, message: string) => void;

const TRANSPORTS = ['udp', 'tcp'] as const;

/** `sip:host[:port][;transport=udp|tcp]`, host a name or an IP. */
export function parseHop(value: unknown, path: string, fail: Fail): SipHop | undefined {
  // An already resolved config (startBridge given what loadConfig returned) holds the parsed hop.
  if (typeof value === 'object' && value !== null && typeof (value as Partial<SipHop>).uri === 'string')
    value = (value as SipHop).uri;
  if (typeof value !== 'string' || value.trim() === '') {
    fail(path, 'must be a SIP URI such as sip:pbx.example.com:5060;transport=udp');
    return undefined;
  }
  let uri: SipUri;
  try {
    uri = parseUri(value);
  } catch (error) {
    fail(path, `is not a SIP URI: ${(error as Error).message}`);
    return undefined;
  }
  if (uri.scheme !== 'sip') {
    fail(path, `must be a sip: URI, not ${uri.scheme}:`);
    return undefined;
  }
  if (uri.user !== undefined) fail(path, 'names a host, not a user: drop the user part');
  const transport = (uri.params['transport'] ?? 'udp').toLowerCase();
  if (!(TRANSPORTS as readonly string[]).includes(transport)) {
    fail(path, `transport must be one of ${TRANSPORTS.join(', ')}`);
    return undefined;
  }
  return { uri: value, host: uri.host.replace(/^\[|\]$/g, ''), port: uri.port ?? 5060, transport: transport as 'udp' };
}

/** Reads the `edge` section; called only in edge mode, where it is required. */
export function resolveEdgeConfig(input: unknown, fail: Fail): EdgeConfig | undefined {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    fail('edge', 'is required in edge mode: { upstream: "sip:pbx.example.com;transport=udp" }');
    return undefined;
  }
  const edge = input as Record<string, unknown>;
  const known = [
    'upstream',
    'outboundProxy',
    'pathSupport',
    'forwardPushParams',
    'upstreamTimeoutMs',
    'wakeBeforeExpirySeconds',
  ];
  for (const key of Object.keys(edge)) if (!known.includes(key)) fail(`edge.${key}`, 'is not a known option');
  const bool = (name: string, fallback: boolean): boolean => {
    const value = edge[name];
    if (value === undefined || value === null) return fallback;
    if (typeof value !== 'boolean') fail(`edge.${name}`, 'must be true or false');
    return typeof value === 'boolean' ? value : fallback;
  };
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const value = edge[name];
    if (value === undefined || value === null) return fallback;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      fail(`edge.${name}`, `must be an integer from ${min} to ${max}`);
      return fallback;
    }
    return value;
  };
  const upstream = parseHop(edge['upstream'], 'edge.upstream', fail);
  const outboundProxy =
    edge['outboundProxy'] == null ? undefined : parseHop(edge['outboundProxy'], 'edge.outboundProxy', fail);
  const config: EdgeConfig = {
    upstream: upstream ?? { uri: '', host: '', port: 0, transport: 'udp' },
    pathSupport: bool('pathSupport', true),
    forwardPushParams: bool('forwardPushParams', false),
    upstreamTimeoutMs: int('upstreamTimeoutMs', 32_000, 500, 64_000),
    wakeBeforeExpirySeconds: int('wakeBeforeExpirySeconds', 60, 1, 3600),
  };
  if (outboundProxy) config.outboundProxy = outboundProxy;
  return config;
}
