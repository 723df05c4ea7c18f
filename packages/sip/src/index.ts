// Messages: model, parsing, serialization
export type { SipHeader, SipMessage, SipRequest, SipResponse } from './internal/message.js';
export {
  addHeader,
  cloneMessage,
  getHeader,
  getHeaders,
  removeFirstHeader,
  removeHeader,
  setHeader,
} from './internal/message.js';
export { SipParseError, type SipParseReason } from './internal/errors.js';
export {
  parseMessage,
  StreamParser,
  type ParseOptions,
  type StreamEvent,
  type StreamParserOptions,
} from './internal/parser.js';
export { serialize } from './internal/serialize.js';

// Header grammar
export {
  formatNameAddr,
  formatParams,
  formatUri,
  formatVia,
  parseCSeq,
  parseNameAddr,
  parseParams,
  parseUri,
  parseVia,
  splitHeaderList,
  type CSeq,
  type NameAddr,
  type SipParams,
  type SipUri,
  type Via,
} from './internal/grammar.js';

// Building requests and responses
export {
  createAckFor2xx,
  createAckForNon2xx,
  createCancel,
  createRequest,
  createResponse,
  generateBranch,
  randomHex,
  generateCallId,
  generateTag,
  getCallId,
  getContacts,
  getCSeq,
  getFrom,
  getMaxForwards,
  getTo,
  getTopVia,
  getVias,
  prepareForward,
  REASON_PHRASES,
  type ForwardOptions,
  type RequestOptions,
  type ResponseOptions,
} from './internal/build.js';

// Transactions
export { DEFAULT_TIMERS, systemClock, type Clock, type TimerValues } from './internal/clock.js';
export {
  TransactionLayer,
  type ClientTransaction,
  type ServerTransaction,
  type ClientTransactionHandlers,
  type TerminationReason,
  type TransactionLayerOptions,
  type TransactionState,
} from './internal/transaction.js';

// Transports
export {
  SipTransportError,
  type Endpoint,
  type MessageHandler,
  type SipTransport,
  type TransportProtocol,
  type TransportStats,
} from './internal/endpoint.js';
export {
  createTcpTransport,
  createTlsTransport,
  createUdpTransport,
  type StreamTransport,
  type StreamTransportOptions,
  type TlsTransport,
  type TlsTransportOptions,
  type UdpTransport,
  type UdpTransportOptions,
} from './internal/transport.js';

// Digest authentication
export {
  computeDigestResponse,
  digestHa1,
  DigestServer,
  digestClientAuthorization,
  parseAuthHeader,
  type DigestAlgorithm,
  type DigestClientOptions,
  type DigestComputation,
  type DigestFailure,
  type DigestResult,
  type DigestSecret,
  type DigestServerOptions,
} from './internal/digest.js';
