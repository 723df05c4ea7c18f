import { randomUUID } from 'node:crypto';
import { parseCallNotification } from '@pushrelay/core';
import type { FastifyPluginAsync } from 'fastify';
import { HttpError, notFound } from '../http-error.js';
import { notificationBody, reportResponses, sendNotificationResponses, idParams } from '../schemas.js';
import type { Authenticate } from '../server.js';
import type { GatewayServices } from '../services.js';

const IDEMPOTENCY_KEY = /^[A-Za-z0-9._:@+-]{1,200}$/;

export const notificationRoutes: FastifyPluginAsync<{
  services: GatewayServices;
  authenticate: Authenticate;
}> = async (app, { services, authenticate }) => {
  const relay = services.relay;
  const clock = services.clock;
  const config = services.config;
  app.addHook('onRequest', authenticate);

  app.post<{ Body: unknown; Querystring: { wait?: 'true' | 'false' } }>(
    '/v1/notifications',
    {
      schema: {
        tags: ['notifications'],
        summary: "Send a canonical CallNotification to the recipient's devices",
        description:
          'Answers 202 with the id once queued; `?wait=true` answers 200 with the delivery report when every device is done.',
        headers: {
          type: 'object',
          properties: { 'idempotency-key': { type: 'string', pattern: IDEMPOTENCY_KEY.source } },
        },
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            wait: {
              type: 'string',
              enum: ['true', 'false'],
              description: 'true: answer 200 with the delivery report once every device is done',
            },
          },
        },
        response: sendNotificationResponses,
      },
      // The body is documented with core's schema and checked by core alone (parseCallNotification),
      // so a notification is refused in one way, with core's issues, whatever is wrong with it.
      config: {
        swaggerTransform: ({ schema, url }: { schema: object; url: string }) => ({
          schema: { ...schema, body: notificationBody },
          url,
        }),
      },
    },
    async (request, reply) => {
      const tenant = request.tenant!.id;
      const header = request.headers['idempotency-key'];
      const given: unknown = request.body;
      // Anything but an object goes to core as it came, to be refused there like any other problem.
      const body: unknown = isObject(given) ? { ...given } : given;
      if (typeof header === 'string' && isObject(body)) {
        if (body.id !== undefined && body.id !== header) {
          throw new HttpError(400, 'validation_failed', 'the Idempotency-Key header and the body id differ', [
            { path: 'id', message: 'must equal the Idempotency-Key header when both are given' },
          ]);
        }
        body.id = header;
      }
      const notification = parseCallNotification(body, {
        now: clock.now(),
        tenant,
        defaultRingTimeoutMs: config.ringTimeoutMs,
        generateId: randomUUID,
      });
      request.log = request.log.child({ notificationId: notification.id, callId: notification.call?.id });
      const result = await relay.notify(notification);
      request.log.info(
        { type: notification.type, duplicate: result.duplicate, devices: result.report.devices.length },
        'notification accepted',
      );
      if (request.query.wait === 'true') {
        const report = await relay.waitForCompletion(tenant, notification.id, {
          timeoutMs: config.waitTimeoutMs,
          pollMs: 1000,
        });
        return reply.status(200).send({ id: notification.id, duplicate: result.duplicate, report });
      }
      return reply
        .status(202)
        .header('location', `/v1/notifications/${encodeURIComponent(notification.id)}`)
        .send({ id: notification.id, duplicate: result.duplicate, status: result.report.status });
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/notifications/:id',
    {
      schema: {
        tags: ['notifications'],
        summary: 'The delivery report of a notification',
        params: idParams,
        response: reportResponses,
      },
    },
    async (request) => {
      const report = await relay.report(request.tenant!.id, request.params.id);
      if (!report) throw notFound(`notification ${request.params.id}`);
      return report;
    },
  );
};

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
