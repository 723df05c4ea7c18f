import type { FastifyPluginAsync } from 'fastify';
import { badRequest } from '../http-error.js';
import { connectResponses } from '../schemas.js';
import type { Authenticate } from '../server.js';
import type { GatewayServices } from '../services.js';

/**
 * `GET /v1/connect?userId=` upgrades to a WebSocket. While it is open the user is online: the
 * relay suppresses pushes and the notification arrives on the socket instead.
 */
export const connectRoutes: FastifyPluginAsync<{ services: GatewayServices; authenticate: Authenticate }> = async (
  app,
  { services, authenticate },
) => {
  const hub = services.sockets;
  const relay = services.relay;
  relay.events.on('suppressed', ({ notification, reason }) => {
    if (reason === 'online') void hub.distribute(notification);
  });

  app.get<{ Querystring: { userId?: string } }>(
    '/v1/connect',
    {
      websocket: true,
      schema: {
        tags: ['presence'],
        summary: 'WebSocket of an app in the foreground: notifications come here instead of pushes',
        querystring: {
          type: 'object',
          required: ['userId'],
          properties: {
            userId: { type: 'string', minLength: 1, maxLength: 200 },
            access_token: { type: 'string', description: 'the API key, for clients that cannot set a header' },
          },
        },
        response: connectResponses,
      },
      preValidation: async (request) => {
        await authenticate(request);
        if (!request.query.userId) throw badRequest('userId is required', [{ path: 'userId', message: 'is required' }]);
      },
    },
    async (socket, request) => {
      const tenant = request.tenant!.id;
      const userId = request.query.userId!;
      const release = hub.add(tenant, userId, socket);
      request.log.info({ userId }, 'app connected');
      socket.on('close', () => {
        release();
        request.log.info({ userId }, 'app disconnected');
      });
      socket.on('error', () => release());
      // Clients may ping with any message; nothing they send changes state.
      socket.on('message', () => {});
      // Ready means notifications come here, wherever they are accepted: only once every
      // process sees the connection.
      await hub.announced();
      if (socket.readyState === 1) socket.send(JSON.stringify({ kind: 'ready', tenant, userId }));
    },
  );
};
