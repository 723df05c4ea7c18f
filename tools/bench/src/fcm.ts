/**
 * FCM transport throughput against the FCM simulator, beside raw undici with the same agent
 * settings and no transport logic (the ceiling). The simulator and each client run in their
 * own process so their CPU and memory do not mix.
 *
 *   npx nx build @pushrelay/bench && node tools/bench/dist/fcm.js   (BENCH_TOTAL, BENCH_WARMUP, BENCH_CONCURRENCY to tune)
 */
import { createSign } from 'node:crypto';
import { Agent } from 'undici';
import type { PushRequest } from '@pushrelay/core';
import { startFcmSimulator, type ServiceAccountJson } from '@pushrelay/testkit';
import { FcmTransport } from '@pushrelay/transport-fcm';
import { child, configFromEnv, measure, printTable, type RunResult } from './harness.js';

interface SimInfo {
  baseUrl: string;
  ca: string;
  sa: ServiceAccountJson;
}

const CONNECTIONS = 4;
const STREAMS = 100;
const PROJECT = 'bench-project';
const data = { type: 'invite', call_id: 'c-0001', caller: '+15551234567', display_name: 'Bench Caller' };
const tokenOf = (i: number) => `bench-device-${i}-${'t'.repeat(120)}`;

async function runSimulator(): Promise<void> {
  const sim = await startFcmSimulator();
  const sa = sim.createServiceAccount(PROJECT);
  // The delivery log would grow without bound over a long run.
  setInterval(() => sim.clearDeliveries(), 1000).unref();
  process.send!({ baseUrl: sim.baseUrl, ca: sim.ca, sa } satisfies SimInfo);
  process.on('disconnect', () => void sim.close().then(() => process.exit(0)));
}

async function googleAccessToken(info: SimInfo, agent: Agent): Promise<string> {
  const b64 = (v: string) => Buffer.from(v).toString('base64url');
  const iat = Math.floor(Date.now() / 1000);
  const unsigned = `${b64(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: info.sa.private_key_id }))}.${b64(
    JSON.stringify({ iss: info.sa.client_email, scope: 'https://www.googleapis.com/auth/firebase.messaging', aud: info.sa.token_uri, iat, exp: iat + 3600 }),
  )}`;
  const signature = createSign('RSA-SHA256').update(unsigned).sign(info.sa.private_key).toString('base64url');
  const url = new URL(info.sa.token_uri);
  const res = await agent.request({
    origin: url.origin,
    path: url.pathname,
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: `${unsigned}.${signature}` }).toString(),
  });
  return ((await res.body.json()) as { access_token: string }).access_token;
}

async function runClient(mode: string, info: SimInfo): Promise<RunResult> {
  const config = configFromEnv();
  if (mode === 'raw') {
    const agent = new Agent({ allowH2: true, connect: { ca: info.ca }, connections: CONNECTIONS, pipelining: STREAMS, maxConcurrentStreams: STREAMS });
    const accessToken = await googleAccessToken(info, agent);
    const origin = new URL(info.baseUrl).origin;
    const path = `/v1/projects/${PROJECT}/messages:send`;
    const result = await measure('raw undici', config, async (i) => {
      const res = await agent.request({
        origin,
        path,
        method: 'POST',
        headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json; charset=utf-8' },
        body: JSON.stringify({ message: { data, android: { ttl: '30s', priority: 'HIGH' }, token: tokenOf(i) } }),
        idempotent: true,
      });
      await res.body.text();
      return res.statusCode === 200;
    });
    await agent.close();
    return result;
  }
  const transport = new FcmTransport({ credentials: [{ serviceAccount: info.sa }], baseUrl: info.baseUrl, ca: info.ca, connections: CONNECTIONS, maxConcurrentStreams: STREAMS });
  const request = (i: number): PushRequest => ({
    provider: 'fcm',
    token: tokenOf(i),
    app: PROJECT,
    environment: 'production',
    pushType: 'voip',
    priority: 'high',
    expiresAt: Date.now() + 30_000,
    payload: { data },
  });
  const result = await measure('@pushrelay/transport-fcm', config, async (i) => (await transport.send(request(i))).kind === 'delivered');
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
  const sim = child<SimInfo>('./fcm.js', ['sim']);
  const info = await sim.first;
  const results: RunResult[] = [];
  // Interleaved rounds, best of each kept: the host's load changes between runs.
  for (const m of ['raw', 'transport', 'raw', 'transport']) {
    const c = child<string>('./fcm.js', ['client', m]);
    await c.first;
    const result = new Promise<RunResult>((resolve) => c.process.once('message', (r) => resolve(r as RunResult)));
    c.process.send(info);
    results.push(await result);
  }
  sim.process.disconnect();
  printTable('FCM HTTP v1 against the simulator (HTTP/2, 4 connections x 100 streams)', results, 'npx nx build @pushrelay/bench && node tools/bench/dist/fcm.js');
}

void main();
