export { createGateway } from './internal/gateway.js';
export type { Gateway, GatewayOptions } from './internal/gateway.js';
export {
  ConfigError,
  loadConfigFile,
  parseConfig,
  redactedConfig,
  sha256Hex,
  KNOWN_CODECS,
} from './internal/config.js';
export type {
  GatewayConfig,
  TenantConfig,
  StoreConfig,
  ParseConfigOptions,
  RetentionConfig,
  AdmissionConfig,
  RateLimitConfig,
  LimitsConfig,
} from './internal/config.js';
export type { LoggerOption } from './internal/services.js';
export type { TenantDirectory } from './internal/auth.js';
export type { PushSocket, ConnectionPresence, NotificationFanout } from './internal/sockets.js';
export { buildContainer } from './internal/container.js';
export { loadBackends, loadCodecs } from './internal/registry.js';
export type { CodecCatalog, GatewayBackends } from './internal/registry.js';
export type { GatewayOverrides } from './internal/container.js';
export { TOKENS } from './internal/tokens.js';
export { hmacTimestampVerifier, signWebhook, ReplayGuard } from './internal/webhooks.js';
export type { WebhookVerifier, WebhookRequest, VerifyResult, SharedClaims } from './internal/webhooks.js';
export { signHs256, verifyHs256 } from './internal/jwt.js';
export type { JwtResult } from './internal/jwt.js';
export { SocketHub } from './internal/sockets.js';
export { GatewayMetrics } from './internal/metrics.js';
export { REDACT_PATHS } from './internal/server.js';
