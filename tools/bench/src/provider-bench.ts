import { Agent } from 'undici';
import type { PushRequest, Transport } from '@pushrelay/core';
import { child, configFromEnv, measure, printTable, type RunResult } from './harness.js';

/** The connection shape every provider bench uses, for the transport and for raw undici alike. */
export const CONNECTIONS = 4;
export const STREAMS = 100;

export const callData = { type: 'invite', call_id: 'c-0001', caller: '+15551234567', display_name: 'Bench Caller' };

/** A VoIP call push with `callData`, expiring 30 s from now. */
export function callPush(provider: PushRequest['provider'], app: string, token: string): PushRequest {
  return {
    provider,
    token,
    app,
    environment: 'production',
    pushType: 'voip',
    priority: 'high',
    expiresAt: Date.now() + 30_000,
    payload: { data: callData },
  };
}

/** A raw undici agent with the transports' HTTP/2 settings, trusting the simulator's CA. */
export function rawAgent(ca: string): Agent {
  return new Agent({
    allowH2: true,
    connect: { ca },
    connections: CONNECTIONS,
    pipelining: STREAMS,
    maxConcurrentStreams: STREAMS,
  });
}

/** POSTs an OAuth grant form and returns the access token answered. */
export async function rawAccessToken(agent: Agent, tokenUrl: string, form: Record<string, string>): Promise<string> {
  const url = new URL(tokenUrl);
  const res = await agent.request({
    origin: url.origin,
    path: url.pathname,
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
  });
  return ((await res.body.json()) as { access_token: string }).access_token;
}

export interface RawSends {
  baseUrl: string;
  path: string;
  accessToken: string;
  body: (index: number) => string;
  /** Whether the provider accepted the push, from its answer. */
  accepted: (status: number, text: string) => boolean;
}

/** The ceiling: bearer JSON POSTs on `agent` with no transport logic. Closes the agent. */
export async function measureRaw(agent: Agent, sends: RawSends): Promise<RunResult> {
  const origin = new URL(sends.baseUrl).origin;
  const result = await measure('raw undici', configFromEnv(), async (i) => {
    const res = await agent.request({
      origin,
      path: sends.path,
      method: 'POST',
      headers: { authorization: `Bearer ${sends.accessToken}`, 'content-type': 'application/json; charset=utf-8' },
      body: sends.body(i),
      idempotent: true,
    });
    return sends.accepted(res.statusCode, await res.body.text());
  });
  await agent.close();
  return result;
}

/** Sends `request(i)` through `transport`, counting anything but `delivered` as a failure. Closes it. */
export async function measureTransport(
  mode: string,
  transport: Transport,
  request: (index: number) => PushRequest,
): Promise<RunResult> {
  const result = await measure(
    mode,
    configFromEnv(),
    async (i) => (await transport.send(request(i))).kind === 'delivered',
  );
  await transport.close();
  return result;
}

export interface SimulatorBench<Info extends object> {
  /** This bench's compiled file, relative to the harness (e.g. `./fcm.js`); it is forked per role. */
  script: string;
  title: string;
  /** How to run the bench, printed under the table. */
  command: string;
  /** Starts the simulator in its own process; `info` is what clients need to reach it. */
  startSimulator(): Promise<{ info: Info; close(): Promise<void> }>;
  runClient(mode: 'raw' | 'transport', info: Info): Promise<RunResult>;
}

/**
 * Runs a transport-versus-raw-undici bench against a provider simulator. The simulator and each
 * client run in their own process so their CPU and memory do not mix; this same script plays
 * every role, picked by its arguments.
 */
export async function runSimulatorBench<Info extends object>(bench: SimulatorBench<Info>): Promise<void> {
  const [role, mode] = process.argv.slice(2);
  if (role === 'sim') {
    const sim = await bench.startSimulator();
    process.send!(sim.info);
    process.on('disconnect', () => void sim.close().then(() => process.exit(0)));
    return;
  }
  if (role === 'client') {
    process.once('message', (info) => {
      void bench.runClient(mode as 'raw' | 'transport', info as Info).then((r) => {
        process.send!(r);
        process.disconnect();
      });
    });
    process.send!('ready');
    return;
  }
  const sim = child<Info>(bench.script, ['sim']);
  const info = await sim.first;
  const results: RunResult[] = [];
  // Interleaved rounds, best of each kept: the host's load changes between runs.
  for (const m of ['raw', 'transport', 'raw', 'transport']) {
    const c = child<string>(bench.script, ['client', m]);
    await c.first;
    const result = new Promise<RunResult>((resolve) => c.process.once('message', (r) => resolve(r as RunResult)));
    c.process.send(info);
    results.push(await result);
  }
  sim.process.disconnect();
  printTable(bench.title, results, bench.command);
}
