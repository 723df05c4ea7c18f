export { HmsTransport, createHmsTransport, DEFAULT_HMS_BASE_URL, HMS_API_HEADER } from './internal/transport.js';
export { parseHmsTransportOptions } from './internal/options.js';
export type { HmsTransportOptions } from './internal/transport.js';
export type { CheckedServiceAccount, HmsApi, HmsAppCredential, HmsServiceAccount } from './internal/credentials.js';
export {
  DEFAULT_HMS_TOKEN_URL,
  HMS_JWT_AUDIENCE,
  HMS_JWT_LIFETIME_S,
  ServiceAccountJwtProvider,
} from './internal/token-provider.js';
export { mapHmsAnswer, mapHmsV3Answer, readHmsAnswer, illegalTokens, illegalTokensV3 } from './internal/errors.js';
export type { HmsAnswer, MapContext } from './internal/errors.js';
export { buildMessage, MAX_TOKENS } from './internal/message.js';
export { buildV3Message, V3_PUSH_TYPES, V3_CATEGORIES, MAX_TEST_TOKENS } from './internal/message-v3.js';
export type { V3Message } from './internal/message-v3.js';
