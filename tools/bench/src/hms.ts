/**
 * HMS transport throughput against the HMS simulator, beside raw undici with the same agent
 * settings and no transport logic (the ceiling). The simulator and each client run in their
 * own process so their CPU and memory do not mix.
 *
 *   npx nx build @pushrelay/bench && node tools/bench/dist/hms.js   (BENCH_TOTAL, BENCH_WARMUP, BENCH_CONCURRENCY to tune)
 */
import { Agent } from 'undici';
import type { PushRequest } from '@pushrelay/core';
import { startHmsSimulator, type HmsApp } from '@pushrelay/testkit';
import { HmsTransport } from '@pushrelay/transport-hms';
import { child, configFromEnv, measure, printTable, type RunResult } from './harness.js';

interface SimInfo {
  baseUrl: string;
  tokenUrl: string;
  ca: string;
  app: HmsApp;
}

const CONNECTIONS = 4;
const STREAMS = 100;
const data = { type: 'invite', call_id: 'c-0001', caller: '+15551234567', display_name: 'Bench Caller' };
const tokenOf = (i: number) => `IQAAAACy0bench${i}${'t'.repeat(100)}`;

async function runSimulator(): Promise<void> {
  const sim = await startHmsSimulator();
  const app = sim.registerApp('107000001');
  setInterval(() => sim.clearDeliveries(), 1000).unref();
  process.send!({ baseUrl: sim.baseUrl, tokenUrl: sim.tokenUrl, ca: sim.ca, app } satisfies SimInfo);
  process.on('disconnect', () => void sim.close().then(() => process.exit(0)));
}

async function runClient(mode: string, info: SimInfo): Promise<RunResult> {
  const config = configFromEnv();
  if (mode === 'raw') {
    const agent = new Agent({ allowH2: true, connect: { ca: info.ca }, connections: CONNECTIONS, pipelining: STREAMS, maxConcurrentStreams: STREAMS });
    const tokenUrl = new URL(info.tokenUrl);
    const tokenRes = await agent.request({
      origin: tokenUrl.origin,
      path: tokenUrl.pathname,
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: info.app.appId, client_secret: info.app.clientSecret }).toString(),
    });
    const accessToken = ((await tokenRes.body.json()) as { access_token: string }).access_token;
    const origin = new URL(info.baseUrl).origin;
    const path = `/v1/${info.app.appId}/messages:send`;
    const result = await measure('raw undici', config, async (i) => {
      const res = await agent.request({
        origin,
        path,
        method: 'POST',
        headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json; charset=utf-8' },
        body: JSON.stringify({ message: { data: JSON.stringify(data), android: { category: 'VOIP', urgency: 'HIGH', ttl: '30s' }, token: [tokenOf(i)] } }),
        idempotent: true,
      });
      const body = (await res.body.json()) as { code?: string };
      return body.code === '80000000';
    });
    await agent.close();
    return result;
  }
  const transport = new HmsTransport({
    credentials: [{ appId: info.app.appId, clientSecret: info.app.clientSecret }],
    baseUrl: info.baseUrl,
    tokenUrl: info.tokenUrl,
    ca: info.ca,
    connections: CONNECTIONS,
    maxConcurrentStreams: STREAMS,
  });
  const request = (i: number): PushRequest => ({
    provider: 'hms',
    token: tokenOf(i),
    app: info.app.appId,
    environment: 'production',
    pushType: 'voip',
    priority: 'high',
    expiresAt: Date.now() + 30_000,
    payload: { data },
  });
  const result = await measure('@pushrelay/transport-hms', config, async (i) => (await transport.send(request(i))).kind === 'delivered');
  await transport.close();
  return result;
}

async function main(): Promise<void> {
  const [role, mode] = process.argv.slice(2);
  if (role === 'sim') return runSimulator();
  if (role === 'client') {
    process.once('message', (info) => {
      void runClient(mode!, info as SimInfo).then((r) => {
        process.send!(r);
        process.disconnect();
      });
    });
    process.send!('ready');
    return;
  }
  const sim = child<SimInfo>('./hms.js', ['sim']);
  const info = await sim.first;
  const results: RunResult[] = [];
  // Interleaved rounds, best of each kept: the host's load changes between runs.
  for (const m of ['raw', 'transport', 'raw', 'transport']) {
    const c = child<string>('./hms.js', ['client', m]);
    await c.first;
    const result = new Promise<RunResult>((resolve) => c.process.once('message', (r) => resolve(r as RunResult)));
    c.process.send(info);
    results.push(await result);
  }
  sim.process.disconnect();
  printTable('HMS Push Kit v1 against the simulator (HTTP/2, 4 connections x 100 streams)', results, 'npx nx build @pushrelay/bench && node tools/bench/dist/hms.js');
}

void main();
