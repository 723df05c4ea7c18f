/**
 * What the transport conformance suite needs from a provider simulator: the pushes it accepted,
 * every request it answered, scripted faults and dead tokens, and its connections. The simulators
 * of @pushrelay/simulators implement it; a simulator of another provider can too.
 */

/**
 * Scripted misbehaviour of a simulator. A fault applies to the next `count` matching requests
 * (or to a share of them), before the provider logic runs, so a faulted request is never a
 * delivery.
 */
export type FaultAction =
  /** Answer with this status and the provider's error body for `reason`. */
  | {
      kind: 'status';
      status: number;
      reason?: string;
      retryAfter?: number | string;
      headers?: Record<string, string>;
      body?: unknown;
    }
  /** Answer the request normally, then send GOAWAY on that connection once it has served `afterStreams` streams. */
  | { kind: 'goaway'; afterStreams?: number; reason?: string }
  /** Destroy the connection without answering. */
  | { kind: 'reset' }
  /**
   * Reset this one stream (RST_STREAM, default INTERNAL_ERROR) before the provider processes it;
   * the connection and its other streams go on.
   */
  | { kind: 'stream-reset'; code?: number }
  /** Never answer (the stream stays open until the client gives up or the simulator closes). */
  | { kind: 'hang' }
  /** Answer normally after `delayMs`. */
  | { kind: 'slow'; delayMs: number };

export type FaultSpec = FaultAction & {
  /** How many matching requests this fault takes; default 1. Infinity (or `null` over HTTP) for all. */
  count?: number | null;
  /**
   * A share in (0, 1] of matching requests the fault takes, spread evenly (deterministic:
   * 0.25 takes every fourth). Combined with `count`, stops after `count` hits.
   */
  share?: number;
  /** Only requests for this device token. */
  token?: string;
  /** Only requests whose path starts with this. */
  pathPrefix?: string;
};

/** One push the simulated provider accepted: what the device would have received. */
export interface SimDelivery {
  provider: string;
  /** `production`/`sandbox` for APNs; the simulator's name otherwise. */
  environment?: string;
  token: string;
  /** Request headers, lower-case names, pseudo-headers and `authorization` removed. */
  headers: Record<string, string>;
  payload: unknown;
  /** Epoch ms, by the simulator's clock. */
  receivedAt: number;
  /** The provider's id for the message (APNs apns-id, FCM message name...). */
  id: string;
}

/** Every request the simulator answered (or dropped), delivered or not. */
export interface SimRequestRecord {
  provider: string;
  environment?: string;
  method: string;
  path: string;
  token?: string;
  headers: Record<string, string>;
  receivedAt: number;
  /** Status answered; 0 when no answer was sent (reset, hang, refused after GOAWAY). */
  status: number;
  reason?: string;
  fault?: FaultSpec['kind'];
}

export interface SimConnectionStats {
  /** TLS connections accepted since start. */
  opened: number;
  /** TLS connections open now. */
  open: number;
  /** HTTP/2 sessions open now. */
  openSessions: number;
}

/** A running simulator as the transport conformance suite drives it. */
export interface SimulatedProvider {
  deliveries(filter?: { token?: string; environment?: string }): SimDelivery[];
  requests(filter?: { token?: string; environment?: string }): SimRequestRecord[];
  /** Adds a scripted fault; returns its id. */
  fault(spec: FaultSpec): number;
  /** Marks a token dead from `at` (epoch ms, default now): the provider answers as for an unregistered device. */
  unregister(token: string, at?: number): void;
  connections(): SimConnectionStats;
  close(): Promise<void>;
}
