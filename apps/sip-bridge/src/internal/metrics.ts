import {
  MetricTable,
  createProcessRegistry,
  serveMetrics as serveText,
  type MetricDefinition,
} from '@pushrelay/app-kit';
import type { Server } from 'node:http';

/** The bridge's series: name, type, help and the labels each is given. */
export const BRIDGE_METRICS = {
  sip_bridge_registrations_total: {
    type: 'counter',
    help: 'Successful REGISTERs, by result (registered, unregistered)',
    labels: ['result'],
  },
  sip_bridge_register_rejections_total: { type: 'counter', help: 'REGISTERs refused, by status', labels: ['status'] },
  sip_bridge_push_bindings: { type: 'gauge', help: 'Devices reachable by push' },
  sip_bridge_held_invites: { type: 'gauge', help: 'INVITEs held for a pushed device to re-register' },
  sip_bridge_pushes_total: { type: 'counter', help: 'Notifications handed to the relay, by type', labels: ['type'] },
  sip_bridge_push_deliveries_total: {
    type: 'counter',
    help: 'Push attempts by provider outcome',
    labels: ['provider', 'outcome'],
  },
  sip_bridge_forwarded_invites_total: {
    type: 'counter',
    help: 'INVITEs forwarded to a device, by reason (direct, re-register)',
    labels: ['reason'],
  },
  sip_bridge_calls_total: { type: 'counter', help: 'Calls ended, by final status class', labels: ['status'] },
  sip_bridge_unavailable_total: { type: 'counter', help: '480 Temporarily Unavailable sent after the wait' },
  // Registrar mode: requests from phones and the trunk, overload, and what is held in memory.
  sip_bridge_request_rejections_total: {
    type: 'counter',
    help: 'Out-of-dialog requests not served, by method and status (407 challenge, 403 refused, 482 loop, 483 too many hops)',
    labels: ['method', 'status'],
  },
  sip_bridge_trunk_requests_total: {
    type: 'counter',
    help: 'Requests sent to the trunk, by method',
    labels: ['method'],
  },
  sip_bridge_trunk_responses_total: {
    type: 'counter',
    help: 'Final answers of requests sent to the trunk, by status class',
    labels: ['status'],
  },
  sip_bridge_inbound_trunk_requests_total: {
    type: 'counter',
    help: 'Requests accepted from the trunk, by how (address, credentials)',
    labels: ['how'],
  },
  sip_bridge_overload_rejections_total: {
    type: 'counter',
    help: 'Requests answered 503 with Retry-After and no transaction, by method and the bound reached (transactions, held_calls, event_loop_lag)',
    labels: ['method', 'reason'],
  },
  sip_bridge_heap_used_bytes: { type: 'gauge', help: 'V8 heap in use (process.memoryUsage().heapUsed)' },
  sip_bridge_event_loop_lag_ms: { type: 'gauge', help: 'Event-loop lag the overload control sees (smoothed)' },
  sip_bridge_transactions: { type: 'gauge', help: 'SIP transactions held, by side (server, client)', labels: ['side'] },
  sip_bridge_timers: { type: 'gauge', help: 'Timers running: transaction timers and call timers' },
  sip_bridge_calls_active: { type: 'gauge', help: 'Calls and trunk requests the bridge is in the middle of' },
  sip_bridge_tls_reloads_total: {
    type: 'counter',
    help: 'TLS certificate reloads, by result (ok, failed)',
    labels: ['result'],
  },
  sip_bridge_location_events_total: {
    type: 'counter',
    help: 'Registrations replicated between bridge processes, by direction and kind (register, unregister, invalid, stale)',
    labels: ['direction', 'kind'],
  },
  // Edge mode.
  sip_bridge_edge_forwarded_total: {
    type: 'counter',
    help: 'Requests forwarded statefully in edge mode, by direction (upstream, device) and method',
    labels: ['direction', 'method'],
  },
  sip_bridge_edge_upstream_timeouts_total: {
    type: 'counter',
    help: 'Forwarded requests answered 408: no answer in time',
    labels: ['method'],
  },
  sip_bridge_edge_loops_total: {
    type: 'counter',
    help: 'Requests refused with 482: a Via or Path loop through the bridge',
    labels: ['method'],
  },
  sip_bridge_wake_pushes_total: {
    type: 'counter',
    help: 'Re-register pushes before an upstream binding expires, by outcome (sent, no-silent-push)',
    labels: ['outcome'],
  },
  sip_bridge_wake_missed_total: {
    type: 'counter',
    help: 'Push phones that did not re-register before their upstream binding expired',
  },
} satisfies Record<string, MetricDefinition>;

export type BridgeMetricName = keyof typeof BRIDGE_METRICS;

/** The bridge's counters and gauges, on a prom-client registry of this bridge's own. */
export class Metrics extends MetricTable<BridgeMetricName> {
  constructor() {
    // With the default process metrics under their standard names (process_cpu_seconds_total...).
    super(BRIDGE_METRICS, createProcessRegistry({ processPrefix: '' }));
  }
}

/** Serves GET /metrics; resolves with the bound port. */
export function serveMetrics(metrics: Metrics, host: string, port: number): Promise<{ server: Server; port: number }> {
  return serveText(() => metrics.render(), host, port, metrics.registry.contentType);
}
