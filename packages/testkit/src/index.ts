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
export * from './conformance/transport.js';
export type {
  FaultAction,
  FaultSpec,
  SimConnectionStats,
  SimDelivery,
  SimRequestRecord,
  SimulatedProvider,
} from './conformance/simulated-provider.js';
export { runFuzzTargets } from './fuzz.js';
export type { FuzzOptions, FuzzResult, FuzzTarget, FuzzTargetResult } from './fuzz.js';
