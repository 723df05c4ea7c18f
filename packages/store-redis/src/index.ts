export { RedisMissedCallStore } from './internal/missed-call-store.js';
export type { RedisMissedCallStoreOptions } from './internal/missed-call-store.js';
export { RedisDedupe } from './internal/dedupe.js';
export type { RedisConnectionOptions } from './internal/connection.js';
export { redisOptionsFromUrl, redisUrlProblem } from './internal/url.js';
export { RedisRateLimiter } from './internal/rate-limiter.js';
export type { RedisRateLimiterOptions } from './internal/rate-limiter.js';
export { RedisPresence } from './internal/presence.js';
export type { RedisPresenceOptions, PresenceOperation, PresenceListener } from './internal/presence.js';
