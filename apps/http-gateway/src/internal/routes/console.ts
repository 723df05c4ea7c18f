import { randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCallNotification } from '@pushrelay/core';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { ConsoleFeed } from '../console/feed.js';
import {
  consoleDeviceSchema,
  consoleDevicesQuery,
  consoleNotificationsQuery,
  consoleNotificationsResponse,
  consoleSessionResponse,
  consoleStatsResponse,
  testPushBody,
  testPushResponse,
} from '../console/schemas.js';
import { HttpError, notFound } from '../http-error.js';
import { errorResponses } from '../schemas.js';
import type { Authenticate } from '../server.js';
import type { GatewayServices } from '../services.js';
import { publicBinding } from './devices.js';

/** Where `vite build` puts the console (apps/http-gateway/dist/console), from src/ and from dist/ alike. */
export const CONSOLE_ASSETS_DIR = fileURLToPath(new URL('../../../dist/console/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.map': 'application/json',
};

// The console talks only to this origin and runs only its own files: no inline script, no CDN.
const CONSOLE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

type Assets = Map<string, { type: string; body: Buffer }>;

/** Reads the built console once; a missing build is a clear 503, not a crash. */
async function loadAssets(dir: string): Promise<Assets | undefined> {
  let names: string[];
  try {
    names = (await readdir(dir, { recursive: true, withFileTypes: true }))
      .filter((e) => e.isFile())
      .map((e) => join(e.parentPath, e.name));
  } catch {
    return undefined;
  }
  const assets: Assets = new Map();
  for (const file of names) {
    const type = TYPES[extname(file)];
    if (!type) continue;
    assets.set(relative(dir, file).split(sep).join('/'), { type, body: await readFile(file) });
  }
  return assets.has('index.html') ? assets : undefined;
}

/** The largest SSE stream count per tenant: a leaked tab cannot pile up listeners without bound. */
const MAX_STREAMS_PER_TENANT = 32;

/**
 * The operator console: its static files under /console and the tenant-scoped JSON and SSE routes
 * under /v1/console it reads. The feed behind them is loaded on first use only.
 */
export const consoleRoutes: FastifyPluginAsync<{
  services: GatewayServices;
  authenticate: Authenticate;
  assetsDir?: string;
}> = async (app, { services, authenticate, assetsDir = CONSOLE_ASSETS_DIR }) => {
  let assets: Promise<Assets | undefined> | undefined;
  let feed: Promise<ConsoleFeed> | undefined;
  const getFeed = () =>
    (feed ??= import('../console/feed.js').then((m) => new m.ConsoleFeed(services.relay, services.clock)));
  const hidden = { schema: { hide: true } };

  const serve = async (path: string, reply: FastifyReply) => {
    const loaded = await (assets ??= loadAssets(assetsDir).then((a) => {
      // A build made after the gateway started is picked up on the next request.
      if (!a) assets = undefined;
      return a;
    }));
    if (!loaded) {
      throw new HttpError(
        503,
        'console_not_built',
        'the console is not built: npm run build:console -w @pushrelay/http-gateway',
      );
    }
    // Unknown paths under /console are the page itself (its views live in the fragment).
    const file = loaded.get(path) ?? (path.includes('.') ? undefined : loaded.get('index.html'));
    if (!file) throw notFound(`console file ${path}`);
    return reply
      .header('content-security-policy', CONSOLE_CSP)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('cache-control', path.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-cache')
      .type(file.type)
      .send(file.body);
  };
  app.get('/console', hidden, async (_request, reply) => reply.redirect('/console/', 308));
  app.get<{ Params: { '*': string } }>('/console/*', hidden, async (request, reply) =>
    serve(request.params['*'] || 'index.html', reply),
  );

  const streams = new Map<string, Set<() => void>>();
  // Open streams would hold the shutdown: they end as soon as the server starts closing.
  app.addHook('preClose', async () => {
    for (const set of streams.values()) for (const end of [...set]) end();
  });

  await app.register(async (api) => {
    api.addHook('onRequest', authenticate);
    const { bindings, relay, clock, config, metrics } = services;

    api.get(
      '/v1/console/session',
      {
        schema: {
          tags: ['console'],
          summary: 'The tenant the API key belongs to (the console signs in with it)',
          response: { 200: consoleSessionResponse, ...errorResponses },
        },
      },
      async (request) => ({ tenant: request.tenant!.id }),
    );

    api.get<{ Querystring: { userId: string } }>(
      '/v1/console/devices',
      {
        schema: {
          tags: ['console'],
          summary: "A user's devices with the last outcome the console saw for each",
          querystring: consoleDevicesQuery,
          response: {
            200: { type: 'object', properties: { devices: { type: 'array', items: consoleDeviceSchema } } },
            ...errorResponses,
          },
        },
      },
      async (request) => {
        const tenant = request.tenant!.id;
        const f = await getFeed();
        const list = await bindings.forUser(tenant, request.query.userId);
        return {
          devices: list.map((b) => ({ device: publicBinding(b), lastOutcome: f.deviceSeen(tenant, b.id) ?? null })),
        };
      },
    );

    api.get<{ Querystring: { userId?: string; callId?: string; outcome?: string; limit?: string } }>(
      '/v1/console/notifications',
      {
        schema: {
          tags: ['console'],
          summary: 'Recent notifications of the tenant seen by this gateway process, newest first, with their reports',
          querystring: consoleNotificationsQuery,
          response: { 200: consoleNotificationsResponse, ...errorResponses },
        },
      },
      async (request) => {
        const tenant = request.tenant!.id;
        const f = await getFeed();
        const limit = Number(request.query.limit ?? 50);
        const out: { callId?: string; report: unknown }[] = [];
        for (const recent of f.recent(tenant)) {
          if (out.length >= limit) break;
          const report = await relay.report(tenant, recent.id);
          if (!report) continue;
          if (!(f.constructor as typeof ConsoleFeed).matches(report, recent.callId, request.query)) continue;
          out.push({ ...(recent.callId ? { callId: recent.callId } : {}), report });
        }
        return { notifications: out };
      },
    );

    api.get(
      '/v1/console/stats',
      {
        schema: {
          tags: ['console'],
          summary: "Outcomes per provider per minute and latency percentiles of the tenant's pushes; the queue depth",
          response: { 200: consoleStatsResponse, ...errorResponses },
        },
      },
      async (request) => {
        const f = await getFeed();
        // The very gauge /metrics exposes, collected the same way.
        const gauge = metrics.registry.getSingleMetric('pushrelay_queue_depth');
        const depth = gauge ? ((await gauge.get()).values[0]?.value ?? null) : null;
        return { ...f.stats(request.tenant!.id), queueDepth: depth };
      },
    );

    api.post<{ Body: { bindingId: string; notification: Record<string, unknown> } }>(
      '/v1/console/test-push',
      {
        schema: {
          tags: ['console'],
          summary: 'Send a CallNotification to one device of the tenant',
          body: testPushBody,
          response: { 202: testPushResponse, ...errorResponses },
        },
      },
      async (request, reply) => {
        const tenant = request.tenant!.id;
        const binding = await bindings.get(tenant, request.body.bindingId);
        if (!binding) throw notFound(`device ${request.body.bindingId}`);
        const given = request.body.notification;
        if (given.recipient !== undefined && given.recipient !== binding.userId) {
          throw new HttpError(400, 'validation_failed', 'the recipient must be the owner of the device', [
            { path: 'notification.recipient', message: `must be ${binding.userId} or absent` },
          ]);
        }
        await getFeed();
        const notification = parseCallNotification(
          { ...given, recipient: binding.userId, bindingIds: [binding.id] },
          { now: clock.now(), tenant, defaultRingTimeoutMs: config.ringTimeoutMs, generateId: randomUUID },
        );
        const result = await relay.notify(notification);
        request.log.info(
          { notificationId: notification.id, bindingId: binding.id, type: notification.type },
          'console test push accepted',
        );
        return reply
          .status(202)
          .send({ id: notification.id, duplicate: result.duplicate, status: result.report.status });
      },
    );

    api.get(
      '/v1/console/events',
      {
        schema: {
          tags: ['console'],
          summary: "Server-Sent Events: the tenant's notifications and outcomes as they happen",
          description:
            'text/event-stream; events `accepted`, `attempt`, `device`, `completed`, `suppressed`, each a JSON object. ' +
            'Send the key in the Authorization header (read the stream with fetch), never in the URL.',
          response: {
            200: {
              description:
                'The stream: `retry: 2000`, then one `event:`/`data:` pair per event, and comments to keep it open',
              content: {
                'text/event-stream': {
                  schema: { type: 'string' },
                  example: 'retry: 2000\n\nevent: accepted\ndata: {"kind":"accepted","notificationId":"call-0001"}\n\n',
                },
              },
            },
            ...errorResponses,
          },
        },
      },
      async (request, reply) => {
        const tenant = request.tenant!.id;
        const f = await getFeed();
        let set = streams.get(tenant);
        if (!set) streams.set(tenant, (set = new Set()));
        if (set.size >= MAX_STREAMS_PER_TENANT) {
          throw new HttpError(429, 'too_many_streams', `at most ${MAX_STREAMS_PER_TENANT} console streams per tenant`);
        }
        reply.hijack();
        const res = reply.raw;
        res.writeHead(200, {
          'content-type': 'text/event-stream; charset=utf-8',
          'cache-control': 'no-store',
          'x-accel-buffering': 'no',
        });
        res.write('retry: 2000\n\n');
        const off = f.subscribe(tenant, (event) =>
          res.write(`event: ${event.kind}\ndata: ${JSON.stringify(event)}\n\n`),
        );
        // Comments keep proxies from closing a quiet stream.
        const ping = setInterval(() => res.write(': ping\n\n'), 15_000);
        ping.unref();
        const streamSet = set;
        const stop = () => {
          off();
          clearInterval(ping);
          streamSet.delete(end);
        };
        const end = () => {
          stop();
          res.end();
        };
        streamSet.add(end);
        request.raw.on('close', stop);
      },
    );
  });
};
