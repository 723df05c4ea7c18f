import type { FastifyPluginAsync } from 'fastify';
import type { ServerState } from '../server.js';
import type { GatewayServices } from '../services.js';

export const healthRoutes: FastifyPluginAsync<{ state: ServerState; services: GatewayServices }> = async (
  app,
  { state, services },
) => {
  const metrics = services.metrics;
  const open = { security: [] };
  app.get('/healthz', { schema: { ...open, tags: ['health'], summary: 'The process is alive' } }, async () => ({
    status: 'ok',
  }));
  app.get(
    '/readyz',
    { schema: { ...open, tags: ['health'], summary: 'Ready to take traffic (false while draining)' } },
    async (_req, reply) => {
      if (state.draining) return reply.status(503).send({ ready: false, reason: 'draining' });
      return { ready: true };
    },
  );
  app.get('/metrics', { schema: { ...open, tags: ['health'], summary: 'Prometheus metrics' } }, async (_req, reply) => {
    reply.type(metrics.registry.contentType);
    return metrics.registry.metrics();
  });
};
