/**
 * Web Push transport throughput and CPU per push against the Web Push simulator, beside raw
 * undici POSTing a prebuilt encrypted body with a prebuilt VAPID header (the ceiling: no
 * per-push encryption, no transport logic). The simulator and each client run in their own
 * process, so the CPU per push is the client's alone.
 *
 *   npx nx build @pushrelay/bench && node tools/bench/dist/webpush.js   (BENCH_TOTAL, BENCH_WARMUP, BENCH_CONCURRENCY to tune)
 */
import webPush from 'web-push';
import { startWebPushSimulator } from '@pushrelay/simulators';
import { createWebPushTransport, generateVapidKeys } from '@pushrelay/transport-webpush';
import type { PushRequest } from '@pushrelay/core';
import { configFromEnv, measure } from './harness.js';
import { CONNECTIONS, STREAMS, callData, rawAgent, runSimulatorBench } from './provider-bench.js';

interface SimInfo {
  ca: string;
  vapid: { publicKey: string; privateKey: string };
  subscriptions: Array<{ token: string; endpoint: string; p256dh: string; auth: string }>;
}

/** Subscriptions the pushes go round-robin over. */
const SUBSCRIPTIONS = 64;
const APP = 'bench.example';
const SUBJECT = 'mailto:bench@example.com';
/** What a web device gets for a call: core's generic call payload, about 300 bytes of JSON. */
const payload = {
  type: 'incoming_call',
  id: 'n-0001',
  call: { id: callData.call_id, from: { number: callData.caller, name: callData.display_name }, video: false },
  deadline: '2026-12-04T12:00:30.000Z',
};

void runSimulatorBench<SimInfo>({
  script: './webpush.js',
  title: 'Web Push (aes128gcm + VAPID) against the simulator (HTTP/2, 4 connections x 100 streams)',
  command: 'npx nx build @pushrelay/bench && node tools/bench/dist/webpush.js',
  async startSimulator() {
    const sim = await startWebPushSimulator();
    const vapid = generateVapidKeys();
    const subscriptions = Array.from({ length: SUBSCRIPTIONS }, () => {
      const s = sim.subscribe({ applicationServerKey: vapid.publicKey });
      return { token: s.token, endpoint: s.subscription.endpoint, ...s.subscription.keys };
    });
    // The received log would grow without bound over a long run.
    setInterval(() => sim.clearDeliveries(), 1000).unref();
    return { info: { ca: sim.ca, vapid, subscriptions }, close: () => sim.close() };
  },
  async runClient(mode, info) {
    const n = info.subscriptions.length;
    if (mode === 'raw') {
      const agent = rawAgent(info.ca);
      const origin = new URL(info.subscriptions[0]!.endpoint).origin;
      const { Authorization } = webPush.getVapidHeaders(
        origin,
        SUBJECT,
        info.vapid.publicKey,
        info.vapid.privateKey,
        'aes128gcm',
        Math.floor(Date.now() / 1000) + 12 * 3600,
      );
      // One body per subscription, encrypted once before the run: raw undici pays no crypto.
      const prebuilt = info.subscriptions.map((s) => ({
        path: new URL(s.endpoint).pathname,
        body: webPush.encrypt(s.p256dh, s.auth, JSON.stringify(payload), 'aes128gcm').cipherText,
      }));
      const result = await measure('raw undici', configFromEnv(), async (i) => {
        const { path, body } = prebuilt[i % n]!;
        const res = await agent.request({
          origin,
          path,
          method: 'POST',
          headers: {
            authorization: Authorization,
            ttl: '30',
            urgency: 'high',
            'content-encoding': 'aes128gcm',
            'content-type': 'application/octet-stream',
          },
          body,
        });
        await res.body.dump();
        return res.statusCode === 201;
      });
      await agent.close();
      return result;
    }
    const transport = createWebPushTransport({
      vapid: [{ app: APP, subject: SUBJECT, ...info.vapid }],
      ca: info.ca,
      allowInsecureEndpoints: true, // the simulator listens on 127.0.0.1
      connections: CONNECTIONS,
      maxConcurrentStreams: STREAMS,
    });
    const request = (i: number): PushRequest => ({
      provider: 'webpush',
      token: info.subscriptions[i % n]!.token,
      app: APP,
      environment: 'production',
      pushType: 'alert',
      priority: 'high',
      expiresAt: Date.now() + 30_000,
      payload,
    });
    const result = await measure(
      '@pushrelay/transport-webpush',
      configFromEnv(),
      async (i) => (await transport.send(request(i))).kind === 'delivered',
    );
    await transport.close();
    return result;
  },
});
