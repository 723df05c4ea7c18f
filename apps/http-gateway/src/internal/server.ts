import { randomUUID } from 'node:crypto';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import websocket from '@fastify/websocket';
import { CodecError, OverloadedError, QueueUnavailableError, RateLimitedError, ValidationError } from '@pushrelay/core';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { bearerToken } from './auth.js';
import type { TenantConfig } from './config.js';
import { HttpError, unauthorized } from './http-error.js';
import { lazySchemaCompilers } from './lazy-schemas.js';
import { deviceRoutes } from './routes/devices.js';
import { healthRoutes } from './routes/health.js';
import { ingressRoutes } from './routes/ingress.js';
import { notificationRoutes } from './routes/notifications.js';
import { proxyRoutes } from './routes/proxy.js';
import { connectRoutes } from './routes/connect.js';
import { consoleRoutes } from './routes/console.js';
import { bindingSchema, reportSchema } from './schemas.js';
import type { GatewayServices, LoggerOption } from './services.js';
import { traceRequests } from './tracing.js';

declare module 'fastify' {
  interface FastifyRequest {
    tenant?: TenantConfig;
    rawBody?: Buffer;
  }
}

export interface ServerState {
  draining: boolean;
}

export { REDACT_PATHS } from '@pushrelay/app-kit';

export interface ServerOptions {
  /** A pino logger configuration, or false for none. */
  logger?: LoggerOption;
}

export async function createServer(services: GatewayServices, state: ServerState): Promise<FastifyInstance> {
  const { config, tenants, relay, metrics } = services;

  const app = Fastify({
    loggerInstance: services.log,
    bodyLimit: config.bodyLimitBytes,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && /^[A-Za-z0-9._:-]{1,100}$/.test(given) ? given : randomUUID();
    },
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    schemaController: { compilersFactory: lazySchemaCompilers() },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: true, useDefaults: true } },
  });

  traceRequests(app);

  // Keeps the raw bytes for webhook signatures; parsing stays Fastify's (prototype-poisoning safe).
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser(['application/json', 'application/*+json'], { parseAs: 'buffer' }, (req, body, done) => {
    req.rawBody = body as Buffer;
    if ((body as Buffer).length === 0) return done(null, undefined);
    parseJson(req, (body as Buffer).toString('utf8'), done);
  });

  // Every operation gets a stable operationId (the generated clients' method names) unless it names one.
  app.addHook('onRoute', (route) => {
    if (!route.schema || (route.schema as { hide?: boolean }).hide) return;
    const schema = route.schema as { operationId?: string };
    const method = (Array.isArray(route.method) ? route.method[0] : route.method)!.toLowerCase();
    schema.operationId ??= operationId(method, route.url);
  });
  app.addSchema(bindingSchema);
  app.addSchema(reportSchema);

  await registerDocs(app, config.publicUrl);
  await app.register(websocket, { options: { maxPayload: 64 * 1024 } });

  // While draining, answers close their connection so keep-alive sockets do not hold the shutdown.
  app.addHook('onSend', async (_request, reply) => {
    if (state.draining) reply.header('connection', 'close');
  });

  app.decorateRequest('tenant', undefined);
  app.decorateRequest('rawBody', undefined);

  app.setErrorHandler(errorHandler(metrics));
  app.setNotFoundHandler((request, reply) =>
    reply
      .status(404)
      .send({ error: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0]}`, details: [] }),
  );

  const authenticate = authenticator(tenants);
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  await app.register(healthRoutes, { state, services });
  await app.register(deviceRoutes, { services, authenticate });
  await app.register(notificationRoutes, { services, authenticate });
  await app.register(ingressRoutes, { services });
  await app.register(proxyRoutes, { services });
  await app.register(connectRoutes, { services, authenticate });
  await app.register(consoleRoutes, { services, authenticate });
  logRelayEvents(app, relay);
  return app;
}

export type Authenticate = (request: FastifyRequest) => Promise<void>;

async function registerDocs(app: FastifyInstance, publicUrl: string | undefined): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'pushrelay HTTP gateway',
        version: '0.1.0',
        description:
          'Wakes phones for calls through APNs, FCM, HMS and Web Push. Every error is `{error, message, details: [{path, message}]}`.',
        license: { name: 'Apache-2.0', url: 'https://www.apache.org/licenses/LICENSE-2.0' },
      },
      servers: [publicUrl ? { url: publicUrl } : { url: '/', description: 'this gateway' }],
      components: {
        securitySchemes: {
          apiKey: { type: 'http', scheme: 'bearer', description: "the tenant's API key" },
          wazoToken: {
            type: 'apiKey',
            in: 'header',
            name: 'X-Auth-Token',
            description: "the tenant's API key, as wazo-webhookd's token",
          },
        },
      },
      security: [{ apiKey: [] }],
    },
    refResolver: {
      buildLocalReference: (json, _base, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`),
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
}

/** Every error answers `{error, message, details}`; bad input is a 4xx with the path of each problem. */
/** `Retry-After` in whole seconds, never 0 (a 0 invites an immediate retry storm). */
function retryAfterSeconds(ms: number): string {
  return String(Math.max(1, Math.ceil(ms / 1000)));
}

function errorHandler(metrics: GatewayServices['metrics']): Parameters<FastifyInstance['setErrorHandler']>[0] {
  return (error, request, reply) => {
    const send = (status: number, code: string, message: string, details: unknown[] = []) =>
      reply.status(status).type('application/json').send({ error: code, message, details });
    if (error instanceof HttpError) return send(error.status, error.code, error.message, error.details);
    if (error instanceof ValidationError) return send(400, 'validation_failed', error.message, error.issues);
    if (error instanceof CodecError) {
      metrics.codecRejections.inc({ codec: error.codec, stage: 'decode' });
      request.log.warn({ codec: error.codec, field: error.path ?? '', reason: error.message }, 'codec rejected input');
      return send(400, 'invalid_vendor_input', error.message, [{ path: error.path ?? '', message: error.message }]);
    }
    if (error instanceof RateLimitedError) {
      metrics.rateLimited.inc({ tenant: error.tenant });
      reply.header('retry-after', retryAfterSeconds(error.retryAfterMs));
      return send(429, 'rate_limited', error.message);
    }
    if (error instanceof OverloadedError) {
      // Refused before anything was written; counted, not logged, since a flood would fill the log.
      metrics.overloadRejections.inc({ reason: error.reason });
      reply.header('retry-after', retryAfterSeconds(error.retryAfterMs));
      // A tenant over its own share is that tenant's 429, not an unhealthy gateway's 503.
      if (error.reason === 'tenant-share') return send(429, 'rate_limited', error.message);
      return send(503, 'overloaded', error.message);
    }
    if (error instanceof QueueUnavailableError) {
      // The report may be stored and a job may yet run: only a resend with the same id is safe.
      request.log.warn({ err: error }, 'delivery queue unavailable');
      reply.header('retry-after', '1');
      return send(
        503,
        'queue_unavailable',
        'the delivery queue cannot be reached; send the request again with the same Idempotency-Key (or id)',
      );
    }
    const fe = error as {
      validation?: { instancePath?: string; message?: string; params?: Record<string, unknown> }[];
      validationContext?: string;
      statusCode?: number;
      code?: string;
      message: string;
    };
    if (fe.validation) {
      const details = fe.validation.map((v) => {
        let path = (v.instancePath ?? '')
          .replace(/^\//, '')
          .replace(/\/(\d+)(?=\/|$)/g, '[$1]')
          .replace(/\//g, '.');
        const extra = v.params?.additionalProperty ?? v.params?.missingProperty;
        if (typeof extra === 'string') path = path ? `${path}.${extra}` : extra;
        return {
          path: fe.validationContext === 'body' ? path : `${fe.validationContext}.${path}`.replace(/\.$/, ''),
          message: v.message ?? 'is invalid',
        };
      });
      return send(
        400,
        'validation_failed',
        `invalid ${fe.validationContext ?? 'request'}: ${details.map((d) => `${d.path || '(root)'}: ${d.message}`).join('; ')}`,
        details,
      );
    }
    const status = fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500 ? fe.statusCode : 500;
    if (status < 500) {
      const code =
        fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
          ? 'payload_too_large'
          : fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
            ? 'unsupported_media_type'
            : fe.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || error instanceof SyntaxError
              ? 'malformed_json'
              : 'bad_request';
      return send(status, code, fe.message);
    }
    request.log.error({ err: error }, 'request failed');
    return send(500, 'internal_error', 'the request could not be handled');
  };
}

/** Authenticates `Authorization: Bearer <key>` (or `?access_token=` for WebSockets). */
function authenticator(tenants: GatewayServices['tenants']): Authenticate {
  return async (request: FastifyRequest) => {
    const query = request.query as Record<string, unknown> | undefined;
    const key =
      bearerToken(request.headers.authorization) ??
      (typeof query?.access_token === 'string' && request.ws ? query.access_token : undefined);
    if (!key) throw unauthorized();
    const tenant = tenants.authenticate(key);
    if (!tenant) throw unauthorized('the API key is not valid');
    request.tenant = tenant;
    request.log = request.log.child({ tenant: tenant.id });
  };
}

/** What the relay does that an operator reads in the log. */
function logRelayEvents(app: FastifyInstance, relay: GatewayServices['relay']): void {
  relay.events.on('error', ({ error, job }) =>
    app.log.error(
      { err: error, notificationId: job?.notification.id, tenant: job?.notification.tenant },
      'relay error',
    ),
  );
  relay.events.on('binding-removed', ({ notification, binding, reason }) =>
    app.log.info(
      {
        tenant: binding.tenant,
        notificationId: notification.id,
        callId: notification.call?.id,
        bindingId: binding.id,
        reason,
      },
      'device token invalid: binding removed',
    ),
  );
  relay.events.on('rejected', ({ notification, binding, codec, field, reason }) => {
    if (!codec) return;
    app.log.warn(
      {
        tenant: binding.tenant,
        notificationId: notification.id,
        bindingId: binding.id,
        codec,
        field: field ?? '',
        reason,
      },
      'codec rejected a notification for a device',
    );
  });
  relay.events.on('skipped', ({ notification, bindingId, reason, detail }) => {
    if (reason !== 'no-codec' && reason !== 'no-transport') return;
    app.log.warn(
      { tenant: notification.tenant, notificationId: notification.id, bindingId, reason, detail },
      'device skipped: this gateway is not configured for it',
    );
  });
  relay.events.on('completed', ({ report }) =>
    app.log.info(
      {
        tenant: report.tenant,
        notificationId: report.notificationId,
        status: report.status,
        devices: report.devices.map((d) => `${d.provider}:${d.status}`),
      },
      'notification completed',
    ),
  );
}

/** `post /v1/devices/:id` -> `postV1DevicesById`. */
function operationId(method: string, url: string): string {
  const words = url
    .split('/')
    .filter(Boolean)
    .map((part) => (part.startsWith(':') ? `by-${part.slice(1)}` : part))
    .flatMap((part) => part.split(/[^A-Za-z0-9]+/))
    .filter(Boolean);
  return [method, ...words].map((w, i) => (i === 0 ? w : w[0]!.toUpperCase() + w.slice(1))).join('');
}
