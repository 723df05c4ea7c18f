export * from './model.js';
export * from './errors.js';
export * from './ports.js';
export type { CodecMetadata } from './codec-metadata.js';
export {
  PAYLOAD_LIMITS,
  VOIP_PAYLOAD_LIMIT,
  payloadLimit,
  payloadSize,
  voipTopic,
  isVoipTopic,
  bundleIdOfTopic,
  WEB_PUSH_PLAINTEXT_LIMIT,
  parseWebPushSubscription,
  webPushToken,
  parseWebPushToken,
  mayPushAs,
} from './provider-rules.js';
export type { WebPushSubscription } from './provider-rules.js';
export { webCallPayload, webPushRequest } from './web-call.js';
export type { WebCallPayload } from './web-call.js';
export { parseCallNotification, utf8Length, DEFAULT_RING_TIMEOUT_MS, MAX_DEADLINE_MS } from './validate.js';
export type { ParseNotificationOptions } from './validate.js';
export { CALL_NOTIFICATION_SCHEMA, COLLAPSE_KEY_MAX_BYTES } from './notification-schema.js';
export { OptionsReader, definedOnly, optionPath, readUrl } from './options.js';
export { Relay, jobId, credentialKey, FORWARDED_DEVICE_ID } from './relay.js';
export type { RelayOptions, RelayEvents, DeviceEvent, NotifyResult, SkipReason, ForwardedPush } from './relay.js';
export { DEFAULT_ADMISSION_POLICY, OverloadedError } from './admission.js';
export type { AdmissionOptions, AdmissionPolicy, OverloadReason } from './admission.js';
export { InMemoryRateLimiter, RateLimitedError, MAX_WAIT_MS } from './rate-limit.js';
export type { InMemoryRateLimiterOptions, RateLimit, RateLimiter } from './rate-limit.js';
export { DEFAULT_RETRY_POLICY, retryDelay, nextAttemptAt } from './retry.js';
export type { RetryPolicy } from './retry.js';
export { activeTracer, traceProviderRequest, TRACER_NAME } from './tracing.js';
export { EventHub } from './events.js';
export { RetentionSweeper, DEFAULT_RETENTION_DAYS } from './retention.js';
export type { RetentionSweeperOptions, SweepResult } from './retention.js';
export { systemClock, ManualClock, settle } from './clock.js';
export { InMemoryBindingStore } from './memory/binding-store.js';
export type { InMemoryBindingStoreOptions } from './memory/binding-store.js';
export { InMemoryReportStore, applyDeviceUpdate } from './memory/report-store.js';
export { InMemoryMissedCallStore } from './memory/missed-call-store.js';
export { InMemoryPresence } from './memory/presence.js';
export { InMemoryQueue } from './memory/queue.js';
export type { InMemoryQueueOptions } from './memory/queue.js';
