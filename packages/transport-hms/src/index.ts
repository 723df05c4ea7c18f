export { HmsTransport, createHmsTransport, DEFAULT_HMS_BASE_URL } from './internal/transport.js';
export type { HmsTransportOptions } from './internal/transport.js';
export type { HmsAppCredential } from './internal/credentials.js';
export { DEFAULT_HMS_TOKEN_URL } from './internal/token-provider.js';
export { mapHmsAnswer, readHmsAnswer, illegalTokens } from './internal/errors.js';
export type { HmsAnswer, MapContext } from './internal/errors.js';
export { buildMessage, MAX_TOKENS } from './internal/message.js';
