import type { SipMessage } from './message.js';

export type TransportProtocol = 'udp' | 'tcp' | 'tls';

/** Where a message came from or goes to. `connectionId` pins a TCP/TLS flow when it still exists. */
export interface Endpoint {
  transport: TransportProtocol;
  address: string;
  port: number;
  connectionId?: string;
}

export function isReliable(protocol: TransportProtocol): boolean {
  return protocol !== 'udp';
}

export interface TransportStats {
  messagesReceived: number;
  messagesSent: number;
  /** Malformed input answered with 400 Bad Request. */
  malformedAnswered: number;
  /** Malformed input that could not be answered (no request line or no Via) and was dropped. */
  malformedDropped: number;
  /** Keep-alive pings answered (RFC 5626 double CRLF). */
  keepAlives: number;
}

export type MessageHandler = (message: SipMessage, from: Endpoint) => void;

/** One SIP transport: UDP, TCP or TLS, all behind the same shape. */
export interface SipTransport {
  readonly protocol: TransportProtocol;
  /** Bound address and port (the real port when 0 was asked for). */
  readonly local: { address: string; port: number };
  readonly stats: TransportStats;
  /** Sends one message; rejects with SipTransportError when it cannot be sent. */
  send(message: SipMessage, to: Endpoint): Promise<void>;
  /** Registers the receiver of every well-formed message. */
  onMessage(handler: MessageHandler): void;
  close(): Promise<void>;
}

/** A message could not be sent: socket closed, connect refused, nothing listening... */
export class SipTransportError extends Error {
  readonly code = 'sip_transport_error';
  readonly transport: TransportProtocol;
  constructor(transport: TransportProtocol, message: string, options?: { cause?: unknown }) {
    super(`${transport}: ${message}`, options);
    this.name = 'SipTransportError';
    this.transport = transport;
  }
}
