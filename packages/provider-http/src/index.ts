export { TokenCache } from './internal/token-cache.js';
export type { AccessToken, AccessTokenProvider, TokenCacheOptions } from './internal/token-cache.js';
export {
  TokenRequestError,
  parseRetryAfter,
  safeJson,
  isRecord,
  networkReason,
  neverProcessed,
} from './internal/http.js';
export { requestAccessToken } from './internal/token-endpoint.js';
export type { TokenEndpointRequest } from './internal/token-endpoint.js';
export { readConnectionOptions } from './internal/options.js';
export { createProviderAgent, DEFAULT_REFRESH_MARGIN_MS, DEFAULT_REQUEST_TIMEOUT_MS } from './internal/agent.js';
export type { ProviderAgentOptions, ProviderConnectionOptions } from './internal/agent.js';
export { postJson, postBody, sendWithAccessToken, tokenFailureOutcome, InflightSends } from './internal/send.js';
export type { ProviderAnswer, JsonPost, BodyPost } from './internal/send.js';
