export * from './base.js';
export * from './faults.js';
export * from './inspection.js';
export * from './tls.js';
export * from './fcm.js';
export * from './hms.js';
export * from './apns.js';
export * from './webpush.js';
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
