import { RELAY_TOKENS, token, type CodecCatalog, type EphemeralHandle } from '@pushrelay/app-kit';
import type { RetentionSweeper } from '@pushrelay/core';
import type { FastifyBaseLogger } from 'fastify';
import type { TenantDirectory } from './auth.js';
import type { GatewayConfig } from './config.js';
import type { GatewayMetrics } from './metrics.js';
import type { ConnectionPresence, SocketHub } from './sockets.js';
import type { ReplayGuard, WebhookVerifier } from './webhooks.js';

/** Typed container tokens of the gateway's composition root: the app kit's relay tokens and the gateway's own. */
export const TOKENS = {
  ...RELAY_TOKENS,
  config: token<GatewayConfig>('pushrelay.config'),
  /** The installed codec packages' metadata (`loadCodecs`), which `codecs` are made from. */
  codecCatalog: token<CodecCatalog>('pushrelay.codecCatalog'),
  logger: token<FastifyBaseLogger>('pushrelay.logger'),
  /** Core's InMemoryPresence, or with a Redis `ephemeral` the RedisPresence every process shares. */
  presence: token<ConnectionPresence>('pushrelay.presence'),
  sockets: token<SocketHub>('pushrelay.sockets'),
  tenants: token<TenantDirectory>('pushrelay.tenants'),
  metrics: token<GatewayMetrics>('pushrelay.metrics'),
  webhookVerifiers: token<Record<string, WebhookVerifier>>('pushrelay.webhookVerifiers'),
  replayGuard: token<ReplayGuard>('pushrelay.replayGuard'),
  storeHandle: RELAY_TOKENS.stores,
  ephemeral: token<EphemeralHandle>('pushrelay.ephemeral'),
  retention: token<RetentionSweeper>('pushrelay.retention'),
};
