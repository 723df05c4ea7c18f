// The endpoint checks alone: they need only node:dns and node:net, so an app can check a
// subscription without loading web-push and the HTTP client.
export { webPushEndpointProblem, isPrivateAddress } from './internal/endpoint.js';
export type { EndpointPolicy } from './internal/endpoint.js';
