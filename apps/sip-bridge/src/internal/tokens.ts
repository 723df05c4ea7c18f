import { RELAY_TOKENS, token } from '@pushrelay/app-kit';
import type { DigestServer, TransactionLayer } from '@pushrelay/sip';
import type { PostgresDatabase } from '@pushrelay/store-postgres';
import type { CallReportStore } from './call-reports.js';
import type { BridgeConfig } from './config.js';
import type { EdgeService } from './edge/edge-service.js';
import type { LocationService } from './locations.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import type { Notifier } from './notifier.js';
import type { CallProxy, LocalAddress } from './proxy.js';
import type { Registrar } from './registrar.js';
import type { LocationReplicator } from './replication.js';
import type { RequestRouter } from './requests.js';
import type { SipPort } from './sip-port.js';
import type { TrunkRouter } from './trunk.js';
import type { UserDirectory } from './users.js';

/** Typed injection tokens of the composition root: the app kit's relay tokens and the bridge's own. */
export const TOKENS = {
  Config: token<BridgeConfig>('pushrelay.sip-bridge.config'),
  Clock: RELAY_TOKENS.clock,
  Logger: token<Logger>('pushrelay.sip-bridge.logger'),
  Metrics: token<Metrics>('pushrelay.sip-bridge.metrics'),
  BindingStore: RELAY_TOKENS.bindings,
  ReportStore: RELAY_TOKENS.reports,
  /** The bridge's own in-memory report store (see CallReportStore), or null when another is used. */
  CallReports: token<CallReportStore | null>('pushrelay.sip-bridge.call-reports'),
  Queue: RELAY_TOKENS.queue,
  MissedCallStore: RELAY_TOKENS.missedCalls,
  Codecs: RELAY_TOKENS.codecs,
  Transports: RELAY_TOKENS.transports,
  Relay: RELAY_TOKENS.relay,
  /** What the bridge built from its config and must close on stop. */
  Resources: RELAY_TOKENS.resources,
  /** The stores of the configured engine: in memory, or opened on the postgres store by startBridge. */
  Stores: RELAY_TOKENS.stores,
  /** The opened postgres store; startBridge opens it when the config names one. */
  Database: token<PostgresDatabase>('pushrelay.sip-bridge.database'),
  Locations: token<LocationService>('pushrelay.sip-bridge.locations'),
  Digest: token<DigestServer>('pushrelay.sip-bridge.digest'),
  Notifier: token<Notifier>('pushrelay.sip-bridge.notifier'),
  Registrar: token<Registrar>('pushrelay.sip-bridge.registrar'),
  Proxy: token<CallProxy>('pushrelay.sip-bridge.proxy'),
  /** The SIP layer and the address it listens on, bound once the sockets are (see SipPort). */
  SipPort: token<SipPort>('pushrelay.sip-bridge.sip-port'),
  SipLayer: token<TransactionLayer>('pushrelay.sip-bridge.sip-layer'),
  LocalAddress: token<LocalAddress>('pushrelay.sip-bridge.local-address'),
  /** Registrations shared with other bridge processes through Redis pub/sub, or null without Redis. */
  Replication: token<LocationReplicator | null>('pushrelay.sip-bridge.replication'),
  /** Who the users are and their digest secrets: the config's list, or postgres. */
  Users: token<UserDirectory>('pushrelay.sip-bridge.users'),
  /** The DigestServer of 407 challenges to requests other than REGISTER. */
  RequestDigest: token<DigestServer>('pushrelay.sip-bridge.request-digest'),
  /** The TrunkRouter for calls to non-local users, or null without a trunk. */
  Trunk: token<TrunkRouter | null>('pushrelay.sip-bridge.trunk'),
  /** The RequestRouter dispatching requests other than REGISTER. */
  Requests: token<RequestRouter>('pushrelay.sip-bridge.requests'),
  /** Edge mode (`mode: edge`): the EdgeService in front of the upstream registrar/PBX. */
  Edge: token<EdgeService>('pushrelay.sip-bridge.edge'),
};
