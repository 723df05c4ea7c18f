export { WebPushTransport, createWebPushTransport } from './internal/transport.js';
export { parseWebPushTransportOptions } from './internal/options.js';
export type { WebPushTransportOptions } from './internal/transport.js';
export { generateVapidKeys } from './internal/vapid.js';
export type { VapidKeySet, VapidKeyPair } from './internal/vapid.js';
export { webPushEndpointProblem, isPrivateAddress } from './internal/endpoint.js';
export type { EndpointPolicy } from './internal/endpoint.js';
export { outcomeOf as mapWebPushAnswer } from './internal/answer.js';
export { topicOf, MAX_TTL_S } from './internal/message.js';
