export { ApnsTransport } from './internal/transport.js';
export { parseApnsTransportOptions } from './internal/options.js';
export type { ApnsTransportOptions, ApnsAppOptions, ApnsCredential } from './internal/transport.js';
export { outcomeOf as apnsOutcome, parseRetryAfter } from './internal/outcome.js';
export type { ApnsAnswer } from './internal/outcome.js';

import { ApnsTransport, type ApnsTransportOptions } from './internal/transport.js';

/** An APNs transport for the given apps; throws TransportError naming the option that is wrong. */
export function createApnsTransport(options: ApnsTransportOptions): ApnsTransport {
  return new ApnsTransport(options);
}
