/**
 * HMS transport throughput against the HMS simulator, beside raw undici with the same agent
 * settings and no transport logic (the ceiling). The simulator and each client run in their
 * own process so their CPU and memory do not mix.
 *
 *   npx nx build @pushrelay/bench && node tools/bench/dist/hms.js   (BENCH_TOTAL, BENCH_WARMUP, BENCH_CONCURRENCY to tune)
 */
import { startHmsSimulator, type HmsApp } from '@pushrelay/simulators';
import { HmsTransport } from '@pushrelay/transport-hms';
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
  tokenUrl: string;
  ca: string;
  app: HmsApp;
}

const tokenOf = (i: number) => `IQAAAACy0bench${i}${'t'.repeat(100)}`;

void runSimulatorBench<SimInfo>({
  script: './hms.js',
  title: 'HMS Push Kit v1 against the simulator (HTTP/2, 4 connections x 100 streams)',
  command: 'npx nx build @pushrelay/bench && node tools/bench/dist/hms.js',
  async startSimulator() {
    const sim = await startHmsSimulator();
    const app = sim.registerApp('107000001');
    // The delivery log would grow without bound over a long run.
    setInterval(() => sim.clearDeliveries(), 1000).unref();
    return { info: { baseUrl: sim.baseUrl, tokenUrl: sim.tokenUrl, ca: sim.ca, app }, close: () => sim.close() };
  },
  async runClient(mode, info) {
    if (mode === 'raw') {
      const agent = rawAgent(info.ca);
      const accessToken = await rawAccessToken(agent, info.tokenUrl, {
        grant_type: 'client_credentials',
        client_id: info.app.appId,
        client_secret: info.app.clientSecret,
      });
      return measureRaw(agent, {
        baseUrl: info.baseUrl,
        path: `/v1/${info.app.appId}/messages:send`,
        accessToken,
        body: (i) =>
          JSON.stringify({
            message: {
              data: JSON.stringify(callData),
              android: { category: 'VOIP', urgency: 'HIGH', ttl: '30s' },
              token: [tokenOf(i)],
            },
          }),
        accepted: (_status, text) => (JSON.parse(text) as { code?: string }).code === '80000000',
      });
    }
    const transport = new HmsTransport({
      credentials: [{ appId: info.app.appId, clientSecret: info.app.clientSecret }],
      baseUrl: info.baseUrl,
      tokenUrl: info.tokenUrl,
      ca: info.ca,
      connections: CONNECTIONS,
      maxConcurrentStreams: STREAMS,
    });
    return measureTransport('@pushrelay/transport-hms', transport, (i) => callPush('hms', info.app.appId, tokenOf(i)));
  },
});
