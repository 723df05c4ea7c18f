import { createServer, type Server } from 'node:http';

type Labels = Record<string, string>;

interface Series {
  help: string;
  type: 'counter' | 'gauge';
  values: Map<string, number>;
}

/** A handful of counters and gauges in the Prometheus text format; no client library needed. */
export class Metrics {
  private readonly series = new Map<string, Series>();

  constructor() {
    this.define(
      'sip_bridge_registrations_total',
      'counter',
      'Successful REGISTERs, by result (registered, unregistered)',
    );
    this.define('sip_bridge_register_rejections_total', 'counter', 'REGISTERs refused, by status');
    this.define('sip_bridge_push_bindings', 'gauge', 'Devices reachable by push');
    this.define('sip_bridge_held_invites', 'gauge', 'INVITEs held for a pushed device to re-register');
    this.define('sip_bridge_pushes_total', 'counter', 'Notifications handed to the relay, by type');
    this.define('sip_bridge_push_deliveries_total', 'counter', 'Push attempts by provider outcome');
    this.define(
      'sip_bridge_forwarded_invites_total',
      'counter',
      'INVITEs forwarded to a device, by reason (direct, re-register)',
    );
    this.define('sip_bridge_calls_total', 'counter', 'Calls ended, by final status class');
    this.define('sip_bridge_unavailable_total', 'counter', '480 Temporarily Unavailable sent after the wait');
    // Registrar mode: requests from phones and the trunk, overload, and what is held in memory.
    this.define(
      'sip_bridge_request_rejections_total',
      'counter',
      'Out-of-dialog requests not served, by method and status (407 challenge, 403 refused, 482 loop, 483 too many hops)',
    );
    this.define('sip_bridge_trunk_requests_total', 'counter', 'Requests sent to the trunk, by method');
    this.define(
      'sip_bridge_trunk_responses_total',
      'counter',
      'Final answers of requests sent to the trunk, by status class',
    );
    this.define(
      'sip_bridge_inbound_trunk_requests_total',
      'counter',
      'Requests accepted from the trunk, by how (address, credentials)',
    );
    this.define(
      'sip_bridge_overload_rejections_total',
      'counter',
      'Requests answered 503 without a transaction because limits.maxServerTransactions was reached',
    );
    this.define('sip_bridge_transactions', 'gauge', 'SIP transactions held, by side (server, client)');
    this.define('sip_bridge_timers', 'gauge', 'Timers running: transaction timers and call timers');
    this.define('sip_bridge_calls_active', 'gauge', 'Calls and trunk requests the bridge is in the middle of');
    this.define('sip_bridge_tls_reloads_total', 'counter', 'TLS certificate reloads, by result (ok, failed)');
    this.define(
      'sip_bridge_location_events_total',
      'counter',
      'Registrations replicated between bridge processes, by direction and kind (register, unregister, invalid, stale)',
    );
    // Edge mode.
    this.define(
      'sip_bridge_edge_forwarded_total',
      'counter',
      'Requests forwarded statefully in edge mode, by direction (upstream, device) and method',
    );
    this.define(
      'sip_bridge_edge_upstream_timeouts_total',
      'counter',
      'Forwarded requests answered 408: no answer in time',
    );
    this.define(
      'sip_bridge_edge_loops_total',
      'counter',
      'Requests refused with 482: a Via or Path loop through the bridge',
    );
    this.define(
      'sip_bridge_wake_pushes_total',
      'counter',
      'Re-register pushes before an upstream binding expires, by outcome (sent, no-silent-push)',
    );
    this.define(
      'sip_bridge_wake_missed_total',
      'counter',
      'Push phones that did not re-register before their upstream binding expired',
    );
  }

  private readonly collectors: Array<() => void> = [];

  /** `collect` runs before each render, to set gauges read from live objects (transaction counts...). */
  addCollector(collect: () => void): void {
    this.collectors.push(collect);
  }

  private define(name: string, type: Series['type'], help: string): void {
    this.series.set(name, { help, type, values: new Map() });
  }

  inc(name: string, labels: Labels = {}, by = 1): void {
    const series = this.series.get(name);
    if (!series) throw new Error(`unknown metric ${name}`);
    const key = labelKey(labels);
    series.values.set(key, (series.values.get(key) ?? 0) + by);
  }

  set(name: string, value: number, labels: Labels = {}): void {
    const series = this.series.get(name);
    if (!series) throw new Error(`unknown metric ${name}`);
    series.values.set(labelKey(labels), value);
  }

  get(name: string, labels: Labels = {}): number {
    return this.series.get(name)?.values.get(labelKey(labels)) ?? 0;
  }

  render(): string {
    for (const collect of this.collectors) collect();
    const lines: string[] = [];
    for (const [name, s] of this.series) {
      lines.push(`# HELP ${name} ${s.help}`, `# TYPE ${name} ${s.type}`);
      if (s.values.size === 0) lines.push(`${name} 0`);
      for (const [key, value] of s.values) lines.push(`${name}${key} ${value}`);
    }
    return `${lines.join('\n')}\n`;
  }
}

function labelKey(labels: Labels): string {
  const entries = Object.entries(labels).sort(([a], [b]) => a.localeCompare(b));
  if (entries.length === 0) return '';
  return `{${entries.map(([k, v]) => `${k}="${v.replace(/["\\\n]/g, '_')}"`).join(',')}}`;
}

/** Serves GET /metrics; resolves with the bound port. */
export async function serveMetrics(
  metrics: Metrics,
  host: string,
  port: number,
): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    if (req.method === 'GET' && (req.url === '/metrics' || req.url?.startsWith('/metrics?'))) {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(metrics.render());
    } else if (req.method === 'GET' && req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  return { server, port: typeof address === 'object' && address ? address.port : port };
}
