import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';

export const KAMAILIO_BINARY = '/usr/sbin/kamailio';
export const KAMAILIO_MODULES = '/usr/lib/x86_64-linux-gnu/kamailio/modules';
const NEEDED_MODULES = [
  'jsonrpcs',
  'kex',
  'corex',
  'tm',
  'tmx',
  'sl',
  'rr',
  'pv',
  'maxfwd',
  'usrloc',
  'registrar',
  'textops',
  'siputils',
  'xlog',
  'sanity',
  'htable',
  'auth',
  'path',
];

/** Resolves when the Debian kamailio binary and every module the test config loads are installed. */
export async function probeKamailio(): Promise<void> {
  if (!existsSync(KAMAILIO_BINARY)) throw new Error(`no kamailio at ${KAMAILIO_BINARY}`);
  const version = spawnSync(KAMAILIO_BINARY, ['-v'], { encoding: 'utf8', timeout: 5000 });
  if (version.error) throw new Error(`kamailio not runnable: ${version.error.message}`);
  if (!/kamailio \d/.test(`${version.stdout}${version.stderr}`)) throw new Error('kamailio -v did not identify itself');
  const missing = NEEDED_MODULES.filter((m) => !existsSync(join(KAMAILIO_MODULES, `${m}.so`)));
  if (missing.length) throw new Error(`kamailio modules missing in ${KAMAILIO_MODULES}: ${missing.join(', ')}`);
}

export interface KamailioUser {
  username: string;
  password: string;
}

export interface KamailioOptions {
  /** Subscribers with digest passwords. Default alice, bob, carol, dave, erin and frank with `<name>-secret`. */
  users?: KamailioUser[];
  /** SIP domain and digest realm of the users; Kamailio also answers to it as an alias. */
  domain?: string;
  /** Registration intervals in seconds (`Expires` is clamped to min..max). */
  expires?: { default?: number; min?: number; max?: number };
  /**
   * How the registrar treats Path (RFC 3327): `strict` stores it and refuses a REGISTER carrying
   * Path without `Supported: path` (420); `lazy` stores it regardless; `ignored` behaves like a
   * registrar without Path support (the binding is stored without it).
   */
  path?: 'strict' | 'lazy' | 'ignored';
  /** Challenge out-of-dialog requests other than REGISTER (INVITE, MESSAGE...) with 407. Default true. */
  authenticateRequests?: boolean;
  /** Sources (127.0.0.1 ports) whose out-of-dialog requests are not challenged: a trusted trunk peer. */
  trustedPorts?: number[];
  /** Where requests for a user without a binding go (a trunk peer), e.g. `sip:127.0.0.1:5099`; 404 otherwise. */
  forwardUnknownTo?: string;
  /**
   * Worker processes per transport. Default 2. Workers relay in parallel, so a 180 sent just
   * before its 200 may leave after it (and a proxy then drops it); 1 keeps them in order.
   */
  children?: number;
}

/** One binding of Kamailio's location table (usrloc), as `ul.dump` reports it. */
export interface KamailioBinding {
  aor: string;
  contact: string;
  /** Seconds left. */
  expires: number;
  path?: string;
  received?: string;
  callId: string;
  cseq: number;
  instance?: string;
  userAgent?: string;
}

export const DEFAULT_KAMAILIO_USERS: KamailioUser[] = [
  { username: 'alice', password: 'alice-secret' },
  { username: 'bob', password: 'bob-secret' },
  { username: 'carol', password: 'carol-secret' },
  { username: 'dave', password: 'dave-secret' },
  { username: 'erin', password: 'erin-secret' },
  { username: 'frank', password: 'frank-secret' },
];

/**
 * A private Kamailio (the Debian 5.6 package) on 127.0.0.1 ports of its own: a registrar with digest
 * users, Path (RFC 3327) and routing between its users, its location table readable over JSON-RPC.
 * For tests and benchmarks of SIP elements that stand in front of a registrar.
 */
export class Kamailio {
  readonly address = '127.0.0.1';
  readonly domain: string;
  readonly users: KamailioUser[];
  private output = '';
  private exited: Promise<number | null>;

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    private readonly rpcPort: number,
    readonly dir: string,
    domain: string,
    users: KamailioUser[],
  ) {
    this.domain = domain;
    this.users = users;
    child.stdout?.on('data', (d: Buffer) => this.keep(d));
    child.stderr?.on('data', (d: Buffer) => this.keep(d));
    this.exited = new Promise((resolve) => {
      child.once('exit', (code) => resolve(code));
      child.once('error', () => resolve(null));
    });
  }

  /** Writes the config, starts kamailio in the foreground and waits until it answers RPC and SIP. */
  static async start(options: KamailioOptions = {}): Promise<Kamailio> {
    await probeKamailio();
    for (let attempt = 1; ; attempt++) {
      const dir = mkdtempSync(join(tmpdir(), 'pushrelay-kamailio-'));
      const port = await freePort();
      let rpcPort = await freePort();
      while (rpcPort === port) rpcPort = await freePort();
      const domain = options.domain ?? 'kamailio.test';
      const users = options.users ?? DEFAULT_KAMAILIO_USERS;
      const cfg = join(dir, 'kamailio.cfg');
      writeFileSync(cfg, kamailioConfig({ ...options, domain, users, port, rpcPort, dir }));
      const child = spawn(KAMAILIO_BINARY, ['-f', cfg, '-DD', '-E', '-m', '64', '-M', '8'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const kamailio = new Kamailio(child, port, rpcPort, dir, domain, users);
      try {
        await kamailio.waitUntilReady(10_000);
        return kamailio;
      } catch (error) {
        const log = kamailio.log;
        await kamailio.stop();
        // Another process may take a probed port before kamailio binds it.
        if (attempt < 3 && /Address already in use|bind/i.test(log)) continue;
        throw new Error(`${error instanceof Error ? error.message : String(error)}\n${log.slice(-4000)}`);
      }
    }
  }

  /** What kamailio printed (its last 256 KiB), for failure messages. */
  get log(): string {
    return this.output;
  }

  /** Where to send to it (the shape of @pushrelay/sip's Endpoint). */
  endpoint(transport: 'udp' | 'tcp' = 'udp'): { transport: 'udp' | 'tcp'; address: string; port: number } {
    return { transport, address: this.address, port: this.port };
  }

  /** `sip:127.0.0.1:PORT;transport=...`: the upstream a bridge is configured with. */
  uri(transport: 'udp' | 'tcp' = 'udp'): string {
    return `sip:${this.address}:${this.port};transport=${transport}`;
  }

  password(username: string): string {
    const user = this.users.find((u) => u.username === username);
    if (!user) throw new Error(`no Kamailio user ${username}`);
    return user.password;
  }

  /** One JSON-RPC call over the jsonrpcs UDP socket. */
  rpc(method: string, params: unknown[] = [], timeoutMs = 2000): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const socket = createSocket('udp4');
      const id = Math.floor(Math.random() * 1e9);
      const timer = setTimeout(() => {
        socket.close();
        reject(new Error(`kamailio RPC ${method} unanswered within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.on('message', (data) => {
        clearTimeout(timer);
        socket.close();
        try {
          const reply = JSON.parse(data.toString('utf8')) as { result?: unknown; error?: { message?: string } };
          if (reply.error) reject(new Error(`kamailio RPC ${method}: ${reply.error.message ?? 'error'}`));
          else resolve(reply.result);
        } catch (error) {
          reject(error as Error);
        }
      });
      socket.on('error', (error) => {
        clearTimeout(timer);
        socket.close();
        reject(error);
      });
      socket.send(JSON.stringify({ jsonrpc: '2.0', method, params, id }), this.rpcPort, this.address);
    });
  }

  /** Every live binding of the location table, optionally of one user. */
  async location(user?: string): Promise<KamailioBinding[]> {
    const result = (await this.rpc('ul.dump')) as UlDump;
    const bindings: KamailioBinding[] = [];
    for (const { Domain } of result.Domains ?? []) {
      for (const { Info } of Domain.AoRs ?? []) {
        if (user !== undefined && Info.AoR.split('@')[0] !== user) continue;
        for (const { Contact: c } of Info.Contacts ?? []) {
          const binding: KamailioBinding = {
            aor: Info.AoR,
            contact: c.Address,
            expires: typeof c.Expires === 'number' ? c.Expires : Number.parseInt(String(c.Expires), 10),
            callId: c['Call-ID'],
            cseq: c.CSeq,
          };
          if (present(c.Path)) binding.path = c.Path;
          if (present(c.Received)) binding.received = c.Received;
          if (present(c.Instance)) binding.instance = c.Instance;
          if (present(c['User-Agent'])) binding.userAgent = c['User-Agent'];
          if (!(binding.expires <= 0)) bindings.push(binding);
        }
      }
    }
    return bindings;
  }

  /** Stops kamailio (SIGTERM, SIGKILL after 5 s) and removes its directory. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
      await this.exited;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  private keep(data: Buffer): void {
    this.output += data.toString('utf8');
    if (this.output.length > 256 * 1024) this.output = this.output.slice(-128 * 1024);
  }

  private async waitUntilReady(timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    let lastError: unknown;
    while (Date.now() < until) {
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(`kamailio exited during start (${this.child.exitCode ?? this.child.signalCode})`);
      }
      try {
        await this.rpc('core.version', [], 300);
        await this.options(300);
        return;
      } catch (error) {
        lastError = error;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    throw new Error(`kamailio not ready within ${timeoutMs} ms: ${String(lastError)}`);
  }

  /** An OPTIONS ping over UDP, answered 200 by the config's keepalive branch. */
  private options(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = createSocket('udp4');
      const timer = setTimeout(() => {
        socket.close();
        reject(new Error('OPTIONS unanswered'));
      }, timeoutMs);
      socket.on('message', (data) => {
        if (!data.toString('latin1').startsWith('SIP/2.0 200')) return;
        clearTimeout(timer);
        socket.close();
        resolve();
      });
      socket.bind(0, '127.0.0.1', () => {
        const local = socket.address().port;
        const branch = `z9hG4bK${Math.random().toString(36).slice(2)}`;
        const ping =
          `OPTIONS sip:${this.address}:${this.port} SIP/2.0\r\n` +
          `Via: SIP/2.0/UDP 127.0.0.1:${local};branch=${branch};rport\r\n` +
          `Max-Forwards: 70\r\nFrom: <sip:probe@127.0.0.1>;tag=p\r\nTo: <sip:${this.address}:${this.port}>\r\n` +
          `Call-ID: ${branch}@127.0.0.1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`;
        socket.send(ping, this.port, this.address);
      });
    });
  }
}

interface UlDump {
  Domains?: Array<{
    Domain: {
      AoRs?: Array<{
        Info: {
          AoR: string;
          Contacts?: Array<{
            Contact: {
              Address: string;
              Expires: number | string;
              'Call-ID': string;
              CSeq: number;
              Path?: string;
              Received?: string;
              Instance?: string;
              'User-Agent'?: string;
            };
          }>;
        };
      }>;
    };
  }>;
}

function present(value: string | undefined): value is string {
  return value !== undefined && value !== '' && value !== '[not set]';
}

function cfgString(text: string): string {
  if (/["\\\r\n]/.test(text)) throw new Error(`not usable in kamailio.cfg: ${text}`);
  return `"${text}"`;
}

export interface KamailioConfigInput extends KamailioOptions {
  domain: string;
  users: KamailioUser[];
  port: number;
  rpcPort: number;
  dir: string;
}

/** The kamailio.cfg of one instance. */
export function kamailioConfig(input: KamailioConfigInput): string {
  const expires = { default: 3600, min: 1, max: 3600, ...input.expires };
  const path = input.path ?? 'strict';
  const users = input.users.map((u) => `  $sht(users=>${u.username}) = ${cfgString(u.password)};`).join('\n');
  const trusted = (input.trustedPorts ?? []).map((p) => `($si == "127.0.0.1" && $sp == ${p})`);
  const authenticate = input.authenticateRequests ?? true;
  const unknown = input.forwardUnknownTo
    ? `    $du = ${cfgString(input.forwardUnknownTo)};\n    route(RELAY);`
    : '    send_reply("404", "Not Found");\n    exit;';
  return `#!KAMAILIO
# Written by @pushrelay/simulators: a registrar with digest users, Path and routing between them.
debug=2
log_stderror=yes
log_prefix="{$mt $hdr(CSeq) $ci} "
children=${input.children ?? 2}
tcp_children=${input.children ?? 2}
auto_aliases=no
listen=udp:127.0.0.1:${input.port}
listen=tcp:127.0.0.1:${input.port}
alias=${cfgString(input.domain)}
rundir=${cfgString(input.dir)}
mpath=${cfgString(`${KAMAILIO_MODULES}/`)}
tcp_connection_lifetime=3605

loadmodule "jsonrpcs.so"
loadmodule "kex.so"
loadmodule "corex.so"
loadmodule "tm.so"
loadmodule "tmx.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "xlog.so"
loadmodule "sanity.so"
loadmodule "htable.so"
loadmodule "auth.so"
loadmodule "path.so"

modparam("jsonrpcs", "transport", 4)
modparam("jsonrpcs", "dgram_socket", ${cfgString(`udp:127.0.0.1:${input.rpcPort}`)})
modparam("jsonrpcs", "pretty_format", 0)
modparam("usrloc", "db_mode", 0)
modparam("usrloc", "timer_interval", 1)
modparam("registrar", "use_path", ${path === 'ignored' ? 0 : 1})
modparam("registrar", "path_mode", ${path === 'strict' ? 2 : 0})
modparam("registrar", "default_expires", ${expires.default})
modparam("registrar", "min_expires", ${expires.min})
modparam("registrar", "max_expires", ${expires.max})
modparam("htable", "htable", "users=>size=4;")
modparam("auth", "secret", "pushrelay-kamailio-test")
modparam("rr", "enable_full_lr", 1)
modparam("rr", "append_fromtag", 1)

event_route[htable:mod-init] {
${users}
}

request_route {
  if (!mf_process_maxfwd_header("10")) {
    sl_send_reply("483", "Too Many Hops");
    exit;
  }
  if (!sanity_check("17895", "7")) {
    exit;
  }
  if (has_totag()) {
    if (loose_route()) {
      route(RELAY);
    }
    if (is_method("ACK")) {
      if (t_check_trans()) {
        route(RELAY);
      }
      exit;
    }
    sl_send_reply("404", "Not here");
    exit;
  }
  if (is_method("CANCEL")) {
    if (t_check_trans()) {
      route(RELAY);
    }
    exit;
  }
  if (!is_method("ACK")) {
    if (t_precheck_trans()) {
      t_check_trans();
      exit;
    }
    t_check_trans();
  }
  remove_hf("Route");
  if (is_method("INVITE|SUBSCRIBE")) {
    record_route();
  }
  if (is_method("REGISTER")) {
    if (!pv_www_authenticate("$td", "$sht(users=>$au)", "0")) {
      # -2: wrong password, -3: unknown user; refused outright rather than challenged again.
      if ($rc == -2 || $rc == -3) {
        sl_send_reply("403", "Forbidden");
        exit;
      }
      www_challenge("$td", "1");
      exit;
    }
    if ($au != $tU) {
      sl_send_reply("403", "Forbidden auth ID");
      exit;
    }
    consume_credentials();
    if (!save("location")) {
      sl_reply_error();
    }
    exit;
  }
  if (is_method("OPTIONS") && $rU == $null) {
    sl_send_reply("200", "Keepalive");
    exit;
  }
  if (${authenticate ? (trusted.length ? `!(${trusted.join(' || ')})` : '1 == 1') : '0 == 1'}) {
    if (!pv_proxy_authenticate("$fd", "$sht(users=>$au)", "0")) {
      if ($rc == -2 || $rc == -3) {
        sl_send_reply("403", "Forbidden");
        exit;
      }
      proxy_challenge("$fd", "1");
      exit;
    }
    if ($au != $fU) {
      sl_send_reply("403", "Forbidden auth ID");
      exit;
    }
    consume_credentials();
  }
  if ($rU == $null) {
    sl_send_reply("484", "Address Incomplete");
    exit;
  }
  if (!lookup("location")) {
${unknown}
  }
  route(RELAY);
}

route[RELAY] {
  if (!t_relay()) {
    sl_reply_error();
  }
  exit;
}
`;
}

/** A port free for UDP and TCP on 127.0.0.1 right now (kamailio listens on both). */
async function freePort(): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const port = await new Promise<number>((resolve, reject) => {
      const socket = createSocket('udp4');
      socket.once('error', reject);
      socket.bind(0, '127.0.0.1', () => {
        const p = socket.address().port;
        socket.close(() => resolve(p));
      });
    });
    const tcpFree = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (tcpFree) return port;
  }
  throw new Error('no free port found');
}

/** Starts a private Kamailio; `stop()` it afterwards. */
export function startKamailio(options: KamailioOptions = {}): Promise<Kamailio> {
  return Kamailio.start(options);
}
