export { startBridge, composeBridge, TOKENS } from './internal/bridge.js';
export { loadCodecs } from './internal/codecs.js';
export { Resources } from '@pushrelay/app-kit';
export type { BridgeOptions, RunningBridge } from './internal/bridge.js';
export { loadConfig, resolveConfig, applyEnvOverrides, redactedConfig, ENV_PREFIX } from './internal/config.js';
export type {
  BridgeConfig,
  BridgeConfigInput,
  EphemeralConfig,
  QueueConfig,
  SipUser,
  StoreConfig,
} from './internal/config.js';
export { Metrics } from './internal/metrics.js';
export { createLogger, REDACTED_PATHS } from './internal/logger.js';
export type { Device } from './internal/locations.js';
