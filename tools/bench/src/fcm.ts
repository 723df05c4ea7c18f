/**
 * FCM transport throughput against the FCM simulator, beside raw undici with the same agent
 * settings and no transport logic (the ceiling). The simulator and each client run in their
 * own process so their CPU and memory do not mix.
 *
 *   npx nx build @pushrelay/bench && node tools/bench/dist/fcm.js   (BENCH_TOTAL, BENCH_WARMUP, BENCH_CONCURRENCY to tune)
 */
import { createSign } from 'node:crypto';
import { startFcmSimulator, type ServiceAccountJson } from '@pushrelay/simulators';
import { FcmTransport } from '@pushrelay/transport-fcm';
import {
  CONNECTIONS,
  STREAMS,
  callData,
  callPush,
  measureRaw,
  measureTransport,
  rawAccessToken,
  rawAgent,
  runSimulatorBench,
} from './provider-bench.js';

interface SimInfo {
  baseUrl: string;
  ca: string;
  sa: ServiceAccountJson;
}

const PROJECT = 'bench-project';
const tokenOf = (i: number) => `bench-device-${i}-${'t'.repeat(120)}`;

function signedAssertion(sa: ServiceAccountJson): string {
  const b64 = (v: string) => Buffer.from(v).toString('base64url');
  const iat = Math.floor(Date.now() / 1000);
  const unsigned = `${b64(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: sa.private_key_id }))}.${b64(
    JSON.stringify({
      iss: sa.client_email,
      scope: 'https://www.googleapis.com/auth/firebase.messaging',
      aud: sa.token_uri,
      iat,
      exp: iat + 3600,
    }),
  )}`;
  const signature = createSign('RSA-SHA256').update(unsigned).sign(sa.private_key).toString('base64url');
  return `${unsigned}.${signature}`;
}

void runSimulatorBench<SimInfo>({
  script: './fcm.js',
  title: 'FCM HTTP v1 against the simulator (HTTP/2, 4 connections x 100 streams)',
  command: 'npx nx build @pushrelay/bench && node tools/bench/dist/fcm.js',
  async startSimulator() {
    const sim = await startFcmSimulator();
    const sa = sim.createServiceAccount(PROJECT);
    // The delivery log would grow without bound over a long run.
    setInterval(() => sim.clearDeliveries(), 1000).unref();
    return { info: { baseUrl: sim.baseUrl, ca: sim.ca, sa }, close: () => sim.close() };
  },
  async runClient(mode, info) {
    if (mode === 'raw') {
      const agent = rawAgent(info.ca);
      const accessToken = await rawAccessToken(agent, info.sa.token_uri, {
        grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
        assertion: signedAssertion(info.sa),
      });
      return measureRaw(agent, {
        baseUrl: info.baseUrl,
        path: `/v1/projects/${PROJECT}/messages:send`,
        accessToken,
        body: (i) =>
          JSON.stringify({ message: { data: callData, android: { ttl: '30s', priority: 'HIGH' }, token: tokenOf(i) } }),
        accepted: (status) => status === 200,
      });
    }
    const transport = new FcmTransport({
      credentials: [{ serviceAccount: info.sa }],
      baseUrl: info.baseUrl,
      ca: info.ca,
      connections: CONNECTIONS,
      maxConcurrentStreams: STREAMS,
    });
    return measureTransport('@pushrelay/transport-fcm', transport, (i) => callPush('fcm', PROJECT, tokenOf(i)));
  },
});
