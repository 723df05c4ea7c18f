import type { FastifyPluginAsync } from 'fastify';
import { healthResponses, metricsResponses, readyResponses } from '../schemas.js';
import type { ServerState } from '../server.js';
import type { GatewayServices } from '../services.js';

export const healthRoutes: FastifyPluginAsync<{ state: ServerState; services: GatewayServices }> = async (
  app,
  { state, services },
) => {
  const metrics = services.metrics;
  const open = { security: [] };
  app.get(
    '/healthz',
    { schema: { ...open, tags: ['health'], summary: 'The process is alive', response: healthResponses } },
    async () => ({
      status: 'ok',
    }),
  );
  app.get(
    '/readyz',
    {
      schema: {
        ...open,
        tags: ['health'],
        summary: 'Ready to take traffic (false while draining)',
        response: readyResponses,
      },
    },
    async (_req, reply) => {
      if (state.draining) return reply.status(503).send({ ready: false, reason: 'draining' });
      return { ready: true };
    },
  );
  app.get(
    '/metrics',
    { schema: { ...open, tags: ['health'], summary: 'Prometheus metrics', response: metricsResponses } },
    async (_req, reply) => {
      reply.type(metrics.registry.contentType);
      return metrics.registry.metrics();
    },
  );
};
