import { spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import type { DeliveryOutcome, Provider, PushRequest, Transport } from '@pushrelay/core';

/** A core Transport that keeps what it was asked to send and lets a test wait for the next one. */
export class RecordingTransport implements Transport {
  readonly sent: PushRequest[] = [];
  private waiters: Array<{ match: (r: PushRequest) => boolean; resolve: (r: PushRequest) => void }> = [];

  constructor(readonly provider: Provider) {}

  async send(request: PushRequest): Promise<DeliveryOutcome> {
    this.sent.push(request);
    for (const waiter of [...this.waiters]) {
      if (waiter.match(request)) {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        waiter.resolve(request);
      }
    }
    return { kind: 'delivered', providerId: `sim-${this.sent.length}` };
  }

  /** Resolves with the first request (already sent or still to come) that matches; rejects after timeoutMs. */
  waitFor(match: (r: PushRequest) => boolean, timeoutMs: number): Promise<PushRequest> {
    const already = this.sent.find(match);
    if (already) return Promise.resolve(already);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(new Error(`no matching ${this.provider} push within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = (r: PushRequest): void => {
        clearTimeout(timer);
        resolve(r);
      };
      this.waiters.push({ match, resolve: done });
    });
  }

  async close(): Promise<void> {}
}

/** Whether sipp can run here, and why not. */
export function sippAvailability(): { available: boolean; reason: string } {
  const result = spawnSync('sipp', ['-v'], { encoding: 'utf8', timeout: 5000 });
  if (result.error) return { available: false, reason: `sipp not runnable: ${result.error.message}` };
  return { available: /SIPp v/.test(`${result.stdout}${result.stderr}`), reason: 'sipp -v did not identify itself' };
}

/** A port that is free for UDP and TCP on 127.0.0.1 right now (sipp needs a fixed -p). */
export async function freePort(): Promise<number> {
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

export interface SippRun {
  exit: Promise<{ code: number | null; output: string }>;
  kill(): void;
}

/** Runs sipp with a bound on its life: killed (exit code null) after timeoutMs. */
export function runSipp(args: string[], timeoutMs: number): SippRun {
  const child = spawn('sipp', [...args, '-nostdin', '-nd', '-i', '127.0.0.1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const exit = new Promise<{ code: number | null; output: string }>((resolve) => {
    child.on('error', (error) => {
      clearTimeout(timer);
      resolve({ code: null, output: `${output}\n${error.message}` });
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
  return { exit, kill: () => child.kill('SIGKILL') };
}
