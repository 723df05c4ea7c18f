import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

export interface RedisServerOptions {
  /** The redis-server to run. Default: /usr/bin/redis-server, else the first on PATH. */
  binary?: string;
  /**
   * AOF with an fsync before every reply (`--appendonly yes --appendfsync always`), as BullMQ
   * asks for in production: a write Redis acknowledged survives a SIGKILL. Default true.
   */
  appendonly?: boolean;
  /**
   * More `--name value` arguments, appended last (they override the defaults). Keep `loglevel`
   * at `notice` or `verbose`: readiness is read from the server's log.
   */
  args?: string[];
  /** How long to wait for "Ready to accept connections". Default 30 000 ms. */
  readyTimeoutMs?: number;
}

/**
 * A redis-server of the test's own, on a free 127.0.0.1 port with its data in a temporary
 * directory, that the test may stop and start again (a real restart, which a shared Redis
 * must not undergo).
 */
export interface RedisServer {
  /** `redis://127.0.0.1:<port>/0` */
  readonly url: string;
  readonly port: number;
  /** Its data directory (the AOF lives under `appendonlydir/`). */
  readonly dir: string;
  /** Whether the server process is running. */
  readonly running: boolean;
  /**
   * Stops the server and waits for it to exit. SIGTERM is Redis's clean shutdown (the AOF is
   * fsynced); SIGKILL is a crash.
   */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /** Starts it again on the same port and directory; resolves once it accepts connections. */
  start(): Promise<void>;
  /** Kills the server if it runs and removes its directory. Safe to call more than once. */
  close(): Promise<void>;
}

const DEFAULT_BINARY = '/usr/bin/redis-server';

/** The redis-server binary to use: /usr/bin/redis-server, else the first on PATH; undefined when there is none. */
export function findRedisServer(): string | undefined {
  const candidates = [
    DEFAULT_BINARY,
    ...(process.env['PATH'] ?? '')
      .split(delimiter)
      .filter(Boolean)
      .map((dir) => join(dir, 'redis-server')),
  ];
  return candidates.find((path) => {
    try {
      accessSync(path, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/**
 * Probe for `requireService`: resolves when a redis-server binary exists.
 *
 *   const server = await requireService('a redis-server binary', probeRedisServerBinary);
 */
export async function probeRedisServerBinary(): Promise<string> {
  const binary = findRedisServer();
  if (!binary) throw new Error(`no redis-server at ${DEFAULT_BINARY} or on PATH`);
  return binary;
}

/** Starts a private redis-server on a free 127.0.0.1 port; close() it in afterAll. */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const binary = options.binary ?? (await probeRedisServerBinary());
  const dir = mkdtempSync(join(tmpdir(), 'pushrelay-redis-'));
  const server = new PrivateRedis(binary, dir, options);
  try {
    // Another process may take the free port between the probe and redis-server's bind.
    for (let attempt = 1; ; attempt++) {
      server.port = await freePort();
      try {
        await server.start();
        break;
      } catch (error) {
        if (attempt >= 3 || !/Address already in use/i.test(String(error))) throw error;
      }
    }
  } catch (error) {
    await server.close();
    throw error;
  }
  return server;
}

/** Servers not closed yet: killed and removed when the process exits, so a test that never reached afterAll leaves nothing behind. */
const unclosed = new Set<PrivateRedis>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const server of unclosed) server.killNow();
  });
}

class PrivateRedis implements RedisServer {
  port = 0;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private output = '';
  private closed = false;

  constructor(
    private readonly binary: string,
    readonly dir: string,
    private readonly options: RedisServerOptions,
  ) {
    unclosed.add(this);
    installExitHook();
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}/0`;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  start(): Promise<void> {
    if (this.closed) return Promise.reject(new Error('this redis-server was closed'));
    if (this.child) return Promise.reject(new Error(`redis-server on port ${this.port} is already running`));
    const persistence =
      this.options.appendonly === false ? ['--appendonly', 'no'] : ['--appendonly', 'yes', '--appendfsync', 'always'];
    const args = [
      '--port',
      String(this.port),
      '--bind',
      '127.0.0.1',
      '--dir',
      this.dir,
      '--save',
      '',
      ...persistence,
      '--maxmemory-policy',
      'noeviction',
      '--daemonize',
      'no',
      '--logfile',
      '',
      ...(this.options.args ?? []),
    ];
    this.output = '';
    // Piped, not inherited: its log would interleave with the test output; kept for error messages.
    const child = spawn(this.binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.exited = new Promise((resolve) => {
      const gone = () => {
        if (this.child === child) this.child = undefined;
        resolve();
      };
      child.once('close', gone);
      // A binary that cannot be spawned emits 'error' and may never emit 'close'.
      child.once('error', gone);
    });
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString()).slice(-4000);
    };
    child.stderr!.on('data', keep);
    return new Promise<void>((resolve, reject) => {
      const timeoutMs = this.options.readyTimeoutMs ?? 30_000;
      const fail = (why: string) => {
        clearTimeout(timer);
        reject(
          new Error(
            `redis-server on 127.0.0.1:${this.port} ${why}: ${this.output.trim().split('\n').slice(-5).join(' | ')}`,
          ),
        );
      };
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        fail(`was not ready within ${timeoutMs} ms`);
      }, timeoutMs);
      child.once('error', (error) => fail(`could not start (${error.message})`));
      child.once('exit', (code, signal) => fail(`exited with ${signal ?? code} before it was ready`));
      child.stdout!.on('data', (chunk: Buffer) => {
        keep(chunk);
        if (/Ready to accept connections/.test(this.output)) {
          clearTimeout(timer);
          child.removeAllListeners('exit');
          resolve();
        }
      });
    });
  }

  async stop(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill(signal);
    // A clean shutdown that hangs (it should not) must not hang the test.
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await this.exited;
    clearTimeout(timer);
  }

  async close(): Promise<void> {
    this.closed = true;
    unclosed.delete(this);
    if (this.child) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Synchronous, for the process exit hook. */
  killNow(): void {
    this.child?.kill('SIGKILL');
    try {
      rmSync(this.dir, { recursive: true, force: true });
    } catch {
      // The exit hook must not throw; the directory is under the system's temp dir.
    }
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}
