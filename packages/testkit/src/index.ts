export type { TestApi } from './runner.js';
export { describeCodecConformance, loadCodecFixtures } from './conformance/codec.js';
export type { CodecConformanceOptions, CodecFixture } from './conformance/codec.js';
export {
  describeBindingStoreConformance,
  describeReportStoreConformance,
  describeMissedCallStoreConformance,
  bindingInput,
  sampleNotification,
  sampleReport,
} from './conformance/stores.js';
export type { StoreContext, StoreSuiteOptions, MissedCallSuiteOptions } from './conformance/stores.js';
export { describeQueueConformance } from './conformance/queue.js';
export type { QueueContext, QueueSuiteOptions } from './conformance/queue.js';
export { requireService, probeTcp } from './services.js';
export type { ServiceStatus } from './services.js';
export { startRedisServer, findRedisServer, probeRedisServerBinary } from './redis-server.js';
export type { RedisServer, RedisServerOptions } from './redis-server.js';
export {
  DEFAULT_KAMAILIO_USERS,
  KAMAILIO_BINARY,
  KAMAILIO_MODULES,
  Kamailio,
  kamailioConfig,
  probeKamailio,
  startKamailio,
} from './kamailio.js';
export type { KamailioBinding, KamailioConfigInput, KamailioOptions, KamailioUser } from './kamailio.js';
export * from './simulators/base.js';
export * from './simulators/faults.js';
export * from './simulators/inspection.js';
export * from './simulators/tls.js';
export * from './simulators/fcm.js';
export * from './simulators/hms.js';
export * from './simulators/apns.js';
export * from './conformance/transport.js';
export * from './simulators/webpush.js';
