import type { FastifyPluginAsync } from 'fastify';
import type { DependencyContainer } from 'tsyringe';

/** Wazo push-proxy mode (filled in below). */
export const proxyRoutes: FastifyPluginAsync<{ container: DependencyContainer }> = async () => {};
