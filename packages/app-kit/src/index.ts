export { ConfigError } from './internal/config-error.js';
export type { ConfigWarning } from './internal/config-error.js';
export { ConfigReader, isObject, LOG_LEVELS } from './internal/reader.js';
export type { ConfigReaderOptions, LogLevel, Raw } from './internal/reader.js';
export {
  ENGINE_DEFAULTS,
  POSTGRES_URL,
  expandEngineShortcut,
  mergeEngineOverride,
  readEphemeral,
  readQueue,
  readStore,
} from './internal/engines.js';
export type {
  EngineOptions,
  EngineSection,
  EphemeralConfig,
  QueueConfig,
  StoreConfig,
  StoreEngine,
} from './internal/engines.js';
export { readSecret, resolveSecretRefs } from './internal/secrets.js';
export type { Env, SecretContext } from './internal/secrets.js';
export { ENV_PREFIX, applyEnvOverrides } from './internal/env.js';
export type { EnvOverrideOptions } from './internal/env.js';
export { readConfigFile } from './internal/file.js';
export { redactedEngines, withoutPassword } from './internal/redact.js';
export { createQueue, loadEngines, openEphemeral, openStores, openStoresNow } from './internal/backends.js';
export type {
  EngineConfigs,
  EngineModules,
  EphemeralHandle,
  EphemeralOptions,
  QueueOptions,
  StoreHandle,
  StoreOptions,
} from './internal/backends.js';
export { MetricTable, createProcessRegistry, serveMetrics } from './internal/metrics.js';
export type { Labels, MetricDefinition, ProcessRegistryOptions } from './internal/metrics.js';
export { REDACT_PATHS, createLogger, loggerOptions } from './internal/logger.js';
export type { Logger } from './internal/logger.js';
export { delay, onShutdownSignals, withinBound } from './internal/shutdown.js';
export type { ShutdownSignalsOptions } from './internal/shutdown.js';
export { createTransports, loadTransports } from './internal/transports.js';
export type {
  ProviderSections,
  TransportFactories,
  TransportFactory,
  TransportsOptions,
} from './internal/transports.js';
export { RELAY_TOKENS, Resources, get, registerRelay, singleton, token, value } from './internal/di.js';
export type { Get, RelayRegistration, Token } from './internal/di.js';
export {
  codecCatalog,
  discoverCodecs,
  installedCodecPackages,
  loadCodecCatalog,
  readAppManifest,
} from './internal/codecs.js';
export type { AppManifest, CodecCatalog, CodecPackage, ImportModule } from './internal/codecs.js';
export { startTracing, tracingWanted } from './internal/tracing.js';
export type { Tracing, TracingOptions } from './internal/tracing.js';
