import type { FastifyPluginAsync } from 'fastify';
import type { DependencyContainer } from 'tsyringe';
import type { GatewayMetrics } from '../metrics.js';
import type { ServerState } from '../server.js';
import { TOKENS } from '../tokens.js';

export const healthRoutes: FastifyPluginAsync<{ state: ServerState; container: DependencyContainer }> = async (
  app,
  { state, container },
) => {
  const metrics = container.resolve<GatewayMetrics>(TOKENS.metrics);
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
