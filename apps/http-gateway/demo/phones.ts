import { get } from '@pushrelay/app-kit';
import type { DeviceBinding } from '@pushrelay/core';
// eslint-disable-next-line @nx/enforce-module-boundaries
import { TOKENS, type Gateway } from '@pushrelay/http-gateway';
import type {} from '@fastify/swagger';
import type { FastifyPluginAsync } from 'fastify';
import type { SimulatedProviders } from './demo.js';

/** How often an open feed looks at the simulators' delivery logs. */
const POLL_MS = 200;

/**
 * The demo's phones for the console: `GET /__demo/info` says the console runs on simulators, and
 * `GET /__demo/deliveries` (Server-Sent Events, the tenant's API key in the Authorization header)
 * streams each push the APNs, FCM and HMS simulators accepted for one of that tenant's devices,
 * with the device, so the console rings its card. Only in the demo: the gateway has no simulators.
 */
export function demoPhoneRoutes(
  gateway: Gateway,
  sims: SimulatedProviders,
  apps: { ios: string; fcmProject: string; hmsApp: string },
): FastifyPluginAsync {
  const tenants = get(gateway.container, TOKENS.tenants);
  const bindings = get(gateway.container, TOKENS.bindings);
  const simulators = [sims.apns, sims.fcm, sims.hms];
  const open = new Set<() => void>();
  return async (app) => {
    app.addHook('preClose', async () => {
      for (const end of [...open]) end();
    });
    app.get('/__demo/info', { schema: { hide: true } }, async () => ({ apps }));
    app.get('/__demo/deliveries', { schema: { hide: true } }, async (request, reply) => {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
      const tenant = m ? tenants.authenticate(m[1]!) : undefined;
      if (!tenant) {
        return reply.status(401).send({ error: 'unauthorized', message: 'the API key is not valid', details: [] });
      }
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store' });
      res.write('retry: 2000\n\n');
      // Only what arrives from now on: the console rings for new pushes.
      const cursors = simulators.map((s) => s.deliveries().length);
      let busy = false;
      const timer = setInterval(() => {
        if (busy) return;
        busy = true;
        void (async () => {
          for (const [i, sim] of simulators.entries()) {
            const all = sim.deliveries();
            if (all.length < cursors[i]!) cursors[i] = 0;
            for (const delivery of all.slice(cursors[i])) {
              const provider = delivery.provider as DeviceBinding['provider'];
              // Another tenant's device, or none: never shown.
              const binding = await bindings.findByToken(tenant.id, provider, delivery.token);
              if (!binding) continue;
              const event = {
                device: publicDevice(binding),
                provider,
                environment: delivery.environment,
                id: delivery.id,
                receivedAt: delivery.receivedAt,
                headers: delivery.headers,
                payload: delivery.payload,
              };
              res.write(`event: delivery\ndata: ${JSON.stringify(event)}\n\n`);
            }
            cursors[i] = all.length;
          }
        })()
          .catch((error: unknown) => request.log.warn({ err: error }, 'demo delivery feed failed'))
          .finally(() => {
            busy = false;
          });
      }, POLL_MS);
      const stop = () => {
        clearInterval(timer);
        open.delete(end);
      };
      const end = () => {
        stop();
        res.end();
      };
      open.add(end);
      request.raw.on('close', stop);
    });
  };
}

/** The device as the gateway's API shows it to its tenant: the push key, not the other secrets. */
function publicDevice(binding: DeviceBinding): Record<string, unknown> {
  const { secrets, ...rest } = binding;
  return secrets?.pushKey ? { ...rest, pushKey: secrets.pushKey } : rest;
}
